/**
 * Network conditions on Grid'5000 nodes, end to end on the stand-in (test/g5k-sim): the demo
 * built by real Nix for g5k-ramdisk runs on two machines (QEMU/TCG, the test OS kernel has
 * sch_netem); the real `nxc` CLI on the frontend (inside the namespace) partitions the two
 * nodes, heals them and delays them, over the flavour's SSH transport, and the nodes' own
 * `ping` and `nxc net check` see each change.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DemoProject,
  buildFor,
  demoProject,
  frontendNxc,
  setFlavourOptions,
  standardEnvironmentAccess,
} from '../../../packages/g5k/test/stand-in-setup.js';
import { type G5kSim, consoleTail, startG5kSim } from '../../../test/g5k-sim/harness.js';

let sim: G5kSim;
let work: string;
let project: DemoProject;
let nodeFile: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nxc-g5k-net-e2e-'));
  project = await demoProject(work);
  await buildFor(project, 'g5k-ramdisk');
  sim = await startG5kSim({ nodes: 2 });
  await setFlavourOptions(project, 'g5k-ramdisk', await standardEnvironmentAccess(sim, 2, work));
  // the machines, as OAR's node file lists them inside a job
  nodeFile = join(work, 'nodefile');
  await writeFile(nodeFile, 'node-1\nnode-2\n');
}, 900_000);

afterAll(async () => {
  await sim?.down();
  if (work) await rm(work, { recursive: true, force: true });
}, 300_000);

/** The real `nxc` CLI, run in the demo project on the frontend (inside the namespace, in the job). */
function nxc(args: string[]): ReturnType<G5kSim['inNs']> {
  return frontendNxc(sim, project.dir, args, { OAR_NODEFILE: nodeFile });
}

/** Runs `command` on `host` with `nxc exec`; returns its exit code and output. */
async function on(host: string, command: string): Promise<{ exitCode: number; stdout: string }> {
  const r = await nxc([
    'exec',
    host,
    '--json',
    '--',
    'sh',
    '-c',
    `PATH=/run/current-system/sw/bin:$PATH; ${command}`,
  ]);
  const parsed = JSON.parse(r.stdout || '{"results":[]}') as {
    results: Array<{ host: string; exitCode: number; stdout: string; stderr: string }>;
  };
  const result = parsed.results.find((x) => x.host === host);
  if (!result) throw new Error(`nxc exec ${host} gave no result (${r.code}): ${r.stderr}`);
  return { exitCode: result.exitCode, stdout: result.stdout + result.stderr };
}

type CheckReport = {
  ok: boolean;
  pairs: Array<{
    asked: { partition?: boolean; delayMs?: number };
    ok: boolean;
    problems: string[];
    measured: Array<{ from: string; to: string; reachable: boolean; oneWayMs?: number }>;
  }>;
};

describe("network conditions on g5k-ramdisk nodes (Grid'5000 stand-in)", () => {
  it('nxc net partition / heal / delay between two nodes, observed with ping and measured by nxc net check', async () => {
    const started = await nxc([
      'start',
      '-f',
      'g5k-ramdisk',
      '-r',
      'client=1',
      '-W',
      '-m',
      nodeFile,
      '--json',
    ]);
    if (started.code !== 0) {
      throw new Error(
        `nxc start failed (${started.code}): ${started.stderr.slice(-2000)}\nnode-1 console:\n${await consoleTail(sim.env, 1)}`,
      );
    }
    const nodes = (JSON.parse(started.stdout) as { nodes: Array<{ host: string; address: string }> }).nodes;
    expect(nodes.map((n) => n.host).sort()).toEqual(['client', 'server']);
    const addr = Object.fromEntries(nodes.map((n) => [n.host, n.address]));
    const ping = (from: string, to: string) => on(from, `ping -c 2 -W 2 ${addr[to]}`);

    // before: both ways answer
    expect((await ping('client', 'server')).exitCode).toBe(0);
    expect((await ping('server', 'client')).exitCode).toBe(0);

    // partition: neither way answers, on the nodes themselves; the check agrees
    const part = await nxc(['net', 'partition', 'client', '--', '@server']);
    expect(part.code, part.stderr).toBe(0);
    const cut = await ping('client', 'server');
    expect(cut.exitCode).not.toBe(0);
    expect((await ping('server', 'client')).exitCode).not.toBe(0);
    // what the node has in force: the prohibit route nxc tagged
    expect((await on('client', 'ip route show proto 208')).stdout).toContain(`prohibit ${addr.server}`);
    const shown = await nxc(['net', '--json']);
    expect(JSON.parse(shown.stdout).conditions).toMatchObject([
      { kind: 'partition', a: { host: 'client' }, b: { host: 'server' } },
    ]);
    const checkCut = await nxc(['net', 'check', '--count', '3', '--json']);
    expect(checkCut.code, checkCut.stderr + checkCut.stdout).toBe(0);
    const cutReport = JSON.parse(checkCut.stdout) as CheckReport;
    expect(cutReport.pairs).toHaveLength(1);
    expect(cutReport.pairs[0]?.measured.map((m) => m.reachable)).toEqual([false, false]);

    // a node that lost its conditions (what a reboot does to its kernel): check and status
    // say so, `nxc net restore` puts them back on that node only
    expect((await on('client', 'ip route flush proto 208')).exitCode).toBe(0);
    const lost = await nxc(['net', 'check', '--count', '3', '--json']);
    expect(lost.code, lost.stderr).toBe(1);
    expect((JSON.parse(lost.stdout) as { notInForce: unknown }).notInForce).toEqual([
      {
        host: 'client',
        problems: [`partition from server (${addr.server}) not in force (no prohibit route)`],
      },
    ]);
    const status = await nxc(['status']);
    expect(status.stdout).toContain(
      `network NOT IN FORCE on client: partition from server (${addr.server}) not in force`,
    );
    const restore = await nxc(['net', 'restore']);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).toContain('put back the conditions of client\n');
    expect((await on('client', 'ip route show proto 208')).stdout).toContain(`prohibit ${addr.server}`);
    const back = await nxc(['net', 'check', '--count', '3', '--json']);
    expect(back.code, back.stdout).toBe(0);
    expect((JSON.parse(back.stdout) as { notInForce: unknown }).notInForce).toEqual([]);

    // heal: both ways answer again, and nothing of nxc's is left on the nodes
    const heal = await nxc(['net', 'heal']);
    expect(heal.code, heal.stderr).toBe(0);
    expect((await ping('client', 'server')).exitCode).toBe(0);
    expect((await ping('server', 'client')).exitCode).toBe(0);
    expect((await on('client', 'ip route show proto 208')).stdout).toBe('');

    // delay 200 ms each way: the check measures it within 20 % (the TCG nodes' own round trip
    // adds 10 to 20 ms one way on a loaded machine: 50 ms, even 100 ms, sit at the edge of the
    // tolerance; on Grid'5000 the nodes' own round trip is well under 1 ms)
    const delay = await nxc(['net', 'delay', 'client', 'server', '200ms']);
    expect(delay.code, delay.stderr).toBe(0);
    const check = await nxc(['net', 'check', '--json']);
    const report = JSON.parse(check.stdout) as CheckReport;
    console.log(
      `g5k-ramdisk delay 200ms: ${report.pairs[0]?.measured.map((m) => `${m.from}->${m.to} ${m.oneWayMs} ms`).join(', ')}`,
    );
    expect(check.code, check.stdout).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.pairs[0]?.asked).toMatchObject({ delayMs: 200 });
    expect(report.pairs[0]?.measured).toHaveLength(2);
    for (const m of report.pairs[0]?.measured ?? []) {
      expect(m.oneWayMs).toBeGreaterThanOrEqual(160);
      expect(m.oneWayMs).toBeLessThanOrEqual(240);
    }
    // the shaping lives on the node: htb root 208: with a netem child
    const qdiscs = (await on('client', 'tc qdisc show')).stdout;
    expect(qdiscs).toMatch(/qdisc htb 208: dev \S+ root/);
    expect(qdiscs).toMatch(/qdisc netem \S+ dev \S+ parent 208:\S+ .*delay 200ms/);

    const healAll = await nxc(['net', 'heal']);
    expect(healAll.code, healAll.stderr).toBe(0);
    expect((await on('client', 'tc qdisc show')).stdout).not.toMatch(/208:/);
    const stop = await nxc(['stop']);
    expect(stop.code, stop.stderr).toBe(0);
  });
});
