/**
 * `nxc.disks` on docker, on a copy of the real demo whose client role declares two disks, built
 * by real Nix and run on the real engine with real loop devices: without `losetup` the start is
 * refused with one line before anything exists; with it, each of two clients sees two block
 * devices of the declared sizes at /dev/disk/by-id/virtio-<id>, its own (what one node writes
 * the other does not read), on which it makes a file system; the backing files are sparse, 0600,
 * in a private 0700 folder; after `nxc stop` no loop device, backing file or folder remains.
 * Disks larger than the free space: one line, exit 3, nothing left. Loop devices a crashed
 * start left are found and detached by `nxc stop` without a deployment document.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DeploymentDocument, build, exec, loadProject, nodeIdentities, start, stop } from '@nxc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_NIX_FLAGS, REPO, demoProject } from '../../../test/fixtures/demo-project.mjs';
import { attachDisks, diskDir } from '../src/disks.js';
import { projectHash } from '../src/labels.js';
import { engineObjects } from './harness.js';

const MiB = 1024 * 1024;
const CLIENTS = ['client1', 'client2'];

/** Loop devices of this host whose backing file is in `dir`. */
function loopsIn(dir: string): string[] {
  const out = JSON.parse(
    execFileSync('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' }) ||
      '{"loopdevices":[]}',
  ) as { loopdevices: Array<{ name: string; 'back-file': string | null }> };
  return out.loopdevices.filter((l) => (l['back-file'] ?? '').startsWith(`${dir}/`)).map((l) => l.name);
}

describe('docker: nxc.disks', () => {
  const demo = demoProject('nxc-docker-disks-');
  const scope = { projectRoot: demo.dir, composition: 'composition', flavour: 'docker' };
  let dir: string;
  let doc: DeploymentDocument;
  beforeAll(async () => {
    process.env.NXC_NIX_FLAGS = OFFLINE_NIX_FLAGS;
    const file = join(demo.dir, 'composition.nix');
    const text = readFileSync(file, 'utf8').replace(
      'client = { pkgs, ... }: {\n      environment.systemPackages = [ pkgs.busybox ];',
      'client = { pkgs, ... }: {\n      nxc.disks = [ { size = "64M"; id = "data"; } { size = "40M"; } ];\n      environment.systemPackages = [ pkgs.busybox ];',
    );
    expect(text).toContain('nxc.disks');
    writeFileSync(file, text);
    demo.commit('the clients declare two disks');
    const project = await loadProject(demo.dir);
    dir = diskDir({ ...scope, projectRoot: project.root });
    await build(project, { flavour: 'docker' });
  }, 600_000);
  afterAll(async () => {
    await stop(await loadProject(demo.dir), { flavour: 'docker' }).catch(() => {});
    demo.cleanup();
  });

  it('without losetup: one error line naming it, exit 3, nothing created', async () => {
    const r = spawnSync(
      process.execPath,
      [join(REPO, 'apps/cli/dist/cli.js'), 'start', '-f', 'docker', '-r', 'client=2'],
      {
        cwd: demo.dir,
        env: { ...process.env, NO_COLOR: '1', PATH: join(demo.dir, 'no-such-folder') },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(r.status, r.stderr).toBe(3);
    // (a progress line comes first: the flavour checks the host when the start reaches it)
    expect(r.stderr.split('\n').filter((l) => /^(error|hint):/.test(l))).toEqual([
      'error: role client declares nxc.disks, which the docker flavour gives nodes as loop devices of this host, but losetup is not on the PATH',
      expect.stringMatching(/^hint: install util-linux's losetup .*apt-get install mount/),
    ]);
    expect(existsSync(join(demo.dir, 'deploy/composition::docker.json'))).toBe(false);
    const project = await loadProject(demo.dir);
    expect(await engineObjects(projectHash(project.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
    expect(existsSync(dir)).toBe(false);
  }, 180_000);

  it('starts: per node and disk a sparse 0600 file in a private folder, on a loop device', async () => {
    const project = await loadProject(demo.dir);
    const summary = await start(project, { flavour: 'docker', roleFlags: ['client=2'], timeoutMs: 180_000 });
    doc = summary.deployment;
    for (const host of CLIENTS) {
      expect(nodeIdentities(doc).find((n) => n.host === host)?.disks).toEqual([
        { id: 'data', size: '64M', bytes: 64 * MiB, device: '/dev/disk/by-id/virtio-data' },
        { id: 'disk1', size: '40M', bytes: 40 * MiB, device: '/dev/disk/by-id/virtio-disk1' },
      ]);
    }
    expect(nodeIdentities(doc).find((n) => n.host === 'server')?.disks).toEqual([]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.raw'))
      .sort();
    expect(files).toEqual([
      'client1.disk-data.raw',
      'client1.disk-disk1.raw',
      'client2.disk-data.raw',
      'client2.disk-disk1.raw',
    ]);
    for (const f of files) {
      const st = statSync(join(dir, f));
      expect(st.mode & 0o777).toBe(0o600);
      expect(st.size).toBe(f.includes('data') ? 64 * MiB : 40 * MiB);
      expect(st.blocks * 512).toBeLessThan(MiB); // sparse
    }
    expect(loopsIn(dir)).toHaveLength(4);
  }, 600_000);

  it('every client sees its two disks of the declared sizes, writes and reads back, makes a file system', async () => {
    const project = await loadProject(demo.dir);
    const write = [
      'set -e',
      'ls /dev/disk/by-id/ /dev/disk/by-nxc/',
      'for id in data disk1; do d=/dev/disk/by-id/virtio-$id; [ -b $d ]; echo "$id $(blockdev --getsize64 $d)";',
      '  printf "%s" "$(hostname) wrote $id" | dd of=$d bs=512 seek=1000 conv=notrunc 2>/dev/null; done',
    ].join('\n');
    const read = [
      'set -e',
      // the name every flavour gives (the boot script's link to the device the engine made)
      'for id in data disk1; do d=/dev/disk/by-nxc/$id;',
      '  dd if=$d bs=512 skip=1000 count=1 2>/dev/null | tr -d "\\000"; echo;',
      '  mke2fs -q -L nxc-$id $d >/dev/null; blkid $d | grep -o \'LABEL="[^"]*"\\|TYPE="[^"]*"\' | tr "\\n" " "; echo; done',
    ].join('\n');
    const written = await exec(project, CLIENTS, write, { flavour: 'docker' });
    for (const r of written) {
      expect(r, r.stderr).toMatchObject({ exitCode: 0 });
      expect(r.stdout.trim().split('\n')).toEqual([
        '/dev/disk/by-id/:',
        'virtio-data',
        'virtio-disk1',
        '',
        '/dev/disk/by-nxc/:',
        'data',
        'disk1',
        `data ${64 * MiB}`,
        `disk1 ${40 * MiB}`,
      ]);
    }
    const readBack = await exec(project, CLIENTS, read, { flavour: 'docker' });
    for (const [i, r] of readBack.entries()) {
      expect(r, r.stderr).toMatchObject({ exitCode: 0 });
      expect(r.stdout.split('\n').map((l) => l.trim())).toEqual([
        `${CLIENTS[i]} wrote data`,
        'LABEL="nxc-data" TYPE="ext2"',
        `${CLIENTS[i]} wrote disk1`,
        'LABEL="nxc-disk1" TYPE="ext2"',
        '',
      ]);
    }
    const [server] = await exec(project, ['server'], 'ls /dev/disk/by-id/ 2>/dev/null | wc -l', {
      flavour: 'docker',
    });
    expect(server).toMatchObject({ exitCode: 0, stdout: '0\n' });
  }, 180_000);

  it('stop detaches the loop devices and removes the files and their folder', async () => {
    const project = await loadProject(demo.dir);
    await stop(project, { flavour: 'docker' });
    expect(loopsIn(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(await engineObjects(projectHash(project.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  }, 120_000);

  it('stop without a deployment detaches the loop devices a crashed start left (leftovers)', async () => {
    const project = await loadProject(demo.dir);
    // what a start killed after attaching the disks leaves: loop devices, files, no document
    const attached = await attachDisks(
      { ...scope, projectRoot: project.root },
      [{ host: 'client1', id: 'data', size: '1M', bytes: MiB }],
      () => {},
    );
    expect(loopsIn(dir)).toEqual([attached[0]!.loop]);
    const summary = await stop(project, { flavour: 'docker' });
    expect(summary.recovered).toEqual([
      {
        composition: 'composition',
        flavour: 'docker',
        removed: [`loop device ${attached[0]!.loop}`, `disk folder ${dir}`],
      },
    ]);
    expect(loopsIn(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 120_000);

  it('disks larger than the free space of the folder: one line, exit 3, nothing left', async () => {
    const file = join(demo.dir, 'composition.nix');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('size = "64M"; id = "data";', 'size = "1000T"; id = "data";'),
    );
    demo.commit('a disk larger than any free space here');
    const project = await loadProject(demo.dir);
    await build(project, { flavour: 'docker' });
    const error = await start(project, { flavour: 'docker', roleFlags: ['client=2'] }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      exitCode: 3,
      message: expect.stringMatching(
        /^nxc\.disks: the 4 disks of this deployment need 2000\.0 TiB but the file system of \S+ has [\d.]+ \w+ free$/,
      ),
    });
    expect(existsSync(join(demo.dir, 'deploy/composition::docker.json'))).toBe(false);
    expect(loopsIn(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(await engineObjects(projectHash(project.root))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  }, 600_000);
});
