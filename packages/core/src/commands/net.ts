/**
 * `nxc net`: network conditions between the nodes of a running deployment (partitions, and
 * delay/loss/rate where the flavour and the host kernel can shape traffic). Core resolves the
 * targets (`@role`, hostnames, `all`), validates what is asked, asks the flavour's
 * `network` capability to act, and keeps the conditions in force in
 * `deploy/<composition>::<flavour>.net.json` (0600, written atomically) so that `nxc net`
 * shows them and `nxc net heal` removes exactly those.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../atomic-file.js';
import { NxcError } from '../errors.js';
import { lazy } from '../lazy.js';
import { conditionSchema } from '../net-schema.js';
import { withProjectLock } from '../project-lock.js';
import type { Project } from '../project.js';
import { deploymentKey } from '../state.js';
import type { NetworkCondition, NetworkControl } from '../transposition.js';
import { type OpenDeployment, type RunningOptions, openDeployment } from './running.js';
import { resolveTargets } from './targets.js';

/** `deploy/<composition>::<flavour>.net.json`: the network conditions nxc put in force. */
export function netPath(project: Project, composition: string, flavour: string): string {
  return join(project.deployDir, `${deploymentKey(composition, flavour)}.net.json`);
}

const netFileSchema = lazy(() => z.object({ conditions: z.array(conditionSchema()) }).strict());

/** The conditions nxc put in force on one deployment, as `nxc net` shows them. */
export interface NetStatus {
  composition: string;
  flavour: string;
  conditions: NetworkCondition[];
}

/** Reads the recorded conditions (none when the file is absent). */
export async function readNetConditions(
  project: Project,
  composition: string,
  flavour: string,
): Promise<NetworkCondition[]> {
  const file = netPath(project, composition, flavour);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const result = netFileSchema().safeParse(parsed);
  if (!result.success) {
    throw new NxcError('NXC_DEPLOYMENT', `${file} is not a network conditions file nxc wrote`, {
      hint: 'remove it and run `nxc net heal` (or `nxc stop`)',
    });
  }
  return result.data.conditions as NetworkCondition[];
}

/** Writes the conditions in force (removes the file when there are none). */
export async function writeConditions(
  project: Project,
  o: { entry: { composition: string; flavour: string } },
  conditions: NetworkCondition[],
) {
  const file = netPath(project, o.entry.composition, o.entry.flavour);
  if (conditions.length === 0) await rm(file, { force: true });
  else await writeJsonAtomic(file, { conditions }, { mode: 0o600 });
}

async function control(o: OpenDeployment): Promise<NetworkControl> {
  if (!o.deployer.network) {
    throw new NxcError(
      'NXC_FLAVOUR_UNUSABLE',
      `network conditions are not supported by the ${o.entry.flavour} flavour yet`,
      { hint: 'see docs/network.md for what each flavour supports', exitCode: 3 },
    );
  }
  return await o.deployer.network(o.ctx);
}

const same = (x: NetworkCondition, y: NetworkCondition): boolean => {
  const pair = (c: NetworkCondition) => [c.a.host, c.b.host].sort().join('\0');
  return x.kind === y.kind && pair(x) === pair(y);
};

/** Shows the conditions in force on the selected deployment. */
export async function net(project: Project, opts: RunningOptions = {}): Promise<NetStatus> {
  const o = await openDeployment(project, opts);
  return {
    composition: o.entry.composition,
    flavour: o.entry.flavour,
    conditions: await readNetConditions(project, o.entry.composition, o.entry.flavour),
  };
}

/** A condition asked for between two sets of nodes. */
export type NetRequest =
  | { kind: 'partition' }
  | { kind: 'delay'; delayMs: number; jitterMs?: number }
  | { kind: 'loss'; percent: number }
  | { kind: 'rate'; kbitPerSecond: number };

/**
 * Puts `request` in force between every node of `sideA` and every node of `sideB` (targets as
 * in exec: `@role`, hostnames, `all`). A node on both sides, an empty side or a value out of
 * range is refused (exit 2) before anything is applied. Already recorded pairs are kept once.
 */
export async function netApply(
  project: Project,
  sideA: string[],
  sideB: string[],
  request: NetRequest,
  opts: RunningOptions = {},
): Promise<NetStatus> {
  if (sideA.length === 0 || sideB.length === 0) {
    throw new NxcError('NXC_USAGE', `nxc net ${request.kind}: two sets of nodes are needed`, {
      hint: 'e.g. `nxc net partition @server -- @client`',
    });
  }
  checkValue(request);
  const o = await openDeployment(project, opts);
  const a = resolveTargets(o.ctx.deployment, sideA);
  const b = resolveTargets(o.ctx.deployment, sideB);
  const both = a.filter((n) => b.some((m) => m.host === n.host)).map((n) => n.host);
  if (both.length > 0) {
    throw new NxcError('NXC_USAGE', `node ${both.join(', ')} is on both sides of the ${request.kind}`, {
      hint: 'name each node on one side only',
    });
  }
  const key = deploymentKey(o.entry.composition, o.entry.flavour);
  return withProjectLock(project, `net ${request.kind} ${key}`, async () => {
    const recorded = await readNetConditions(project, o.entry.composition, o.entry.flavour);
    const asked: NetworkCondition[] = [];
    for (const x of a) {
      for (const y of b) {
        const c = {
          ...request,
          a: { host: x.host, address: x.address },
          b: { host: y.host, address: y.address },
        } as NetworkCondition;
        if (!recorded.some((r) => same(r, c))) asked.push(c);
      }
    }
    const ctl = await control(o);
    if (asked.length > 0) {
      await ctl.apply(asked, [...recorded, ...asked]);
      await writeConditions(project, o, [...recorded, ...asked]);
    }
    return {
      composition: o.entry.composition,
      flavour: o.entry.flavour,
      conditions: [...recorded, ...asked],
    };
  });
}

/** Removes every condition nxc put in force (or those touching `targets`); returns what remains. */
export async function netHeal(
  project: Project,
  targets: string[] = [],
  opts: RunningOptions = {},
): Promise<NetStatus> {
  const o = await openDeployment(project, opts);
  const hosts = new Set(resolveTargets(o.ctx.deployment, targets).map((n) => n.host));
  const key = deploymentKey(o.entry.composition, o.entry.flavour);
  return withProjectLock(project, `net heal ${key}`, async () => {
    const recorded = await readNetConditions(project, o.entry.composition, o.entry.flavour);
    const gone = recorded.filter((c) => hosts.has(c.a.host) || hosts.has(c.b.host));
    const kept = recorded.filter((c) => !gone.includes(c));
    if (gone.length > 0) {
      await (await control(o)).clear(gone, kept);
      await writeConditions(project, o, kept);
    }
    return { composition: o.entry.composition, flavour: o.entry.flavour, conditions: kept };
  });
}

/**
 * Puts back on the nodes of `targets` (every node when empty) the conditions recorded for
 * them: for nodes that came back without them (restarted container, rebooted VM: the
 * conditions lived in their kernel). When the flavour can read what a node has in force
 * (`inspect`), only the nodes that differ are touched (the others keep their setting
 * without a gap). Idempotent; nothing to do is not an error. Returns the conditions in force
 * and the hosts whose setting was put back.
 */
export async function netRestore(
  project: Project,
  targets: string[] = [],
  opts: RunningOptions = {},
): Promise<NetStatus & { restored: string[] }> {
  const o = await openDeployment(project, opts);
  const hosts = new Set(resolveTargets(o.ctx.deployment, targets).map((n) => n.host));
  const touch = (cs: NetworkCondition[]) => cs.filter((c) => hosts.has(c.a.host) || hosts.has(c.b.host));
  const status = (conditions: NetworkCondition[], restored: string[]) => ({
    composition: o.entry.composition,
    flavour: o.entry.flavour,
    conditions,
    restored,
  });
  // nothing recorded for these nodes: no lock needed (the driver's start() of every node)
  const early = await readNetConditions(project, o.entry.composition, o.entry.flavour);
  if (touch(early).length === 0) return status(early, []);
  const key = deploymentKey(o.entry.composition, o.entry.flavour);
  return withProjectLock(project, `net restore ${key}`, async () => {
    const recorded = await readNetConditions(project, o.entry.composition, o.entry.flavour);
    const touching = touch(recorded);
    let restored = [...hosts].filter((h) => touching.some((c) => c.a.host === h || c.b.host === h));
    if (restored.length === 0) return status(recorded, []);
    const ctl = await control(o);
    if (ctl.inspect) {
      const found = await ctl.inspect(restored, recorded);
      restored = restored.filter((h) => (found[h] ?? []).length > 0);
    }
    if (restored.length > 0) {
      if (ctl.restore) await ctl.restore(restored, recorded);
      else
        await ctl.apply(
          recorded.filter((c) => restored.includes(c.a.host) || restored.includes(c.b.host)),
          recorded,
        );
    }
    return status(recorded, restored);
  });
}

/**
 * Per node with a recorded condition, what differs between the conditions nxc lists and
 * what the node has in force (a node that rebooted has lost them), when the flavour can tell
 * (its `network().inspect`); `undefined` when it cannot. Hosts without a difference are left
 * out; `only` limits the hosts asked (e.g. the running ones).
 */
export async function netDrift(
  o: Pick<OpenDeployment, 'deployer' | 'ctx'>,
  conditions: NetworkCondition[],
  only?: Set<string>,
): Promise<Record<string, string[]> | undefined> {
  if (conditions.length === 0 || !o.deployer.network) return {};
  const ctl = await o.deployer.network(o.ctx);
  if (!ctl.inspect) return undefined;
  const hosts = [...new Set(conditions.flatMap((c) => [c.a.host, c.b.host]))].filter(
    (h) => !only || only.has(h),
  );
  if (hosts.length === 0) return {};
  const found = await ctl.inspect(hosts, conditions);
  return Object.fromEntries(Object.entries(found).filter(([, problems]) => problems.length > 0));
}

/** Checks the value of a request (exit 2 naming it when out of range). */
export function checkValue(r: NetRequest): void {
  const bad = (what: string, hint: string) => {
    throw new NxcError('NXC_USAGE', `nxc net ${r.kind}: ${what}`, { hint });
  };
  if (r.kind === 'delay' && !(Number.isFinite(r.delayMs) && r.delayMs > 0 && r.delayMs <= 60_000)) {
    bad(`delay ${r.delayMs} ms is out of range`, 'give a delay between 1ms and 60s, e.g. 50ms');
  }
  if (
    r.kind === 'delay' &&
    r.jitterMs !== undefined &&
    !(Number.isFinite(r.jitterMs) && r.jitterMs >= 0 && r.jitterMs <= r.delayMs)
  ) {
    bad(`jitter ${r.jitterMs} ms is out of range`, 'give a jitter between 0 and the delay, e.g. 5ms');
  }
  if (r.kind === 'loss' && !(Number.isFinite(r.percent) && r.percent > 0 && r.percent <= 100)) {
    bad(`loss ${r.percent}% is out of range`, 'give a loss between 0 and 100 percent, e.g. 5%');
  }
  if (r.kind === 'rate' && !(Number.isFinite(r.kbitPerSecond) && r.kbitPerSecond > 0)) {
    bad(`rate ${r.kbitPerSecond} kbit/s is out of range`, 'give a positive rate, e.g. 10mbit');
  }
}

/**
 * Parses a duration as users type it (`50ms`, `1s`, `0.5s`, plain number = ms).
 * @throws NxcError `NXC_USAGE` naming the text.
 */
export function parseDelay(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (!m) {
    throw new NxcError('NXC_USAGE', `"${text}" is not a delay`, { hint: 'write it like 50ms or 1s' });
  }
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

/**
 * Parses a rate as users type it: a number with `bit`, `kbit`, `mbit` or `gbit` (per second),
 * e.g. `10mbit`; returns kbit/s.
 * @throws NxcError `NXC_USAGE` naming the text.
 */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)(?:\/s|ps)?$/i.exec(text.trim());
  if (!m) {
    throw new NxcError('NXC_USAGE', `"${text}" is not a rate`, {
      hint: 'write it like 10mbit, 512kbit or 1gbit',
    });
  }
  const unit = { bit: 0.001, kbit: 1, mbit: 1000, gbit: 1_000_000 }[m[2]!.toLowerCase() as 'kbit'];
  return Number(m[1]) * unit;
}

/**
 * Parses a loss as users type it (`5%` or `5`), in percent.
 * @throws NxcError `NXC_USAGE` naming the text.
 */
export function parseLoss(text: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  if (!m) throw new NxcError('NXC_USAGE', `"${text}" is not a percentage`, { hint: 'write it like 5%' });
  return Number(m[1]);
}
