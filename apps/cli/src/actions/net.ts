/** `nxc net`: show, partition, heal, delay, loss (logic in @nxc/core's net commands). */
import {
  net,
  type NetCheckReport,
  type NetRequest,
  type NetStatus,
  netApply,
  netCheck,
  netHeal,
  netRestore,
  parseDelay,
  parseLoss,
  parseRate,
} from '@nxc/core';
import { UsageError } from '../failure.js';
import type { Runtime } from '../runtime.js';
import { printJson, project } from './common.js';

interface NetFlags {
  composition?: string;
  flavour?: string;
  identityFile?: string;
  json?: boolean;
  jitter?: string;
  all?: boolean;
  count?: number;
}

const sel = (f: NetFlags) => ({
  ...(f.composition ? { composition: f.composition } : {}),
  ...(f.flavour ? { flavour: f.flavour } : {}),
});

function describe(c: NetStatus['conditions'][number]): string {
  const pair = `${c.a.host} <-> ${c.b.host}`;
  switch (c.kind) {
    case 'partition':
      return `${pair}  partitioned`;
    case 'delay':
      return `${pair}  delay ${c.delayMs}ms${c.jitterMs ? ` ±${c.jitterMs}ms` : ''}`;
    case 'loss':
      return `${pair}  loss ${c.percent}%`;
    case 'rate':
      return `${pair}  rate ${c.kbitPerSecond}kbit/s`;
  }
}

function print(rt: Runtime, s: NetStatus, json: boolean | undefined): number {
  if (json) {
    printJson(rt, s);
    return 0;
  }
  rt.stdout.write(`${s.composition}::${s.flavour}\n`);
  if (s.conditions.length === 0) rt.stdout.write('  no network condition in force\n');
  for (const c of s.conditions) rt.stdout.write(`  ${describe(c)}\n`);
  return 0;
}

export async function netShowAction(rt: Runtime, flags: NetFlags): Promise<number> {
  return print(rt, await net(await project(rt), { ...sel(flags), signal: rt.signal }), flags.json);
}

export async function netPartitionAction(rt: Runtime, sideA: string[], flags: NetFlags): Promise<number> {
  if (rt.rest.length === 0) {
    throw new UsageError(
      'nxc net partition: the other side is missing',
      'put it after --, e.g. `nxc net partition @server -- @client`',
    );
  }
  const s = await netApply(
    await project(rt),
    sideA,
    rt.rest,
    { kind: 'partition' },
    { ...sel(flags), signal: rt.signal },
  );
  return print(rt, s, flags.json);
}

export async function netHealAction(rt: Runtime, targets: string[], flags: NetFlags): Promise<number> {
  const s = await netHeal(await project(rt), targets, { ...sel(flags), signal: rt.signal });
  return print(rt, s, flags.json);
}

/** `nxc net restore [TARGET...]`: puts back the recorded conditions on nodes that lost them. */
export async function netRestoreAction(rt: Runtime, targets: string[], flags: NetFlags): Promise<number> {
  const s = await netRestore(await project(rt), targets, { ...sel(flags), signal: rt.signal });
  if (flags.json) {
    printJson(rt, s);
    return 0;
  }
  rt.stdout.write(
    s.restored.length > 0
      ? `put back the conditions of ${s.restored.join(', ')}\n`
      : 'every node has its conditions in force: nothing to put back\n',
  );
  return print(rt, s, false);
}

async function shape(rt: Runtime, a: string, b: string, request: NetRequest, flags: NetFlags) {
  const s = await netApply(await project(rt), [a], [b], request, { ...sel(flags), signal: rt.signal });
  return print(rt, s, flags.json);
}

export async function netDelayAction(rt: Runtime, a: string, b: string, value: string, flags: NetFlags) {
  return shape(
    rt,
    a,
    b,
    {
      kind: 'delay',
      delayMs: parseDelay(value),
      ...(flags.jitter !== undefined ? { jitterMs: parseDelay(flags.jitter) } : {}),
    },
    flags,
  );
}

export async function netLossAction(rt: Runtime, a: string, b: string, value: string, flags: NetFlags) {
  return shape(rt, a, b, { kind: 'loss', percent: parseLoss(value) }, flags);
}

export async function netRateAction(rt: Runtime, a: string, b: string, value: string, flags: NetFlags) {
  return shape(rt, a, b, { kind: 'rate', kbitPerSecond: parseRate(value) }, flags);
}

function askedText(p: NetCheckReport['pairs'][number]): string {
  const a = p.asked;
  const parts = [
    ...(a.partition ? ['partitioned'] : []),
    ...(a.delayMs !== undefined ? [`delay ${a.delayMs}ms${a.jitterMs ? ` ±${a.jitterMs}ms` : ''}`] : []),
    ...(a.lossPercent !== undefined ? [`loss ${a.lossPercent}%`] : []),
    ...(a.kbitPerSecond !== undefined ? [`rate ${a.kbitPerSecond}kbit/s`] : []),
  ];
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}

/** `nxc net check`: exit 0 when every pair agrees with what is asked, 1 otherwise. */
export async function netCheckAction(rt: Runtime, flags: NetFlags): Promise<number> {
  if (flags.count !== undefined && !Number.isInteger(flags.count)) {
    throw new UsageError('nxc net check: --count must be a whole number', 'e.g. --count 20');
  }
  const r = await netCheck(await project(rt), {
    ...sel(flags),
    ...(flags.all ? { all: true } : {}),
    ...(flags.count !== undefined ? { count: flags.count } : {}),
    signal: rt.signal,
  });
  if (flags.json) {
    printJson(rt, r);
    return r.ok ? 0 : 1;
  }
  rt.stdout.write(`${r.composition}::${r.flavour}\n`);
  for (const p of r.pairs) {
    rt.stdout.write(`  ${p.a.host} <-> ${p.b.host}  asked: ${askedText(p)}  ${p.ok ? 'ok' : 'MISMATCH'}\n`);
    for (const m of p.measured) {
      const rtt = m.rttMs
        ? `rtt min/avg/max ${m.rttMs.min.toFixed(1)}/${m.rttMs.avg.toFixed(1)}/${m.rttMs.max.toFixed(1)}ms (one way ${m.oneWayMs?.toFixed(1)}ms), loss ${m.lossPercent}%`
        : `unreachable${m.error ? ` (${m.error})` : ''}`;
      rt.stdout.write(`    ${m.from} -> ${m.to}: ${rtt}\n`);
    }
    for (const problem of p.problems) rt.stdout.write(`    ! ${problem}\n`);
  }
  for (const n of r.notInForce) {
    for (const problem of n.problems) rt.stdout.write(`  ! ${n.host}: ${problem}\n`);
  }
  if (r.notInForce.length > 0) {
    rt.stdout.write('  (a node that rebooted lost its conditions: put them back with `nxc net restore`)\n');
  }
  return r.ok ? 0 : 1;
}
