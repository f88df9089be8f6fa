/**
 * The processes of a deployment on this machine: its QEMUs (`-name nxc-<id>-<host>`) and its
 * segment switch (`--name nxc-switch-<id>`). Pid checks and leftover search go through /proc
 * and only ever match processes of the current user: anyone can start a process with any name.
 */
import { readFileSync, readdirSync } from 'node:fs';

const ownUid = (): number => process.getuid?.() ?? -1;

/** Status of a pid: its real uid, or undefined when it is gone (or a zombie). */
function uidOf(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    if (/^State:\s+Z/m.test(status)) return undefined;
    const m = /^Uid:\s+(\d+)/m.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The command line of a pid, or undefined when it is gone (or a zombie). */
export function cmdlineOf(pid: number): string[] | undefined {
  if (uidOf(pid) === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** The name a process of ours carries (`-name` for QEMU, `--name` for the switch). */
function nameIn(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === '-name' || a === '--name');
  return i >= 0 ? argv[i + 1] : undefined;
}

/** True when `pid` is alive, ours, and named `name` (guards against recycled pids and look-alikes). */
export function isOurProcess(pid: number | undefined, name: string): boolean {
  if (!pid || uidOf(pid) !== ownUid()) return false;
  const argv = cmdlineOf(pid);
  return argv !== undefined && nameIn(argv) === name;
}

/** True when `pid` is alive, ours, and the QEMU named `name`. */
export const isOurQemu = isOurProcess;

/**
 * Processes whose name starts with `prefix` and whose program matches `program` (leftovers
 * after a crash). `owner`: only this uid's (default: the current user), or `any` (tests).
 */
function findNamed(
  prefix: string,
  program: (argv: string[]) => boolean,
  owner: number | 'any',
): { pid: number; name: string }[] {
  const out: { pid: number; name: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (owner !== 'any' && uidOf(pid) !== owner) continue;
    const argv = cmdlineOf(pid);
    if (!argv || !program(argv)) continue;
    const name = nameIn(argv);
    if (name?.startsWith(prefix)) out.push({ pid, name });
  }
  return out;
}

/** QEMU processes whose `-name` starts with `prefix`. */
export function findQemus(prefix: string, owner: number | 'any' = ownUid()): { pid: number; name: string }[] {
  return findNamed(prefix, (argv) => /qemu[^/]*$/.test(argv[0] ?? ''), owner);
}

/** Segment switches named `name` (normally one). */
export function findSwitches(
  name: string,
  owner: number | 'any' = ownUid(),
): { pid: number; name: string }[] {
  return findNamed(name, (argv) => /segment-switch\.js$/.test(argv[1] ?? ''), owner).filter(
    (p) => p.name === name,
  );
}

/** Seconds since `pid` started, from /proc (undefined if gone). */
export function uptimeSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Math.max(0, Math.round(uptime - startTicks / 100));
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  return cmdlineOf(pid) !== undefined;
}
