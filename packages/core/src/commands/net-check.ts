/**
 * `nxc net check`: measures, from the nodes themselves, what the network between them is
 * like (ping round trips and losses, both ways of each pair) and puts it next to what the
 * conditions in force ask. The pairs are those of the conditions in force, or every pair of
 * nodes with `all`.
 */
import { NxcError } from '../errors.js';
import type { Project } from '../project.js';
import type { NetworkCondition, NetworkEnd } from '../transposition.js';
import { netDrift, readNetConditions } from './net.js';
import { type RunningOptions, openDeployment } from './running.js';
import { deploymentNodes } from './targets.js';

/** What the conditions in force ask between two nodes. */
export interface AskedConditions {
  partition?: boolean;
  /** One-way delay (each direction), ms. */
  delayMs?: number;
  jitterMs?: number;
  /** Loss per direction, percent. */
  lossPercent?: number;
  kbitPerSecond?: number;
}

/** One direction of a pair as measured: `from` pings `to`. */
export interface MeasuredPath {
  from: string;
  to: string;
  /** At least one reply came back. */
  reachable: boolean;
  sent: number;
  received: number;
  /** Packets lost, percent (round trip: a loss on either way). */
  lossPercent: number;
  /** Round trip times, ms (absent when nothing came back). */
  rttMs?: { min: number; avg: number; max: number };
  /**
   * Half the fastest round trip: the one-way delay in force when both ways are alike. The
   * fastest, not the mean: a busy node or host only ever adds to a round trip, the delay nxc set
   * is the floor under them.
   */
  oneWayMs?: number;
  /** The command's first error line, when it failed without a reply. */
  error?: string;
}

/** One pair of nodes: what is asked, what is measured, and whether they agree. */
export interface NetCheckPair {
  a: NetworkEnd;
  b: NetworkEnd;
  asked: AskedConditions;
  /** a -> b, then b -> a. */
  measured: [MeasuredPath, MeasuredPath];
  /** Whether the measure agrees with what is asked (see {@link netCheck} for the tolerances). */
  ok: boolean;
  /** Why not, one line per disagreement. */
  problems: string[];
}

/** What {@link netCheck} returns. */
export interface NetCheckReport {
  composition: string;
  flavour: string;
  pairs: NetCheckPair[];
  /**
   * Nodes whose settings differ from the conditions nxc lists (a node that rebooted lost
   * them: `nxc net restore` puts them back), one line per difference. Empty when every node
   * has its conditions in force, or when the flavour cannot tell (see `inspected`).
   */
  notInForce: Array<{ host: string; problems: string[] }>;
  /** The flavour could read the nodes' settings (its network capability's `inspect`). */
  inspected: boolean;
  /** Every pair agrees and every node has its conditions in force. */
  ok: boolean;
}

/** Options of {@link netCheck}. */
export interface NetCheckOptions extends RunningOptions {
  /** Check every pair of nodes, not only those with a condition. */
  all?: boolean;
  /** Pings per direction (default 10, one every 0.2 s). */
  count?: number;
  /** Relative tolerance on the one-way delay (default 0.2: 20 %). */
  tolerance?: number;
}

/** Parses ping's summary (iputils or busybox). */
export function parsePing(text: string): Pick<MeasuredPath, 'sent' | 'received' | 'rttMs'> {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(text);
  return {
    sent: counts ? Number(counts[1]) : 0,
    received: counts ? Number(counts[2]) : 0,
    ...(rtt ? { rttMs: { min: Number(rtt[1]), avg: Number(rtt[2]), max: Number(rtt[3]) } } : {}),
  };
}

function askedOf(conditions: NetworkCondition[]): AskedConditions {
  const asked: AskedConditions = {};
  for (const c of conditions) {
    if (c.kind === 'partition') asked.partition = true;
    else if (c.kind === 'delay') {
      asked.delayMs = c.delayMs;
      if (c.jitterMs) asked.jitterMs = c.jitterMs;
    } else if (c.kind === 'loss') asked.lossPercent = c.percent;
    else asked.kbitPerSecond = c.kbitPerSecond;
  }
  return asked;
}

/** Compares one pair's measure with what is asked; returns the disagreements. */
export function judge(asked: AskedConditions, measured: MeasuredPath[], tolerance = 0.2): string[] {
  const problems: string[] = [];
  for (const m of measured) {
    const way = `${m.from} -> ${m.to}`;
    if (asked.partition) {
      if (m.reachable) problems.push(`${way}: reachable across a partition`);
      continue;
    }
    if (!m.reachable) {
      problems.push(`${way}: unreachable${m.error ? ` (${m.error})` : ''}`);
      continue;
    }
    if (asked.delayMs !== undefined && m.oneWayMs !== undefined) {
      // with jitter the fastest packet may be up to the jitter early
      const lo = asked.delayMs * (1 - tolerance) - (asked.jitterMs ?? 0);
      const hi = asked.delayMs * (1 + tolerance) + (asked.jitterMs ?? 0);
      if (m.oneWayMs < lo || m.oneWayMs > hi) {
        problems.push(
          `${way}: one-way delay ${m.oneWayMs.toFixed(1)} ms, asked ${asked.delayMs} ms (±${Math.round(tolerance * 100)}%)`,
        );
      }
    }
  }
  return problems;
}

/**
 * Measures the network between the nodes with ping, run on the nodes through the flavour's
 * transport (pairs in parallel, both directions), and compares it with the conditions in
 * force: a partitioned pair must not answer; every other pair must answer; a delayed pair's
 * one-way delay (half the fastest round trip) must be within `tolerance` of the asked delay
 * (plus the jitter). Losses and rates are reported, not judged (a few pings cannot).
 */
export async function netCheck(project: Project, opts: NetCheckOptions = {}): Promise<NetCheckReport> {
  const count = opts.count ?? 10;
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    throw new NxcError('NXC_USAGE', `nxc net check: --count ${count} is out of range`, {
      hint: 'give a number of pings between 1 and 1000',
    });
  }
  const o = await openDeployment(project, opts);
  const conditions = await readNetConditions(project, o.entry.composition, o.entry.flavour);
  const pairs = new Map<string, { a: NetworkEnd; b: NetworkEnd; conditions: NetworkCondition[] }>();
  const pairKey = (x: string, y: string) => [x, y].sort().join('\0');
  if (opts.all) {
    const nodes = deploymentNodes(o.ctx.deployment);
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) {
        const a = { host: nodes[i]!.host, address: nodes[i]!.address };
        const b = { host: nodes[j]!.host, address: nodes[j]!.address };
        pairs.set(pairKey(a.host, b.host), { a, b, conditions: [] });
      }
    }
  }
  for (const c of conditions) {
    const k = pairKey(c.a.host, c.b.host);
    const p = pairs.get(k) ?? { a: c.a, b: c.b, conditions: [] };
    p.conditions.push(c);
    pairs.set(k, p);
  }
  if (pairs.size === 0) {
    throw new NxcError('NXC_USAGE', 'nxc net check: no network condition in force, nothing to check', {
      hint: 'add --all to measure every pair of nodes',
    });
  }
  const transport = await o.deployer.transport(o.ctx);
  const deadline = Math.ceil(count * 0.2) + 5;
  const measure = async (from: NetworkEnd, to: NetworkEnd): Promise<MeasuredPath> => {
    const command = `PATH=/run/current-system/sw/bin:$PATH; ping -q -c ${count} -i 0.2 -w ${deadline} ${to.address}`;
    try {
      const r = await transport.exec(from.host, command, {
        timeoutMs: (deadline + 30) * 1000,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const p = parsePing(`${r.stdout}\n${r.stderr}`);
      const error = r.exitCode === 0 ? undefined : r.stderr.trim().split('\n')[0];
      return {
        from: from.host,
        to: to.host,
        reachable: p.received > 0,
        sent: p.sent || count,
        received: p.received,
        lossPercent: Math.round((1 - p.received / (p.sent || count)) * 1000) / 10,
        ...(p.rttMs ? { rttMs: p.rttMs, oneWayMs: Math.round((p.rttMs.min / 2) * 100) / 100 } : {}),
        ...(p.received === 0 && error ? { error } : {}),
      };
    } catch (error) {
      return {
        from: from.host,
        to: to.host,
        reachable: false,
        sent: 0,
        received: 0,
        lossPercent: 100,
        error: (error instanceof Error ? error.message : String(error)).split('\n')[0]!,
      };
    }
  };
  try {
    const [drift, out] = await Promise.all([
      netDrift(o, conditions),
      Promise.all(
        [...pairs.values()].map(async (p): Promise<NetCheckPair> => {
          const measured = (await Promise.all([measure(p.a, p.b), measure(p.b, p.a)])) as [
            MeasuredPath,
            MeasuredPath,
          ];
          const asked = askedOf(p.conditions);
          const problems = judge(asked, measured, opts.tolerance);
          return { a: p.a, b: p.b, asked, measured, ok: problems.length === 0, problems };
        }),
      ),
    ]);
    const notInForce = Object.entries(drift ?? {}).map(([host, problems]) => ({ host, problems }));
    return {
      composition: o.entry.composition,
      flavour: o.entry.flavour,
      pairs: out,
      notInForce,
      inspected: drift !== undefined,
      ok: out.every((p) => p.ok) && notInForce.length === 0,
    };
  } finally {
    await transport.close();
  }
}
