/** `nxc exec TARGET... -- CMD`: streamed, node-prefixed output and a per-node summary. */
import { exec } from '@nxc/core';
import pc from 'picocolors';
import { UsageError } from '../failure.js';
import type { Runtime } from '../runtime.js';
import { printJson, project } from './common.js';

interface ExecFlags {
  composition?: string;
  flavour?: string;
  identityFile?: string;
  user?: string;
  timeout?: number;
  json?: boolean;
}

/** Splits a stream into lines per host, so prefixes stay at line starts. */
function lineWriter(out: NodeJS.WritableStream, prefix: string) {
  let pending = '';
  return {
    write(chunk: Buffer) {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) out.write(`${prefix}${l}\n`);
    },
    flush() {
      if (pending) out.write(`${prefix}${pending}\n`);
      pending = '';
    },
  };
}

export async function execAction(rt: Runtime, targets: string[], flags: ExecFlags): Promise<number> {
  if (rt.rest.length === 0) {
    throw new UsageError(
      'nxc exec: no command given',
      'put the command after --, e.g. `nxc exec all -- uname -a`',
    );
  }
  const command = rt.rest.length === 1 ? rt.rest[0]! : rt.rest;
  const color = rt.stdout.isTTY === true;
  const writers = new Map<string, ReturnType<typeof lineWriter>>();
  const width = Math.max(...targets.map((t) => t.length), 6);
  const writer = (host: string, stream: 'stdout' | 'stderr') => {
    const key = `${host}\0${stream}`;
    let w = writers.get(key);
    if (!w) {
      const label = `${host.padEnd(width)} |`;
      const prefix = color ? (stream === 'stderr' ? pc.red(label) : pc.cyan(label)) : label;
      w = lineWriter(stream === 'stderr' ? rt.stderr : rt.stdout, `${prefix} `);
      writers.set(key, w);
    }
    return w;
  };
  const results = await exec(await project(rt), targets, command, {
    ...(flags.composition ? { composition: flags.composition } : {}),
    ...(flags.flavour ? { flavour: flags.flavour } : {}),
    ...(flags.identityFile ? { identityFile: flags.identityFile } : {}),
    ...(flags.user ? { user: flags.user } : {}),
    ...(flags.timeout ? { timeoutMs: flags.timeout * 1000 } : {}),
    signal: rt.signal,
    ...(flags.json
      ? {}
      : {
          onOutput: (host: string, stream: 'stdout' | 'stderr', chunk: Buffer) =>
            writer(host, stream).write(chunk),
          onResult: (r: { host: string }) => {
            writers.get(`${r.host}\0stdout`)?.flush();
            writers.get(`${r.host}\0stderr`)?.flush();
          },
        }),
  });
  const failed = results.filter((r) => r.exitCode !== 0);
  if (flags.json) {
    printJson(rt, { results, failed: failed.length });
  } else {
    const ok = results.length - failed.length;
    const parts = results.map((r) =>
      r.exitCode === 0 ? `${r.host} ok` : `${r.host} exit ${r.exitCode}${r.error ? ` (${r.error})` : ''}`,
    );
    rt.stderr.write(`${ok}/${results.length} succeeded: ${parts.join(', ')}\n`);
  }
  return failed.length > 0 ? 1 : 0;
}
