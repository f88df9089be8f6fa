/**
 * `nxc.disks` on vm-ramdisk, end to end with the library verbs (build, start, exec, stop) on a
 * copy of the real demo whose server declares two disks, real Nix and QEMU (TCG): the server
 * sees two virtio block devices of the declared sizes under /dev/disk/by-id/virtio-<id>, the
 * client none; the disk files are sparse, 0600, in the run folder, and gone after stop; the
 * deployment document and the record carry each node's disks.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DeploymentDocument,
  build,
  exec,
  listRecords,
  loadProject,
  nodeIdentities,
  readRecord,
  start,
  stop,
} from '@nxc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_NIX_FLAGS, demoProject } from '../../../test/fixtures/demo-project.mjs';
import type { QemuState } from '../src/deployer.js';
import { qemuLeftovers, withServerDisks } from './harness.js';

const MiB = 1024 * 1024;

describe('vm-ramdisk: nxc.disks', () => {
  const demo = demoProject('nxc-qemu-disks-');
  let doc: DeploymentDocument;
  let state: QemuState;
  beforeAll(async () => {
    process.env.NXC_NIX_FLAGS = OFFLINE_NIX_FLAGS;
    const file = join(demo.dir, 'composition.nix');
    const text = withServerDisks(readFileSync(file, 'utf8'));
    expect(text).toContain('nxc.disks');
    writeFileSync(file, text);
    demo.commit('server declares two disks');
  }, 60_000);
  afterAll(async () => {
    await stop(await loadProject(demo.dir), { flavour: 'vm-ramdisk' }).catch(() => {});
    demo.cleanup();
  });

  it('starts with the disks: files sparse, 0600, in the run folder; document lists them', async () => {
    const project = await loadProject(demo.dir);
    await build(project, { flavour: 'vm-ramdisk' });
    const summary = await start(project, {
      flavour: 'vm-ramdisk',
      roleFlags: ['client=1'],
      options: { accel: 'tcg', memory: 256 },
      timeoutMs: 240_000,
    });
    doc = summary.deployment;
    const server = nodeIdentities(doc).find((n) => n.role === 'server')!;
    expect(server.disks).toEqual([
      { id: 'data', size: '64M', bytes: 64 * MiB, device: '/dev/disk/by-id/virtio-data' },
      { id: 'disk1', size: '40M', bytes: 40 * MiB, device: '/dev/disk/by-id/virtio-disk1' },
    ]);
    expect(nodeIdentities(doc).find((n) => n.role === 'client')!.disks).toEqual([]);
    state = JSON.parse(readFileSync(join(demo.dir, 'deploy/composition::vm-ramdisk.state.json'), 'utf8'));
    for (const [id, bytes] of [
      ['data', 64 * MiB],
      ['disk1', 40 * MiB],
    ] as const) {
      const st = statSync(join(state.runDir, `server.disk-${id}.raw`));
      expect(st.size).toBe(bytes);
      expect(st.mode & 0o777).toBe(0o600);
      expect(st.blocks * 512).toBeLessThan(MiB); // sparse
    }
  }, 600_000);

  it('the server sees two block devices of the declared sizes, named by id; the client none', async () => {
    const project = await loadProject(demo.dir);
    const script =
      'for b in /sys/block/vd*; do [ -e "$b" ] || continue; echo "$(cat $b/serial) $(($(cat $b/size) * 512))"; done; ls /dev/disk/by-id/ 2>/dev/null | grep virtio- | sort';
    const [server] = await exec(project, ['server'], script, { flavour: 'vm-ramdisk' });
    expect(server).toMatchObject({ exitCode: 0 });
    expect(server!.stdout.trim().split('\n')).toEqual([
      `data ${64 * MiB}`,
      `disk1 ${40 * MiB}`,
      'virtio-data',
      'virtio-disk1',
    ]);
    const [size] = await exec(project, ['server'], 'blockdev --getsize64 /dev/disk/by-id/virtio-data', {
      flavour: 'vm-ramdisk',
    });
    expect(size).toMatchObject({ exitCode: 0, stdout: `${64 * MiB}\n` });
    const [client] = await exec(project, ['client'], script, { flavour: 'vm-ramdisk' });
    expect(client).toMatchObject({ exitCode: 0, stdout: '' });
  }, 120_000);

  it('the record lists each node’s disks', async () => {
    const project = await loadProject(demo.dir);
    const [latest] = (await listRecords(project)).records;
    const { record } = await readRecord(project, latest!.id);
    const server = record.nodes.find((n) => n.role === 'server')!;
    expect(server.disks?.map((d) => [d.id, d.bytes])).toEqual([
      ['data', 64 * MiB],
      ['disk1', 40 * MiB],
    ]);
    expect(record.nodes.find((n) => n.role === 'client')!.disks).toBeUndefined();
  });

  it('stop removes the disk files with the run folder; nothing is left', async () => {
    const project = await loadProject(demo.dir);
    await stop(project, { flavour: 'vm-ramdisk' });
    expect(() => statSync(join(state.runDir, 'server.disk-data.raw'))).toThrow();
    expect(qemuLeftovers(demo.dir, 'composition', 'vm-ramdisk')).toEqual([]);
  }, 120_000);

  it('disks larger than the free space of the run folder: one line, exit 3, nothing left', async () => {
    const file = join(demo.dir, 'composition.nix');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('size = "64M"; id = "data";', 'size = "1000T"; id = "data";'),
    );
    demo.commit('a disk larger than any free space here');
    const project = await loadProject(demo.dir);
    await build(project, { flavour: 'vm-ramdisk' });
    const error = await start(project, {
      flavour: 'vm-ramdisk',
      roleFlags: ['client=1'],
      options: { accel: 'tcg', memory: 256 },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      exitCode: 3,
      message: expect.stringMatching(
        /^nxc\.disks: the 2 disks of this deployment need 1000\.0 TiB but the file system of \S+ has [\d.]+ \w+ free$/,
      ),
    });
    expect(existsSync(join(demo.dir, 'deploy/composition::vm-ramdisk.json'))).toBe(false);
    expect(qemuLeftovers(demo.dir, 'composition', 'vm-ramdisk')).toEqual([]);
  }, 300_000);
});
