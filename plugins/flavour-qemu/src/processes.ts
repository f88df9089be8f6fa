/**
 * The processes of a deployment on this machine: its QEMUs (`-name nxc-<id>-<host>`), its
 * segment switch (`--name nxc-switch-<id>`), and every process carrying its environment labels.
 * Pid checks and leftover search go through /proc and only ever match processes of the current
 * user: anyone can start a process with any name.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';

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

/**
 * Environment variables marking every process a deployment runs (QEMU and what it spawns),
 * so that `nxc stop` finds them from the process table alone, without the deployment's
 * documents or state: `/proc/PID/environ` is readable by the process's owner only, unlike
 * its command line, and survives any change of run folder or QEMU naming.
 */
export const PROCESS_LABEL = {
  project: 'NXC_LABEL_PROJECT',
  composition: 'NXC_LABEL_COMPOSITION',
  flavour: 'NXC_LABEL_FLAVOUR',
  host: 'NXC_LABEL_HOST',
  /** The deployment's run folder (QMP sockets, pid files), removed with the processes. */
  runDir: 'NXC_LABEL_RUN_DIR',
} as const;

/** What one labelled process belongs to. */
export interface ProcessLabels {
  project: string;
  composition: string;
  flavour: string;
  host?: string;
  runDir?: string;
}

/** The environment of a labelled process: this process's, plus the labels. */
export function labelledEnv(labels: ProcessLabels, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const [key, name] of Object.entries(PROCESS_LABEL)) {
    const value = labels[key as keyof ProcessLabels];
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** A process found by its labels. */
export interface LabelledProcess {
  pid: number;
  /** Start time in clock ticks since boot: with the pid, identifies the process for good. */
  startTime: number;
  argv: string[];
  labels: ProcessLabels;
}

function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const value = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** True while the process `pid` started at `startTime` runs (a recycled pid is another process). */
export function isSameProcess(pid: number, startTime: number): boolean {
  return cmdlineOf(pid) !== undefined && startTimeOf(pid) === startTime;
}

/**
 * This user's processes labelled with the project (and composition/flavour when given).
 * Processes of other users are never considered, even when readable (root).
 */
export function findLabelledProcesses(match: {
  project: string;
  composition?: string;
  flavour?: string;
}): LabelledProcess[] {
  const uid = process.getuid?.();
  const out: LabelledProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let environ: string;
    try {
      if (uid !== undefined && statSync(`/proc/${entry}`).uid !== uid) continue;
      environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
    } catch {
      continue;
    }
    if (!environ.includes(PROCESS_LABEL.project)) continue;
    const env = new Map<string, string>();
    for (const pair of environ.split('\0')) {
      const eq = pair.indexOf('=');
      if (eq > 0) env.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const labels: ProcessLabels = {
      project: env.get(PROCESS_LABEL.project) ?? '',
      composition: env.get(PROCESS_LABEL.composition) ?? '',
      flavour: env.get(PROCESS_LABEL.flavour) ?? '',
      ...(env.has(PROCESS_LABEL.host) ? { host: env.get(PROCESS_LABEL.host)! } : {}),
      ...(env.has(PROCESS_LABEL.runDir) ? { runDir: env.get(PROCESS_LABEL.runDir)! } : {}),
    };
    if (labels.project !== match.project) continue;
    if (match.composition !== undefined && labels.composition !== match.composition) continue;
    if (match.flavour !== undefined && labels.flavour !== match.flavour) continue;
    const argv = cmdlineOf(pid);
    const startTime = startTimeOf(pid);
    if (!argv || startTime === undefined) continue;
    out.push({ pid, startTime, argv, labels });
  }
  return out;
}
