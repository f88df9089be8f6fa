/**
 * One writer per project: `start`, `stop` and `clean` take `deploy/.lock` before they change a
 * deployment, so two of them never undo each other's work (a start's cleanup removing the
 * containers and document of a start running beside it).
 *
 * Per project rather than per deployment because stop's recovery and clean act on every
 * deployment of the project, and because commands pick their deployment ("the only one",
 * "the newest build") by reading deploy/ and build/, which must not change meanwhile.
 *
 * The lock file names its holder (pid, process start time, host, command). A holder that died
 * without releasing it (SIGKILL, power loss) is detected on this machine by its pid no longer
 * running, or running with another start time (a recycled pid), and the lock is taken over.
 * A holder on another machine (a project folder shared over NFS) cannot be checked: its lock
 * is respected until removed by hand.
 */
import { readFileSync } from 'node:fs';
import { link, mkdir, open, readFile, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { NxcError } from './errors.js';
import { nodeCrypto } from './lazy-builtins.js';
import type { Project } from './project.js';
import { displayPath, errnoCode } from './validation.js';

/** Who holds a project's lock: the content of `deploy/.lock`. */
export interface LockHolder {
  pid: number;
  /** Start time of `pid` in clock ticks since boot (`/proc/PID/stat`), when known. */
  startTime?: number;
  /** Host name of the machine the holder runs on. */
  host: string;
  /** What the holder is doing, e.g. `start composition::docker`. */
  operation: string;
  /** The holder's command line, for humans (`nxc start -f docker`). */
  command: string;
  /** When it took the lock (ISO 8601). */
  since: string;
  /** Unique per acquisition: release removes the lock only if it is still this one. */
  token: string;
}

/** A held project lock. */
export interface ProjectLock {
  /** Path of the lock file. */
  readonly file: string;
  readonly holder: LockHolder;
  /**
   * Also remove `deploy/` on release when nothing else is left in it (set when the lock
   * created the folder, so that a stop in a fresh project leaves no empty folder; `clean`
   * sets it).
   */
  removeDirOnRelease: boolean;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

/** `deploy/.lock`. */
export function projectLockPath(project: Project): string {
  return join(project.deployDir, '.lock');
}

/** Locks this process holds, by file (a second acquisition in the same process is busy too). */
const held = new Map<string, string>();

/** Start time (clock ticks since boot) of a live pid, from /proc; undefined when unknown. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after "(comm)": state is field 3, starttime field 22
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const value = Number(fields[19]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/** True when the holder certainly no longer runs (only decidable on the same machine). */
function isStale(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return !held.has(holder.token);
  if (!pidAlive(holder.pid)) return true;
  if (holder.startTime === undefined) return false;
  const now = processStartTime(holder.pid);
  return now !== undefined && now !== holder.startTime;
}

function describeCommand(): string {
  const [, script, ...args] = process.argv;
  const name = script && /(^|\/)(cli\.js|nxc)$/.test(script) ? 'nxc' : basename(script ?? 'node');
  return [name, ...args].join(' ');
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.token !== 'string') return undefined;
    return {
      pid: h.pid,
      ...(typeof h.startTime === 'number' ? { startTime: h.startTime } : {}),
      host: String(h.host ?? ''),
      operation: String(h.operation ?? 'unknown'),
      command: String(h.command ?? ''),
      since: String(h.since ?? ''),
      token: h.token,
    };
  } catch {
    return undefined;
  }
}

/** The current holder of the project's lock, if any (unreadable lock files count as none). */
export async function readLockHolder(project: Project): Promise<LockHolder | undefined> {
  try {
    return parseHolder(await readFile(projectLockPath(project), 'utf8'));
  } catch {
    return undefined;
  }
}

function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? 'an unknown time' : d.toTimeString().slice(0, 8);
}

function busyError(project: Project, file: string, holder: LockHolder): NxcError {
  const here = holder.host === hostname();
  const who = holder.pid === process.pid && here ? 'this process' : `pid ${holder.pid}`;
  const where = here ? '' : ` on ${holder.host || 'another machine'}`;
  return new NxcError(
    'NXC_BUSY',
    `${project.root} is busy: ${who}${where} is running \`${holder.operation}\` (${holder.command}) since ${clock(holder.since)}`,
    {
      hint: here
        ? `wait for it to finish, or interrupt it (\`kill ${holder.pid}\`): its lock goes with it`
        : `if that command is no longer running, remove ${displayPath(file)}`,
    },
  );
}

/**
 * Removes a stale lock whose content is `staleText`, unless someone replaced it meanwhile
 * (two processes breaking one lock at once are serialized by a short-lived breaker file).
 */
async function breakStale(file: string, staleText: string): Promise<void> {
  const breaker = `${file}.break`;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(breaker, 'wx');
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
    // another process is breaking it right now; a breaker left by a crash is old
    const age = await stat(breaker).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > 10_000) await unlink(breaker).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 20));
    return;
  }
  try {
    await handle.close();
    const current = await readFile(file, 'utf8').catch(() => undefined);
    if (current === staleText) await unlink(file).catch(() => undefined);
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

/** Creates `file` only if it does not exist; false when it does. */
async function createExclusive(file: string, content: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'wx', 0o644);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST' || errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Takes the project's lock for `operation` (e.g. `start composition::docker`), or fails at once
 * with `NXC_BUSY` naming the command and pid that hold it. Takes over a lock whose holder died.
 */
export async function lockProject(project: Project, operation: string): Promise<ProjectLock> {
  const file = projectLockPath(project);
  const startTime = processStartTime(process.pid);
  const holder: LockHolder = {
    pid: process.pid,
    ...(startTime === undefined ? {} : { startTime }),
    host: hostname(),
    operation,
    command: describeCommand(),
    since: new Date().toISOString(),
    token: nodeCrypto().randomBytes(8).toString('hex'),
  };
  let createdDir = false;
  for (let attempt = 0; ; attempt++) {
    try {
      createdDir = (await mkdir(project.deployDir, { recursive: true })) !== undefined || createdDir;
    } catch (error) {
      throw new NxcError('NXC_IO', `cannot create ${displayPath(project.deployDir)} (${errnoCode(error)})`, {
        hint: 'check that the project folder is writable',
        cause: error,
      });
    }
    // The lock appears with its content in one step: written aside, then hard-linked into
    // place (link fails if the lock exists, also over NFS), so a reader never sees it empty.
    const content = `${JSON.stringify(holder)}\n`;
    const draft = `${file}.${process.pid}.${holder.token}`;
    let linked = false;
    try {
      await writeFile(draft, content, { mode: 0o644 });
      await link(draft, file);
      linked = true;
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
        // no hard links here (some FUSE file systems): exclusive create, content right after
        linked = await createExclusive(file, content);
      } else if (code !== 'EEXIST' && code !== 'ENOENT') {
        throw error;
      }
    } finally {
      await unlink(draft).catch(() => undefined);
    }
    if (linked) break;
    if (attempt >= 20) {
      throw new NxcError('NXC_BUSY', `cannot take ${displayPath(file)}: it keeps changing`, {
        hint: 'another nxc command is starting or stopping in this project: try again',
      });
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') continue; // released meanwhile
      throw error;
    }
    const current = parseHolder(text);
    if (!current) {
      // locks are never written in place, so this one is damaged (or not nxc's): judged by its age
      const age = await stat(file).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age < 5_000) await new Promise((r) => setTimeout(r, 50));
      else await breakStale(file, text);
      continue;
    }
    if (!isStale(current)) throw busyError(project, file, current);
    await breakStale(file, text);
  }
  held.set(holder.token, file);
  let released = false;
  const lock: ProjectLock = {
    file,
    holder,
    removeDirOnRelease: createdDir,
    async release() {
      if (released) return;
      released = true;
      held.delete(holder.token);
      const current = parseHolder(await readFile(file, 'utf8').catch(() => ''));
      if (current?.token === holder.token) await unlink(file).catch(() => undefined);
      if (lock.removeDirOnRelease) await rmdir(project.deployDir).catch(() => undefined);
    },
  };
  return lock;
}

/** Runs `fn` holding the project's lock (see {@link lockProject}); releases it whatever happens. */
export async function withProjectLock<T>(
  project: Project,
  operation: string,
  fn: (lock: ProjectLock) => Promise<T>,
): Promise<T> {
  const lock = await lockProject(project, operation);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}
