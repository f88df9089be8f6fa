/**
 * Base images on the real engine: a root file system tarball is imported, an image archive
 * (`docker save` format, what the original nxc's dockerTools image is), plain or gzipped, is
 * loaded; both end up tagged `nxc-base:<store hash>` and are reused afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureImage, imageTag, isImageArchive } from '../src/image.js';
import { fakeBuild } from './fake-build.mjs';

const docker = new Docker();
const dir = mkdtempSync(join(tmpdir(), 'nxc-image-'));
let rootfs: string;
const created: string[] = [];

beforeAll(() => {
  rootfs = fakeBuild(join(dir, 'build')).all.docker_image!;
});

afterAll(async () => {
  for (const ref of created)
    await docker
      .getImage(ref)
      .remove({ noprune: false })
      .catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

/** A `docker save` archive of the rootfs image, added to the store (so it has a store hash). */
function savedArchive(gzip: boolean): string {
  const ref = imageTag(rootfs);
  const file = join(dir, `nxc-saved-image${gzip ? '.tar.gz' : '.tar'}`);
  execFileSync('sh', ['-c', `docker save ${ref} ${gzip ? '| gzip -1' : ''} > ${file}`]);
  return execFileSync('nix-store', ['--add', file], { encoding: 'utf8' }).trim();
}

describe('base image', () => {
  it('recognises root file systems and image archives', async () => {
    await ensureImage(docker, rootfs, { source: 'test' });
    expect(await isImageArchive(rootfs)).toBe(false);
    expect(await isImageArchive(savedArchive(false))).toBe(true);
    expect(await isImageArchive(savedArchive(true))).toBe(true);
  });

  it('loads an image archive (plain and gzipped) under its own nxc-base tag, once', async () => {
    for (const gzip of [false, true]) {
      const archive = savedArchive(gzip);
      const ref = imageTag(archive);
      await docker
        .getImage(ref)
        .remove()
        .catch(() => {});
      let imports = 0;
      expect(await ensureImage(docker, archive, { source: 'test', onImport: () => imports++ })).toBe(ref);
      created.push(ref);
      const image = await docker.getImage(ref).inspect();
      expect(image.RepoTags).toContain(ref);
      // it runs: the busybox of the archived root file system answers
      const out = execFileSync('docker', ['run', '--rm', ref, '/bin/busybox', 'echo', 'from-archive'], {
        encoding: 'utf8',
      });
      expect(out).toBe('from-archive\n');
      await ensureImage(docker, archive, { source: 'test', onImport: () => imports++ });
      expect(imports).toBe(1);
    }
  });
});
