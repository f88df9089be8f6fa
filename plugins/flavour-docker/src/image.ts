import { createHash } from 'node:crypto';
/**
 * The base image: a small root filesystem built by Nix (`all.docker_image`, a tarball in
 * the store). No registry is involved: the tarball is imported into the engine once and
 * tagged by its store hash, so a rebuild gives a new tag and an unchanged build is reused.
 */
import { access } from 'node:fs/promises';
import { basename } from 'node:path';
import { NxcError } from '@nxc/core';
import type Docker from 'dockerode';

export const IMAGE_REPOSITORY = 'nxc-base';

/** `nxc-base:<store hash>` for `/nix/store/<hash>-name`, else a hash of the path. */
export function imageTag(tarball: string): string {
  const match = /^([0-9a-z]{32})-/.exec(basename(tarball));
  const id = match?.[1] ?? createHash('sha256').update(tarball).digest('hex').slice(0, 32);
  return `${IMAGE_REPOSITORY}:${id}`;
}

/**
 * Makes sure the image of `tarball` is in the engine; returns its reference.
 * Skips the import when the tag already exists.
 */
export async function ensureImage(
  docker: Docker,
  tarball: string,
  options: { source: string; onImport?: () => void },
): Promise<string> {
  const ref = imageTag(tarball);
  try {
    await docker.getImage(ref).inspect();
    return ref;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  try {
    await access(tarball);
  } catch {
    throw new NxcError('NXC_COMPOSE_INFO', `${options.source}: all.docker_image ${tarball} does not exist`, {
      hint: 'rebuild with `nxc build -f docker` (the store path may have been garbage-collected)',
    });
  }
  options.onImport?.();
  const [repo, tag] = ref.split(':') as [string, string];
  try {
    const stream = await docker.importImage(tarball, {
      repo,
      tag,
      changes: ['LABEL nxc.image=base'],
    } as object);
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => {
        const failed = output?.find((o) => o.error);
        if (err || failed) reject(err ?? new Error(failed?.error));
        else resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES') throw error;
    throw new NxcError(
      'NXC_COMPOSE_INFO',
      `${options.source}: the engine cannot import all.docker_image ${tarball} (${String((error as Error).message ?? error).split('\n')[0]})`,
      {
        hint: 'it must be a tarball of a root file system; rebuild with `nxc build -f docker`',
        cause: error,
      },
    );
  }
  return ref;
}
