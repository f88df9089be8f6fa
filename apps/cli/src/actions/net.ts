/** `nxc net`: show, partition, heal, delay, loss (logic in @nxc/core's net commands). */
import { net, type NetRequest, type NetStatus, netApply, netHeal, parseDelay } from '@nxc/core';
import { UsageError } from '../failure.js';
import type { Runtime } from '../runtime.js';
import { printJson, project } from './common.js';

interface NetFlags {
  composition?: string;
  flavour?: string;
  identityFile?: string;
  json?: boolean;
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
      return `${pair}  delay ${c.delayMs}ms`;
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

async function shape(rt: Runtime, a: string, b: string, request: NetRequest, flags: NetFlags) {
  const s = await netApply(await project(rt), [a], [b], request, { ...sel(flags), signal: rt.signal });
  return print(rt, s, flags.json);
}

export async function netDelayAction(rt: Runtime, a: string, b: string, value: string, flags: NetFlags) {
  return shape(rt, a, b, { kind: 'delay', delayMs: parseDelay(value) }, flags);
}

export async function netLossAction(rt: Runtime, a: string, b: string, value: string, flags: NetFlags) {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(value.trim());
  if (!m) throw new UsageError(`nxc net loss: "${value}" is not a percentage`, 'write it like 5%');
  return shape(rt, a, b, { kind: 'loss', percent: Number(m[1]) }, flags);
}
