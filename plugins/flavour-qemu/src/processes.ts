/** The QEMU processes of a deployment on this machine (pid checks and leftover search via /proc). */
import { readFileSync, readdirSync } from 'node:fs';

/** The command line of a pid, or undefined when it is gone (or a zombie). */
export function cmdlineOf(pid: number): string[] | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    if (/^State:\s+Z/m.test(status)) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and is the QEMU named `name` (guards against recycled pids). */
export function isOurQemu(pid: number | undefined, name: string): boolean {
  if (!pid) return false;
  const argv = cmdlineOf(pid);
  if (!argv) return false;
  const i = argv.indexOf('-name');
  return i >= 0 && argv[i + 1] === name;
}

/** Pids of QEMU processes whose `-name` starts with `prefix` (leftovers after a crash). */
export function findQemus(prefix: string): { pid: number; name: string }[] {
  const out: { pid: number; name: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = cmdlineOf(Number(entry));
    if (!argv || !argv[0]?.includes('qemu')) continue;
    const i = argv.indexOf('-name');
    const name = i >= 0 ? argv[i + 1] : undefined;
    if (name?.startsWith(prefix)) out.push({ pid: Number(entry), name });
  }
  return out;
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
