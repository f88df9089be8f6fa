/**
 * guestNetwork against the REAL kernel of this machine: each "node" is a network namespace
 * (`unshare -n`), entered with nsenter by a local transport running the generated script with
 * the host's iproute2. Partitions (prohibit routes), rates (htb classes + u32 filters), heal;
 * netem: this host's kernel has none, which must be one error naming sch_netem and the node,
 * exit 3, with what the call changed undone (all or nothing).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNxcError } from './errors.js';
import { guestNetScript, guestNetwork, guestSetting } from './guest-network.js';
import type { NetworkCondition, Transport } from './transposition.js';

const a = { host: 'a', address: '10.77.0.1' };
const b = { host: 'b', address: '10.77.0.2' };
const c = { host: 'c', address: '10.77.0.3' };

describe('guestSetting / guestNetScript', () => {
  it('gathers per peer what each end sends, and names nothing of other nodes', () => {
    const conditions: NetworkCondition[] = [
      { kind: 'delay', a, b, delayMs: 50, jitterMs: 5 },
      { kind: 'loss', a: b, b: a, percent: 2 },
      { kind: 'partition', a, b: c },
    ];
    expect(guestSetting('a', conditions)).toEqual({
      blocked: ['10.77.0.3'],
      shaped: [{ address: '10.77.0.2', delayMs: 50, jitterMs: 5, lossPercent: 2 }],
    });
    expect(guestSetting('c', conditions)).toEqual({ blocked: ['10.77.0.1'], shaped: [] });
    const script = guestNetScript(guestSetting('b', conditions));
    expect(script).toContain('netem delay 50ms 5ms loss 2%');
    expect(script).toContain('match ip dst 10.77.0.1/32 flowid 208:10');
    expect(script).not.toContain('prohibit 10.77');
  });
});

/** A namespace per host, kept alive by `sleep`, with lo up and the host's address on it. */
const namespaces = new Map<string, ChildProcess>();

function inNs(host: string, script: string): { exitCode: number; stdout: string; stderr: string } {
  const pid = namespaces.get(host)!.pid!;
  try {
    const stdout = execFileSync('nsenter', ['-t', String(pid), '-n', 'sh', '-c', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { exitCode: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { exitCode: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

const local: Transport = {
  async exec(host, command) {
    return inNs(host, typeof command === 'string' ? command : command.join(' '));
  },
  shell: () => Promise.reject(new Error('no shell')),
  copyTo: () => Promise.reject(new Error('no copy')),
  copyFrom: () => Promise.reject(new Error('no copy')),
  close: async () => undefined,
};

beforeAll(async () => {
  for (const n of [a, b, c]) {
    const p = spawn('unshare', ['-n', 'sleep', '120'], { stdio: 'ignore' });
    namespaces.set(n.host, p);
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const n of [a, b, c]) {
    const r = inNs(n.host, `ip link set lo up && ip addr add ${n.address}/16 dev lo`);
    expect(r.exitCode, r.stderr).toBe(0);
  }
});

afterAll(() => {
  for (const p of namespaces.values()) p.kill();
});

const state = (host: string) =>
  inNs(host, 'tc qdisc show dev lo; tc class show dev lo; ip route show proto 208').stdout;

describe('guestNetwork on network namespaces', () => {
  const net = guestNetwork(async () => local, 'node');

  it('partition: prohibit routes on both ends; heal removes exactly them', async () => {
    const p: NetworkCondition = { kind: 'partition', a, b: c };
    await net.apply([p], [p]);
    expect(state('a')).toContain('prohibit 10.77.0.3');
    expect(state('c')).toContain('prohibit 10.77.0.1');
    expect(state('b')).not.toContain('prohibit');
    await net.clear([p], []);
    expect(state('a')).not.toContain('prohibit');
    expect(state('c')).not.toContain('prohibit');
  });

  it('rate: an htb class and a filter per peer, replaced as a whole at each change; heal removes the tree', async () => {
    const r1: NetworkCondition = { kind: 'rate', a, b, kbitPerSecond: 2000 };
    const r2: NetworkCondition = { kind: 'rate', a, b: c, kbitPerSecond: 512 };
    await net.apply([r1], [r1]);
    expect(state('a')).toMatch(/qdisc htb 208: root/);
    expect(state('a')).toMatch(/class htb 208:10 root .*rate 2Mbit/);
    await net.apply([r2], [r1, r2]);
    expect(state('a')).toMatch(/class htb 208:11 root .*rate 512Kbit/);
    await net.clear([r1], [r2]);
    expect(state('a')).toMatch(/class htb 208:10 root .*rate 512Kbit/);
    expect(state('b')).not.toContain('htb');
    await net.clear([r2], []);
    expect(state('a')).not.toContain('htb');
    expect(state('c')).not.toContain('htb');
  });

  it('delay where the kernel has no netem: one error naming sch_netem and the node, exit 3, nothing left', async () => {
    const hasNetem =
      inNs('a', 'tc qdisc add dev lo root netem delay 1ms && tc qdisc del dev lo root').exitCode === 0;
    const p: NetworkCondition = { kind: 'partition', a, b: c };
    await net.apply([p], [p]);
    const d: NetworkCondition = { kind: 'delay', a, b, delayMs: 50 };
    const result = await net.apply([d], [p, d]).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (hasNetem) {
      expect(result).toBeUndefined();
      expect(state('a')).toMatch(/netem .*delay 50ms/);
    } else {
      expect(isNxcError(result)).toBe(true);
      const e = result as Error & { exitCode: number };
      expect(e.message).toMatch(/^the kernel module sch_netem is missing on node a \(tc: .+\)$/);
      expect(e.exitCode).toBe(3);
      // undone: no qdisc of nxc's, and the partition in force before is still there
      expect(state('a')).not.toContain('htb 208:');
      expect(state('a')).toContain('prohibit 10.77.0.3');
    }
    await net.clear([p, ...(hasNetem ? [d] : [])], []);
    expect(state('a')).not.toMatch(/prohibit|htb 208:/);
  });

  it('inspect tells a node that lost its conditions (as after a reboot); restore puts back exactly its part', async () => {
    const p: NetworkCondition = { kind: 'partition', a, b: c };
    const r: NetworkCondition = { kind: 'rate', a, b, kbitPerSecond: 1000 };
    const all = [p, r];
    await net.apply(all, all);
    expect(await net.inspect!(['a', 'b', 'c'], all)).toEqual({ a: [], b: [], c: [] });
    // what a reboot does: the node's kernel forgets nxc's routes and qdiscs
    expect(inNs('a', 'ip route flush proto 208; tc qdisc del dev lo root').exitCode).toBe(0);
    // and something nxc never asked for, with its mark, on c
    expect(inNs('c', 'ip route add prohibit 10.77.0.9/32 proto 208').exitCode).toBe(0);
    expect(await net.inspect!(['a', 'b', 'c'], all)).toEqual({
      a: [
        'partition from c (10.77.0.3) not in force (no prohibit route)',
        'shaping towards b (10.77.0.2) not in force (no tc tree)',
      ],
      b: [],
      c: ['a prohibit route to 10.77.0.9 nxc does not list'],
    });
    await net.restore!(['a', 'c'], all);
    expect(await net.inspect!(['a', 'b', 'c'], all)).toEqual({ a: [], b: [], c: [] });
    expect(state('a')).toContain('prohibit 10.77.0.3');
    expect(state('a')).toMatch(/class htb 208:10 root .*rate 1Mbit/);
    expect(state('c')).not.toContain('10.77.0.9');
    // idempotent
    await net.restore!(['a'], all);
    expect(await net.inspect!(['a'], all)).toEqual({ a: [] });
    // an unreachable node: one line saying so
    const down = guestNetwork(async () => ({
      ...local,
      exec: () => Promise.reject(new Error('ssh: connect: refused')),
    }));
    expect(await down.inspect!(['a'], all)).toEqual({
      a: ['cannot read its network settings: ssh: connect: refused'],
    });
    await net.clear(all, []);
    expect(state('a')).not.toMatch(/prohibit|htb 208:/);
  });
});
