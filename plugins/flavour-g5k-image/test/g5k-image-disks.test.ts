/**
 * nxc.disks on g5k-image, end to end on the Grid'5000 stand-in (test/g5k-sim): the VMs have
 * spare SATA disks (node-1: 2, node-2: 1) declared to real OAR 2.5 as resources of type `disk`;
 * a job of type deploy reserves the machines with their disks. `nxc start -f g5k-image` (the
 * real CLI on the frontend, inside the job's environment) maps the client role's 2 declared
 * disks onto its machine's reserved disks (count from OAR, then size / whole disk / not mounted
 * over SSH in the standard environment), names each node's disks in its entry of the
 * deployment document (`disks[].path`: Kadeploy boots every node with one command line), and
 * Kadeploy (the stand-in `kadeploy3`, which writes the system disk only and reboots the
 * machine with its spare disks) deploys the image; the node's boot script links
 * /dev/disk/by-nxc/<id>. A machine with too few reserved disks is refused before Kadeploy runs.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
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
import { type G5kSim, consoleTail, repo } from '../../../test/g5k-sim/harness.js';

const GiB = 1024 ** 3;
let sim: G5kSim;
let work: string;
let project: DemoProject;
/** What `nxc start` has on the frontend: the job's variables, kadeploy3 (stand-in) on PATH. */
let env: Record<string, string>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nxc-g5k-image-disks-e2e-'));
  const standIn = await diskStandIn(work, 'g5k-image', { jobName: 'nxc-image-disks' });
  ({ sim, project } = standIn);
  // the stand-in kadeploy3 only: oarstat is the real OAR client (the job is a real deploy job)
  const kadeploy = join(work, 'kadeploy');
  await mkdir(kadeploy);
  // (a link: the script finds kadeploy3.mjs, and that its packages, where the link points)
  await symlink(
    join(repo, 'plugins/flavour-g5k-image/test/fixtures/kadeploy3/kadeploy3'),
    join(kadeploy, 'kadeploy3'),
  );
  env = {
    ...standIn.jobEnv,
    PATH: `${kadeploy}:${process.env.PATH}`,
    G5KSIM_STATE: sim.env.G5KSIM_STATE ?? '',
    G5KSIM_NET: sim.env.G5KSIM_NET ?? '',
    // the deployed system's memory (as kadeploy.test.ts gives it)
    G5KSIM_MEM: '384',
  };
}, 1_200_000);

afterAll(async () => {
  await sim?.down();
  if (work) await rm(work, { recursive: true, force: true });
}, 300_000);

async function machineFile(name: string, machines: string[]): Promise<string> {
  const file = join(work, name);
  await writeFile(file, `${machines.join('\n')}\n`);
  return file;
}

const artifact = (): string => join(project.dir, 'artifact/composition/g5k-image');

describe("nxc.disks on g5k-image (Grid'5000 stand-in: OAR disk resources, spare SATA disks, Kadeploy)", () => {
  it('a machine with too few reserved disks is refused before Kadeploy runs', async () => {
    // nodes in the composition's role order (client, server): client (2 disks) -> node-2, which has 1
    const machines = await machineFile('machines-short', ['node-2', 'node-1']);
    const r = await frontendNxc(
      sim,
      project.dir,
      ['start', '-f', 'g5k-image', '-r', 'client=1', '-m', machines],
      env,
    );
    await expectRefusedForTooFewDisks(sim, project, 'g5k-image', r);
    expect(r.stderr).not.toMatch(/kadeploy3/);
    expect(existsSync(join(artifact(), 'composition.env.yaml'))).toBe(false);
  });

  it('the 2 declared disks of a role are 2 spare disks of its machine at /dev/disk/by-nxc/<id>, of the declared sizes, written and read back', async () => {
    // client (2 disks) -> node-1, which has 2 (1 GiB each); server -> node-2
    const machines = await machineFile('machines', ['node-1', 'node-2']);
    const r = await frontendNxc(
      sim,
      project.dir,
      ['start', '-f', 'g5k-image', '-r', 'client=1', '-m', machines, '--json'],
      env,
    );
    if (r.code !== 0) {
      throw new Error(
        `nxc start failed (${r.code}): ${r.stderr.slice(-2500)}\nnode-1 console:\n${await consoleTail(sim.env, 1, 30)}`,
      );
    }
    // checked over SSH in the standard environment before Kadeploy
    expect(r.stderr).toMatch(/checking the reserved disks on node-1 over SSH/);
    expect(r.stderr.indexOf('checking the reserved disks')).toBeLessThan(r.stderr.indexOf('kadeploy3'));
    // the deployment document names each node's disks and where they are on its machine
    const doc = JSON.parse(
      await readFile(join(project.dir, 'deploy/composition::g5k-image.json'), 'utf8'),
    ) as {
      deployment: Record<
        string,
        { host: string; disks?: Array<{ id: string; device: string; path?: string }> }
      >;
    };
    const entries = Object.values(doc.deployment);
    expect(
      entries.find((e) => e.host === 'client')?.disks?.map((d) => `${d.id}:${d.device}:${d.path}`),
    ).toEqual([
      'data:/dev/disk/by-nxc/data:/dev/disk/by-path/pci-0000:00:1f.0-ata-2',
      'disk1:/dev/disk/by-nxc/disk1:/dev/disk/by-path/pci-0000:00:1f.0-ata-3',
    ]);
    expect(entries.find((e) => e.host === 'server')?.disks).toBeUndefined();
    // one command line for both nodes: no per-node nxc_disks= on it
    const envFile = await readFile(join(artifact(), 'composition.env.yaml'), 'utf8');
    expect(envFile).not.toMatch(/nxc_disks=/);

    // in the node: two distinct block devices of 1 GiB, not the disk / is on, nothing mounted
    const exec = await frontendNxc(sim, project.dir, [
      'exec',
      'client',
      '--json',
      '--',
      'sh',
      '-c',
      [
        'grep -q nxc_disks= /proc/cmdline && echo "nxc_disks on the command line"',
        // the device / is mounted from (major:minor, /proc/self/mountinfo's third field)
        'echo "root $(awk \'$5 == "/" { d = $3 } END { print d }\' /proc/self/mountinfo)"',
        nodeDisksProbe(['data', 'disk1']),
        'for id in data disk1; do d=$(readlink -f /dev/disk/by-nxc/$id); grep -c "^$d" /proc/mounts || true; done',
      ].join('\n'),
    ]);
    expect(exec.code, exec.stderr + exec.stdout).toBe(0);
    const lines = execStdout(exec.stdout).trim().split('\n');
    // (the system disk: major 8, sd)
    expect(lines[0]).toMatch(/^root 8:\d+$/);
    const root = lines[0]?.split(' ')[1];
    const disks = lines.slice(1, 3).map((l) => l.split(' '));
    expect(disks.map((d) => d[0])).toEqual(['data', 'disk1']);
    expect(disks[0]?.[1]).not.toBe(disks[1]?.[1]);
    for (const d of disks) {
      expect(d[1]).toMatch(/^sd[a-z]$/);
      expect(d[3]).not.toBe(root);
      expect(Number(d[2])).toBe(GiB);
    }
    expect(lines.slice(3)).toEqual(['0', '0']);
    // the whole device is the node's: written, read back
    const rw = await frontendNxc(sim, project.dir, [
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
    // on the machine, the spare disk Kadeploy left alone holds what the node wrote: it is
    // the reserved disk OAR named (port 1 of node-1's SATA controller = its spare1.img)
    expect(await spareDiskStart(sim, 1, 1, 11)).toBe('nxc-data-ok');
    const stop = await frontendNxc(sim, project.dir, ['stop'], env);
    expect(stop.code, stop.stderr).toBe(0);
  });
});
