/**
 * `nxc connect`: one host -> a shell in this terminal (raw TTY, resizes, remote exit code);
 * several -> a tmux window with one pane per host, each running `nxc connect HOST`.
 */
import { createRequire } from 'node:module';
import { NxcError, connect, resolveConnectHosts } from '@nxc/core';
import type { Runtime } from '../runtime.js';
import { parseGeometry, tmuxLayout } from '../tmux-layout.js';
import { project } from './common.js';

/** node:child_process, loaded when tmux runs only: the other commands share this chunk (issue #17). */
const childProcess = () =>
  createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');

interface ConnectFlags {
  composition?: string;
  flavour?: string;
  identityFile?: string;
  user?: string;
  geometry?: string;
}

export async function connectAction(rt: Runtime, hosts: string[], flags: ConnectFlags): Promise<number> {
  if (flags.geometry !== undefined) parseGeometry(flags.geometry, 1); // a bad -g fails before anything else
  const proj = await project(rt);
  const selection = {
    ...(flags.composition ? { composition: flags.composition } : {}),
    ...(flags.flavour ? { flavour: flags.flavour } : {}),
    ...(flags.identityFile ? { identityFile: flags.identityFile } : {}),
  };
  const target = await resolveConnectHosts(proj, hosts, selection);
  if (target.nodes.length === 1)
    return shell(rt, proj, target.nodes[0]!.host, { ...selection, user: flags.user });
  const columns = parseGeometry(flags.geometry, target.nodes.length);
  // @nxc/core/flavour only here: the other commands, which share this chunk, do not load it
  const { shellQuote } = await import('@nxc/core/flavour');
  const commands = target.nodes.map((n) =>
    [
      ...rt.self,
      'connect',
      n.host,
      '-C',
      `${target.composition}::${target.flavour}`,
      ...(flags.user ? ['-l', flags.user] : []),
      ...(flags.identityFile ? ['-i', flags.identityFile] : []),
    ]
      .map(shellQuote)
      .join(' '),
  );
  return tmux(rt, columns, commands);
}

async function shell(
  rt: Runtime,
  proj: Awaited<ReturnType<typeof project>>,
  host: string,
  opts: { composition?: string; flavour?: string; identityFile?: string; user?: string | undefined },
): Promise<number> {
  const tty = rt.stdin.isTTY === true;
  const session = await connect(proj, host, {
    ...(opts.composition ? { composition: opts.composition } : {}),
    ...(opts.flavour ? { flavour: opts.flavour } : {}),
    ...(opts.identityFile ? { identityFile: opts.identityFile } : {}),
    ...(opts.user ? { user: opts.user } : {}),
    stdin: rt.stdin,
    stdout: rt.stdout,
    ...(rt.stdout.columns ? { columns: rt.stdout.columns, rows: rt.stdout.rows } : {}),
    signal: rt.signal,
  });
  const onResize = () => session.resize(rt.stdout.columns, rt.stdout.rows);
  if (tty) rt.stdin.setRawMode(true);
  rt.stdin.resume();
  rt.stdout.on('resize', onResize);
  try {
    return await session.exited;
  } finally {
    rt.stdout.off('resize', onResize);
    if (tty) rt.stdin.setRawMode(false);
    rt.stdin.pause();
  }
}

function tmuxCall(args: string[]): string {
  const r = childProcess().spawnSync('tmux', args, { encoding: 'utf8' });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NxcError('NXC_USAGE', 'connecting to several nodes needs tmux, which is not installed', {
        hint: 'install tmux (e.g. `apt-get install tmux`), or connect to one node: `nxc connect HOST`',
        exitCode: 3,
      });
    }
    throw r.error;
  }
  if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

function tmux(rt: Runtime, columns: number[], hostCommands: string[]): number {
  const paneCount = columns.reduce((a, b) => a + b, 0);
  const userShell = process.env.SHELL ?? 'sh';
  // More panes than hosts: the first panes get a local shell (as the original); fewer: extra hosts dropped.
  const commands =
    hostCommands.length >= paneCount
      ? hostCommands.slice(0, paneCount)
      : [...Array(paneCount - hostCommands.length).fill(userShell), ...hostCommands];
  const inside = Boolean(process.env.TMUX);
  const session = `nxc-${process.pid}`;
  const fmt = ['-P', '-F', '#{pane_id}'];
  const panes: string[] = [];
  for (const step of tmuxLayout(columns)) {
    const cmd = commands[step.command]!;
    if (step.split === undefined) {
      const size = rt.stdout.columns ? ['-x', String(rt.stdout.columns), '-y', String(rt.stdout.rows)] : [];
      panes.push(
        inside
          ? tmuxCall(['new-window', ...fmt, '-n', 'nxc', cmd])
          : tmuxCall(['new-session', '-d', ...fmt, '-s', session, '-n', 'nxc', ...size, cmd]),
      );
    } else {
      panes.push(
        tmuxCall([
          'split-window',
          `-${step.direction}`,
          '-l',
          `${step.percent}%`,
          '-t',
          panes[step.split]!,
          ...fmt,
          cmd,
        ]),
      );
    }
  }
  tmuxCall(['select-pane', '-t', panes[0]!]);
  if (inside) return 0;
  const r = childProcess().spawnSync('tmux', ['attach-session', '-t', session], { stdio: 'inherit' });
  return r.status ?? 0;
}
