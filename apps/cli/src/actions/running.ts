/** `nxc stop`, `nxc status`, `nxc logs`. */
import { logs, status, stop } from '@nxc/core';
import pc from 'picocolors';
import type { Runtime } from '../runtime.js';
import { printJson, project, renderer, table } from './common.js';

interface SelectFlags {
  composition?: string;
  flavour?: string;
  identityFile?: string;
  json?: boolean;
}

const sel = (f: SelectFlags) => ({
  ...(f.composition ? { composition: f.composition } : {}),
  ...(f.flavour ? { flavour: f.flavour } : {}),
  ...(f.identityFile ? { identityFile: f.identityFile } : {}),
});

export async function stopAction(rt: Runtime, flags: SelectFlags): Promise<number> {
  const reporter = renderer(rt, flags.json);
  const result = await stop(await project(rt), { ...sel(flags), reporter, signal: rt.signal });
  reporter.clear();
  if (flags.json) printJson(rt, result);
  return 0;
}

export async function statusAction(rt: Runtime, flags: SelectFlags): Promise<number> {
  const result = await status(await project(rt), { ...sel(flags), signal: rt.signal });
  if (flags.json) {
    printJson(rt, { deployments: result });
    return 0;
  }
  if (result.length === 0) {
    rt.stdout.write('no deployment (start one with `nxc start`)\n');
    return 0;
  }
  for (const d of result) {
    rt.stdout.write(`${d.composition}::${d.flavour}\n`);
    rt.stdout.write(
      `${table([
        ['  HOST', 'ROLE', 'ADDRESS', 'STATE', 'DETAIL'],
        ...d.nodes.map((n) => [`  ${n.host}`, n.role, n.address, n.state, n.detail ?? '']),
      ])}\n`,
    );
    for (const c of d.network ?? []) {
      const what =
        c.kind === 'partition'
          ? 'partitioned'
          : c.kind === 'delay'
            ? `delay ${c.delayMs}ms${c.jitterMs ? ` ±${c.jitterMs}ms` : ''}`
            : c.kind === 'loss'
              ? `loss ${c.percent}%`
              : `rate ${c.kbitPerSecond}kbit/s`;
      rt.stdout.write(`  network: ${c.a.host} <-> ${c.b.host} ${what}\n`);
    }
    for (const n of d.networkNotInForce ?? []) {
      for (const problem of n.problems) rt.stdout.write(`  network NOT IN FORCE on ${n.host}: ${problem}\n`);
    }
    if (d.networkNotInForce) rt.stdout.write('  (put the conditions back with `nxc net restore`)\n');
  }
  return 0;
}

interface LogsFlags extends SelectFlags {
  follow?: boolean;
  tail?: number;
}

export async function logsAction(rt: Runtime, nodes: string[], flags: LogsFlags): Promise<number> {
  const color = rt.stdout.isTTY === true;
  const palette = [pc.cyan, pc.magenta, pc.yellow, pc.green, pc.blue];
  const colors = new Map<string, (s: string) => string>();
  for await (const line of logs(await project(rt), nodes, {
    ...sel(flags),
    follow: flags.follow === true,
    ...(flags.tail !== undefined && !Number.isNaN(flags.tail) ? { tail: flags.tail } : {}),
    signal: rt.signal,
  })) {
    if (flags.json) {
      rt.stdout.write(`${JSON.stringify(line)}\n`);
      continue;
    }
    let c = colors.get(line.host);
    if (!c) {
      c = color ? palette[colors.size % palette.length]! : (s: string) => s;
      colors.set(line.host, c);
    }
    rt.stdout.write(`${c(`${line.host} |`)} ${line.line}\n`);
  }
  return 0;
}
