/**
 * The base image: a small root filesystem built by Nix (`all.docker_image`, a tarball in
 * the store). No registry is involved: the tarball is imported into the engine once and
 * tagged by its store hash, so a rebuild gives a new tag and an unchanged build is reused.
 * The original nxc's base image (`image` of its compose info, made by `dockerTools`) is an
 * image archive for `docker load` rather than a root file system: both are recognised.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { NxcError } from '@nxc/core/flavour';
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
    if (await isImageArchive(tarball)) {
      const loaded = await follow(docker, await docker.loadImage(tarball));
      // "Loaded image: name:tag" or "Loaded image ID: sha256:…"
      const line = loaded.map((o) => o.stream ?? '').find((l) => /Loaded image/.test(l)) ?? '';
      const loadedRef = /Loaded image(?: ID)?: (\S+)/.exec(line)?.[1];
      if (!loadedRef) throw new Error('the engine did not say which image it loaded');
      await docker.getImage(loadedRef).tag({ repo, tag });
    } else {
      const changes = ['LABEL nxc.image=base'];
      await follow(docker, await docker.importImage(tarball, { repo, tag, changes } as object));
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES') throw error;
    throw new NxcError(
      'NXC_COMPOSE_INFO',
      `${options.source}: cannot load all.docker_image ${tarball} into the engine (${String((error as Error).message ?? error).split('\n')[0]})`,
      {
        hint: 'it must be a tarball of a root file system or an image archive; rebuild with `nxc build -f docker`',
        cause: error,
      },
    );
  }
  return ref;
}

type Progress = Array<{ error?: string; stream?: string }>;

function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<Progress> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: Progress) => {
      const failed = output?.find((o) => o.error);
      if (err || failed) reject(err ?? new Error(failed?.error));
      else resolve(output ?? []);
    });
  });
}

/**
 * True when `tarball` (plain or gzip) is an image archive (`docker save`/dockerTools: a
 * top-level `manifest.json` or `repositories`) rather than a root file system.
 */
export async function isImageArchive(tarball: string): Promise<boolean> {
  const handle = await open(tarball, 'r');
  const magic = Buffer.alloc(2);
  await handle.read(magic, 0, 2, 0);
  await handle.close();
  // loaded here, not with the deploy side: only a start that imports an image reads archives
  const { default: tarStream } = await import('tar-stream');
  const extract = tarStream.extract();
  let found = false;
  extract.on('entry', (header, body, next) => {
    const name = header.name.replace(/^\.\//, '');
    if (name === 'manifest.json' || name === 'repositories') {
      found = true;
      extract.destroy();
      return;
    }
    body.on('end', next);
    body.resume();
  });
  const source = createReadStream(tarball);
  try {
    if (magic[0] === 0x1f && magic[1] === 0x8b) await pipeline(source, createGunzip(), extract);
    else await pipeline(source, extract);
  } catch (error) {
    // destroying the extractor once found ends the pipeline early: not an error
    if (!found) throw error;
  }
  return found;
}
