/**
 * g5k-nfs-store end to end on the Grid'5000 stand-in (test/g5k-sim), through the real `nxc`
 * CLI run on the frontend (inside the stand-in's namespace): `nxc start -f g5k-nfs-store -m
 * FILE` kexecs two QEMU nodes from their "standard environment" into the demo's small initrd
 * built by real Nix; each node mounts the frontend's /nix/store read-only over NFS under a
 * writable overlay, then boots its role. No NFS store is configured: the flavour finds it as
 * on Grid'5000, the site's server `nfs` (a name the stand-in resolves) exporting the frontend's
 * store under /export (this machine's kernel has no NFS server: the stand-in runs nfs-ganesha,
 * a user-space NFS server, with rpcbind, inside the namespace).
 *
 * nxc.disks: the demo's client role declares 2 disks; the machines have spare SATA disks
 * (node-1: 2, node-2: 1) declared to real OAR 2.5 as resources of type `disk`, and `nxc start`
 * runs inside a job that reserved them, as on Grid'5000. The client's disks are its machine's
 * reserved disks, at /dev/disk/by-nxc/<id> (the kexec flavours' code path, shared with
 * g5k-ramdisk); a machine with too few is refused before anything is kexec'd.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DemoProject,
  diskStandIn,
  execStdout,
  expectRefusedForTooFewDisks,
  frontendNxc,
  nodeDisksProbe,
  nodeDisksWriteRead,
  spareDiskStart,
} from '../../../packages/g5k/test/stand-in-setup.js';
import { type G5kSim, consoleTail } from '../../../test/g5k-sim/harness.js';

let sim: G5kSim;
let work: string;
let project: DemoProject;
/** The OAR job's environment, as `nxc start` has it inside the job. */
let jobEnv: Record<string, string>;
const GiB = 1024 ** 3;

type NodeResult = { host: string; state: string; address: string; detail?: string };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nxc-g5k-nfs-e2e-'));
  // the client role declares 2 disks; the site's NFS server exports the frontend's store;
  // the standard environment authorizes the harness's root key, and the frontend's
  // ssh_known_hosts lists the machines (as a user sets flavourOptions); NO nfsStore
  ({ sim, project, jobEnv } = await diskStandIn(work, 'g5k-nfs-store', {
    jobName: 'nxc-nfs-disks',
    prepare: async (s) => {
      const nfs = await s.sim('nfs-up', '/nix/store');
      if (nfs.code !== 0) throw new Error(`nfs-up failed: ${nfs.stderr}`);
    },
  }));
  // client (2 disks) -> node-1 (2 reserved disks), server -> node-2
  await writeFile(join(work, 'machines'), 'node-1\nnode-2\n');
}, 1_200_000);

afterAll(async () => {
  await sim?.down();
  if (work) await rm(work, { recursive: true, force: true });
}, 300_000);

/** The real `nxc` CLI, run in the demo project on the frontend (inside the namespace, in the job). */
function nxc(args: string[]): ReturnType<G5kSim['inNs']> {
  return frontendNxc(sim, project.dir, args, jobEnv);
}

describe("g5k-nfs-store on the Grid'5000 stand-in", () => {
  it("nxc.disks: a machine with too few reserved disks is refused before anything is kexec'd", async () => {
    // client (2 disks) -> node-2, which has 1
    await writeFile(join(work, 'machines-short'), 'node-2\nnode-1\n');
    const r = await nxc(['start', '-f', 'g5k-nfs-store', '-m', join(work, 'machines-short')]);
    await expectRefusedForTooFewDisks(sim, project, 'g5k-nfs-store', r);
  });

  it("nxc start with no NFS store configured: nodes mount nfs:/export/nix/store, boot their roles and reach each other; the client's 2 declared disks are its machine's reserved disks at /dev/disk/by-nxc/<id>; stop", async () => {
    const gw = `${sim.env.G5KSIM_NET}.1`;
    const started = await nxc(['start', '-f', 'g5k-nfs-store', '-W', '-m', join(work, 'machines'), '--json']);
    if (started.code !== 0)
      throw new Error(
        `nxc start failed (${started.code}): ${started.stderr.slice(-2000)}\nnode-1:\n${await consoleTail(sim.env, 1)}`,
      );
    const nodes = (JSON.parse(started.stdout) as { nodes: NodeResult[] }).nodes;
    expect(nodes.map((n) => n.state)).toEqual(['running', 'running']);
    expect(nodes.map((n) => n.host)).toContain('server');

    const exec = await nxc([
      'exec',
      'all',
      '--json',
      '--',
      'sh',
      '-c',
      'hostname; grep -c " /nix/.ro-store nfs" /proc/mounts; wget -qO- http://server/; cat /proc/cmdline',
    ]);
    expect(exec.code, exec.stderr + exec.stdout).toBe(0);
    const results = (
      JSON.parse(exec.stdout) as { results: Array<{ host: string; exitCode: number; stdout: string }> }
    ).results;
    expect(results.map((r) => r.exitCode)).toEqual([0, 0]);
    expect(results.map((r) => r.host).sort()).toEqual(nodes.map((n) => n.host).sort());
    for (const r of results) {
      const [host, mounts, page, cmdline] = r.stdout.split('\n');
      expect([host, mounts, page]).toEqual([r.host, '1', 'hello from the nxc demo server']);
      // the default discovery: the site's `nfs` server, resolved on the frontend, exporting
      // the frontend's store under /export
      expect(cmdline).toContain(`nfs_store=${gw}:/export/nix/store`);
    }

    // nxc.disks: the client's 2 declared disks are node-1's 2 reserved spare disks, by id,
    // 1 GiB each, distinct, written and read back; the deployment document names them
    const doc = JSON.parse(
      await readFile(join(project.dir, 'deploy/composition::g5k-nfs-store.json'), 'utf8'),
    ) as {
      deployment: Record<string, { host: string; disks?: Array<{ id: string; device: string }> }>;
    };
    expect(
      Object.values(doc.deployment)
        .find((e) => e.host === 'client')
        ?.disks?.map((d) => `${d.id}:${d.device}`),
    ).toEqual(['data:/dev/disk/by-nxc/data', 'disk1:/dev/disk/by-nxc/disk1']);
    const disks = await nxc([
      'exec',
      'client',
      '--json',
      '--',
      'sh',
      '-c',
      `${nodeDisksProbe(['data', 'disk1'])}; ${nodeDisksWriteRead(['data', 'disk1'])}; cat /proc/cmdline`,
    ]);
    expect(disks.code, disks.stderr + disks.stdout).toBe(0);
    const lines = execStdout(disks.stdout).trim().split('\n');
    const found = lines.slice(0, 2).map((l) => l.split(' '));
    expect(found.map((d) => d[0])).toEqual(['data', 'disk1']);
    expect(found[0]?.[1]).not.toBe(found[1]?.[1]);
    for (const d of found) expect(Number(d[2])).toBe(GiB);
    expect(lines.slice(2, 4)).toEqual(['nxc-data-ok', 'nxc-disk1-ok']);
    // the kexec flavours name the node's disks on its own kernel command line
    expect(lines[4]).toContain(
      'nxc_disks=data=by-path/pci-0000:00:1f.0-ata-2,disk1=by-path/pci-0000:00:1f.0-ata-3',
    );

    // on the machine: node-1's first spare disk (SATA port 1) holds what the node wrote
    expect(await spareDiskStart(sim, 1, 1, 11)).toBe('nxc-data-ok');

    const stop = await nxc(['stop']);
    expect(stop.code, stop.stderr).toBe(0);
  });
});
