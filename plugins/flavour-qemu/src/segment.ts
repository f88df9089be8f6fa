/**
 * Deploy side of the private segment: starts the deployment's switch (segment-switch.ts)
 * detached in its run folder before the VMs, and stops it after them. Found again by the pid
 * in the flavour state, or by its name (`--name nxc-switch-<id>`) after a crash.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NxcError } from '@nxc/core/flavour';
import { findSwitches, isOurProcess } from './processes.js';

/** The switch of a running deployment, as recorded in the flavour state. */
export interface SegmentSwitch {
  pid: number;
  name: string;
  /** Unix socket the VMs connect to (`-netdev stream`). */
  socket: string;
}

/** Longest unix socket path Linux accepts (sun_path minus the terminating NUL). */
const SOCKET_PATH_MAX = 107;

export const switchName = (id: string): string => `nxc-switch-${id}`;

/** The switch's script: next to this module once built; from sources (tests), the built one. */
function switchScript(): string {
  const here = fileURLToPath(new URL('./segment-switch.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = fileURLToPath(new URL('../dist/segment-switch.js', import.meta.url));
  if (existsSync(built)) return built;
  throw new NxcError('NXC_FLAVOUR_UNUSABLE', `the segment switch script is missing (${here})`, {
    hint: 'reinstall @nxc/flavour-qemu (or build it: `pnpm build`)',
  });
}

function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/**
 * Starts the switch of deployment `id` in `runDir`; resolves once VMs can connect. `env`: the
 * switch's environment (the deployment's process labels, so that stop finds it without state).
 */
export async function startSwitch(
  runDir: string,
  id: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SegmentSwitch> {
  const socket = join(runDir, 'segment.sock');
  if (Buffer.byteLength(socket) > SOCKET_PATH_MAX) {
    throw new NxcError('NXC_USAGE', `run folder ${runDir} is too deep for a unix socket (${socket})`, {
      hint: 'set TMPDIR (or XDG_RUNTIME_DIR) to a shorter path',
    });
  }
  const name = switchName(id);
  const logFile = join(runDir, 'segment-switch.log');
  const log = await open(logFile, 'a', 0o600);
  const child = spawn(process.execPath, [switchScript(), '--name', name, '--socket', socket], {
    detached: true,
    env,
    stdio: ['ignore', log.fd, log.fd],
  });
  await log.close();
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.unref();
  const pid = child.pid;
  const end = Date.now() + 10_000;
  while (pid && !exited && Date.now() < end) {
    if (existsSync(socket) && (await canConnect(socket))) return { pid, name, socket };
    await new Promise((r) => setTimeout(r, 50));
  }
  if (pid && !exited) process.kill(pid, 'SIGKILL');
  const why = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').pop();
  throw new NxcError(
    'NXC_NODE_FAILED',
    `the private segment's switch did not start${why ? `: ${why}` : ''}`,
    {
      hint: `see ${logFile}`,
    },
  );
}

/** Stops the switch of deployment `id` (the recorded one and any other of that name); resolves once gone. */
export async function stopSwitch(id: string, known?: { pid: number; name: string }): Promise<void> {
  const pids = new Set<number>();
  if (known && isOurProcess(known.pid, known.name)) pids.add(known.pid);
  for (const p of findSwitches(switchName(id))) pids.add(p.pid);
  const signal = (pid: number, sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const name = switchName(id);
  const end = Date.now() + 2000;
  while ([...pids].some((p) => isOurProcess(p, name)) && Date.now() < end)
    await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids) if (isOurProcess(pid, name)) signal(pid, 'SIGKILL');
}
