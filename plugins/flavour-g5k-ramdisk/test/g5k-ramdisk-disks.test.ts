/**
 * nxc.disks on g5k-ramdisk, end to end on the Grid'5000 stand-in (test/g5k-sim): the VMs have
 * spare SATA disks (node-1: 2, node-2: 1) declared to real OAR 2.5 as resources of type `disk`
 * with their `diskpath`, as Grid'5000 declares reservable disks. A job reserves the machines with
 * their disks; `nxc start` (the real CLI, on the frontend, inside the job's environment) maps the
 * client role's 2 declared disks onto its machine's reserved disks, checks them on the machine,
 * and the kexec'd node sees them as /dev/disk/by-nxc/<id>. A machine with too few reserved disks
 * is refused before anything is deployed.
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

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nxc-g5k-disks-e2e-'));
  // the client role declares two disks; both machines reserved with all their disks
  ({ sim, project, jobEnv } = await diskStandIn(work, 'g5k-ramdisk', { jobName: 'nxc-disks' }));
}, 1_200_000);

afterAll(async () => {
  await sim?.down();
  if (work) await rm(work, { recursive: true, force: true });
}, 300_000);

/** The real `nxc` CLI in the project, on the frontend, with the job's environment. */
function nxc(args: string[]): ReturnType<G5kSim['inNs']> {
  return frontendNxc(sim, project.dir, args, jobEnv);
}

async function machineFile(name: string, machines: string[]): Promise<string> {
  const file = join(work, name);
  await writeFile(file, `${machines.join('\n')}\n`);
  return file;
}

describe("nxc.disks on g5k-ramdisk (Grid'5000 stand-in: OAR disk resources, spare SATA disks)", () => {
  it('a machine with too few reserved disks is refused before anything is deployed', async () => {
    // nodes in the composition's role order (client, server): client (2 disks) -> node-2, which has 1
    const machines = await machineFile('machines-short', ['node-2', 'node-1']);
    const r = await nxc(['start', '-f', 'g5k-ramdisk', '-r', 'client=1', '-m', machines]);
    await expectRefusedForTooFewDisks(sim, project, 'g5k-ramdisk', r);
  });

  it('the 2 declared disks of a role are 2 block devices of its machine, of at least the declared sizes, by id', async () => {
    // client (2 disks) -> node-1, which has 2 (1 GiB each); server -> node-2
    const machines = await machineFile('machines', ['node-1', 'node-2']);
    const r = await nxc(['start', '-f', 'g5k-ramdisk', '-r', 'client=1', '-m', machines, '--json']);
    if (r.code !== 0) {
      throw new Error(
        `nxc start failed (${r.code}): ${r.stderr.slice(-2000)}\nnode-1 console:\n${await consoleTail(sim.env, 1)}`,
      );
    }
    // the deployment document gives the client its disks by their by-nxc names
    const doc = JSON.parse(
      await readFile(join(project.dir, 'deploy/composition::g5k-ramdisk.json'), 'utf8'),
    ) as { deployment: Record<string, { host: string; disks?: Array<{ id: string; device: string }> }> };
    const client = Object.values(doc.deployment).find((e) => e.host === 'client');
    expect(client?.disks?.map((d) => `${d.id}:${d.device}`)).toEqual([
      'data:/dev/disk/by-nxc/data',
      'disk1:/dev/disk/by-nxc/disk1',
    ]);
    // in the node: two distinct block devices of 1 GiB, neither holding a mounted file system
    const exec = await nxc([
      'exec',
      'client',
      '--json',
      '--',
      'sh',
      '-c',
      `${nodeDisksProbe(['data', 'disk1'])}; grep -c "^/dev/sd" /proc/mounts || true`,
    ]);
    expect(exec.code, exec.stderr + exec.stdout).toBe(0);
    const out = execStdout(exec.stdout);
    const lines = out.trim().split('\n');
    const disks = lines.slice(0, 2).map((l) => l.split(' '));
    expect(disks.map((d) => d[0])).toEqual(['data', 'disk1']);
    expect(disks[0]?.[1]).not.toBe(disks[1]?.[1]);
    for (const d of disks) expect(Number(d[2])).toBe(GiB);
    expect(lines[2]).toBe('0');
    // writable, and what is written is read back (the whole device is the node's)
    const rw = await nxc([
      'exec',
      'client',
      '--json',
      '--',
      'sh',
      '-c',
      nodeDisksWriteRead(['data', 'disk1']),
    ]);
    expect(rw.code, rw.stderr).toBe(0);
    expect(execStdout(rw.stdout).split('\n').slice(0, 2)).toEqual(['nxc-data-ok', 'nxc-disk1-ok']);
    // on the machine: node-1's first spare disk (SATA port 1) holds what the node wrote
    expect(await spareDiskStart(sim, 1, 1, 11)).toBe('nxc-data-ok');
    const stop = await nxc(['stop']);
    expect(stop.code, stop.stderr).toBe(0);
  });
});
