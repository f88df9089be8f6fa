import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const loaded = (name: string) => Object.keys(require.cache).some((f) => f.includes(`/node_modules/${name}/`));

describe('the docker deploy side loads what a command uses (issue #17)', () => {
  it('importing it loads neither dockerode (made by the first engine client) nor the tar libraries (the first copy or image import)', async () => {
    // vitest runs each test file in its own process: nothing else loaded them here
    const { deployer } = await import('./deployer.js');
    expect(typeof deployer.status).toBe('function');
    for (const name of ['dockerode', 'docker-modem', 'tar-fs', 'tar-stream'])
      expect([name, loaded(name)]).toEqual([name, false]);
    const { isImageArchive } = await import('./image.js');
    // a root file system tarball (made by tar(1)), not an image archive
    const dir = mkdtempSync(join(tmpdir(), 'nxc-docker-load-'));
    try {
      writeFileSync(join(dir, 'init'), '#!/bin/sh\n');
      execFileSync('tar', ['-cf', join(dir, 'rootfs.tar'), '-C', dir, 'init']);
      expect(await isImageArchive(join(dir, 'rootfs.tar'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(loaded('tar-stream')).toBe(true);
  });
});
