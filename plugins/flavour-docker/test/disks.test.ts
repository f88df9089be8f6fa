/**
 * `nxc.disks` is not supported by docker yet: the real demo whose server declares disks,
 * built by real Nix, started with the real `nxc` binary, is refused before anything is
 * created (one `error:` line, exit 3, no engine object, no deployment document).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, loadProject } from '@nxc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_NIX_FLAGS, REPO, demoProject } from '../../../test/fixtures/demo-project.mjs';
import { projectHash } from '../src/labels.js';
import { engineObjects } from './harness.js';

describe('docker: nxc.disks', () => {
  const demo = demoProject('nxc-docker-disks-');
  beforeAll(async () => {
    process.env.NXC_NIX_FLAGS = OFFLINE_NIX_FLAGS;
    const file = join(demo.dir, 'composition.nix');
    const text = readFileSync(file, 'utf8').replace(
      'environment.systemPackages = [ pkgs.busybox ];\n        systemd.services.httpd',
      'nxc.disks = [ { size = "1G"; id = "data"; } ];\n        environment.systemPackages = [ pkgs.busybox ];\n        systemd.services.httpd',
    );
    expect(text).toContain('nxc.disks');
    writeFileSync(file, text);
    demo.commit('server declares a disk');
    await build(await loadProject(demo.dir), { flavour: 'docker' });
  }, 600_000);
  afterAll(() => demo.cleanup());

  it('start is refused with one line, exit 3, and nothing is created', async () => {
    const r = spawnSync(process.execPath, [join(REPO, 'apps/cli/dist/cli.js'), 'start', '-f', 'docker'], {
      cwd: demo.dir,
      env: { ...process.env, NO_COLOR: '1' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([
      'error: flavour docker does not support nxc.disks yet (role server declares disks); use flavour vm or vm-ramdisk, or remove nxc.disks',
    ]);
    expect(existsSync(join(demo.dir, 'deploy/composition::docker.json'))).toBe(false);
    const project = await loadProject(demo.dir);
    expect(await engineObjects(projectHash(project.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  }, 180_000);
});
