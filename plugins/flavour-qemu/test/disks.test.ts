/**
 * `nxc.disks` on vm-ramdisk and vm, end to end with the library verbs (build, start, exec,
 * stop) on a copy of the real demo whose server declares two disks, real Nix and QEMU (TCG).
 * vm-ramdisk, two servers and a client: each server sees two virtio block devices of the
 * declared sizes under /dev/disk/by-id/virtio-<id> and /dev/disk/by-nxc/<id>, the client none;
 * on each server both disks go through mkfs, mount, write, umount, mount again and read back
 * (nothing named in the composition: as on NixOS, mount loads ext4 itself); the disk files
 * are sparse, 0600, in the run folder, and gone after stop; the deployment document and the
 * record carry each node's disks. vm (disk-image boot): the server sees its two disks of the
 * declared sizes, and nothing is left after stop.
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
const SERVERS = ['server1', 'server2'];
/** One line per virtio disk (`serial bytes`), then the by-id and by-nxc names, sorted. */
const LIST_DISKS =
  'for b in /sys/block/vd*; do [ -e "$b" ] || continue; echo "$(cat $b/serial) $(($(cat $b/size) * 512))"; done; ls /dev/disk/by-id/ 2>/dev/null | grep virtio- | sort; ls /dev/disk/by-nxc/ 2>/dev/null | sort';
const DISKS_SEEN = [`data ${64 * MiB}`, `disk1 ${40 * MiB}`, 'virtio-data', 'virtio-disk1', 'data', 'disk1'];

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
      roleFlags: ['server=2', 'client=1'],
      options: { accel: 'tcg', memory: 256 },
      timeoutMs: 240_000,
    });
    doc = summary.deployment;
    const servers = nodeIdentities(doc).filter((n) => n.role === 'server');
    expect(servers.map((n) => n.host).sort()).toEqual(SERVERS);
    for (const server of servers)
      expect(server.disks).toEqual([
        { id: 'data', size: '64M', bytes: 64 * MiB, device: '/dev/disk/by-id/virtio-data' },
        { id: 'disk1', size: '40M', bytes: 40 * MiB, device: '/dev/disk/by-id/virtio-disk1' },
      ]);
    expect(nodeIdentities(doc).find((n) => n.role === 'client')!.disks).toEqual([]);
    state = JSON.parse(readFileSync(join(demo.dir, 'deploy/composition::vm-ramdisk.state.json'), 'utf8'));
    for (const host of SERVERS)
      for (const [id, bytes] of [
        ['data', 64 * MiB],
        ['disk1', 40 * MiB],
      ] as const) {
        const st = statSync(join(state.runDir, `${host}.disk-${id}.raw`));
        expect(st.size).toBe(bytes);
        expect(st.mode & 0o777).toBe(0o600);
        expect(st.blocks * 512).toBeLessThan(MiB); // sparse
      }
  }, 900_000);

  it('each server sees two block devices of the declared sizes, named by id; the client none', async () => {
    const project = await loadProject(demo.dir);
    const results = await exec(project, SERVERS, LIST_DISKS, { flavour: 'vm-ramdisk' });
    expect(results.map((r) => r.host).sort()).toEqual(SERVERS);
    for (const r of results) {
      expect(r).toMatchObject({ exitCode: 0 });
      expect(r.stdout.trim().split('\n')).toEqual(DISKS_SEEN);
    }
    const sizes = await exec(
      project,
      SERVERS,
      'for id in data disk1; do blockdev --getsize64 /dev/disk/by-nxc/$id; done',
      {
        flavour: 'vm-ramdisk',
      },
    );
    for (const r of sizes) expect(r).toMatchObject({ exitCode: 0, stdout: `${64 * MiB}\n${40 * MiB}\n` });
    const [client] = await exec(project, ['client'], LIST_DISKS, { flavour: 'vm-ramdisk' });
    expect(client).toMatchObject({ exitCode: 0, stdout: '' });
  }, 120_000);

  it('on each server, each disk: mkfs, mount, write, umount, mount again, read back', async () => {
    const project = await loadProject(demo.dir);
    // what a composition does on NixOS: e2fsprogs' mkfs and util-linux's mount (the kernel
    // loads ext4 when asked for the type blkid found), nothing named in the composition
    const script = [
      'set -e',
      'for id in data disk1; do',
      '  mkfs.ext4 -q /dev/disk/by-nxc/$id',
      '  mkdir -p /mnt/$id',
      '  mount /dev/disk/by-nxc/$id /mnt/$id',
      '  echo "$(hostname) wrote on $id" > /mnt/$id/probe',
      '  umount /mnt/$id',
      '  mount /dev/disk/by-nxc/$id /mnt/$id',
      '  cat /mnt/$id/probe',
      '  df -k /mnt/$id | tail -n 1 | tr -s " " | cut -d" " -f2',
      'done',
    ].join('\n');
    const results = await exec(project, SERVERS, script, { flavour: 'vm-ramdisk' });
    expect(results.map((r) => r.host).sort()).toEqual(SERVERS);
    for (const r of results) {
      expect(r, r.stderr).toMatchObject({ exitCode: 0 });
      const [probe1, size1, probe2, size2] = r.stdout.trim().split('\n');
      expect([probe1, probe2]).toEqual([`${r.host} wrote on data`, `${r.host} wrote on disk1`]);
      // the file systems span the disks (less their metadata)
      expect(Number(size1)).toBeGreaterThan(50 * 1024);
      expect(Number(size1)).toBeLessThanOrEqual(64 * 1024);
      expect(Number(size2)).toBeGreaterThan(30 * 1024);
      expect(Number(size2)).toBeLessThanOrEqual(40 * 1024);
    }
    // what the guest wrote went to the files behind its disks
    for (const host of SERVERS) {
      const st = statSync(join(state.runDir, `${host}.disk-data.raw`));
      expect(st.blocks * 512).toBeGreaterThan(64 * 1024);
    }
  }, 300_000);

  it('the record lists each node’s disks', async () => {
    const project = await loadProject(demo.dir);
    const [latest] = (await listRecords(project)).records;
    const { record } = await readRecord(project, latest!.id);
    const servers = record.nodes.filter((n) => n.role === 'server');
    expect(servers).toHaveLength(2);
    for (const server of servers)
      expect(server.disks?.map((d) => [d.id, d.bytes])).toEqual([
        ['data', 64 * MiB],
        ['disk1', 40 * MiB],
      ]);
    expect(record.nodes.find((n) => n.role === 'client')!.disks).toBeUndefined();
  });

  it('stop removes the disk files with the run folder; nothing is left', async () => {
    const project = await loadProject(demo.dir);
    await stop(project, { flavour: 'vm-ramdisk' });
    expect(() => statSync(join(state.runDir, 'server1.disk-data.raw'))).toThrow();
    expect(existsSync(state.runDir)).toBe(false);
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

describe('vm: nxc.disks', () => {
  const demo = demoProject('nxc-qemu-vm-disks-');
  let runDir: string;
  beforeAll(async () => {
    process.env.NXC_NIX_FLAGS = OFFLINE_NIX_FLAGS;
    const file = join(demo.dir, 'composition.nix');
    writeFileSync(file, withServerDisks(readFileSync(file, 'utf8')));
    demo.commit('server declares two disks');
  }, 60_000);
  afterAll(async () => {
    await stop(await loadProject(demo.dir), { flavour: 'vm' }).catch(() => {});
    demo.cleanup();
  });

  it('the server sees two block devices of the declared sizes, named by id; the client none', async () => {
    const project = await loadProject(demo.dir);
    await build(project, { flavour: 'vm' });
    const summary = await start(project, {
      flavour: 'vm',
      roleFlags: ['client=1'],
      options: { accel: 'tcg', memory: 256 },
      timeoutMs: 240_000,
    });
    expect(
      nodeIdentities(summary.deployment)
        .find((n) => n.role === 'server')!
        .disks.map((d) => d.id),
    ).toEqual(['data', 'disk1']);
    runDir = (
      JSON.parse(readFileSync(join(demo.dir, 'deploy/composition::vm.state.json'), 'utf8')) as QemuState
    ).runDir;
    expect(statSync(join(runDir, 'server.disk-data.raw')).size).toBe(64 * MiB);
    const [server] = await exec(project, ['server'], LIST_DISKS, { flavour: 'vm' });
    expect(server).toMatchObject({ exitCode: 0 });
    expect(server!.stdout.trim().split('\n')).toEqual(DISKS_SEEN);
    const [client] = await exec(project, ['client'], LIST_DISKS, { flavour: 'vm' });
    expect(client).toMatchObject({ exitCode: 0, stdout: '' });
  }, 900_000);

  it('stop removes the disk files with the run folder; nothing is left', async () => {
    const project = await loadProject(demo.dir);
    await stop(project, { flavour: 'vm' });
    expect(existsSync(runDir)).toBe(false);
    expect(qemuLeftovers(demo.dir, 'composition', 'vm')).toEqual([]);
  }, 120_000);
});
