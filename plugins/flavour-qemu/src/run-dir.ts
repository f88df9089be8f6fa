/**
 * Run folders of the qemu deployments (QMP and segment sockets, pid files, QEMU's config with
 * the kernel command line, the served deployment). On a shared machine another user can create
 * any name in /tmp first, so a run folder is made by mkdtemp (0700, unpredictable) inside a
 * per-user base only its owner can enter: `$XDG_RUNTIME_DIR/nxc`, else `<tmpdir>/nxc-<uid>`.
 * A base that someone else holds is never used nor touched: the run folder then goes straight
 * into the temporary folder (still mkdtemp). stop finds run folders from the flavour state, and
 * leftovers of crashed starts in the base; nxc only ever removes folders its user owns.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';

const uid = (): number => process.getuid?.() ?? -1;

/** Why `dir` cannot serve as this user's private folder, or undefined when it can (made 0700). */
function notPrivate(dir: string): string | undefined {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return (e as NodeJS.ErrnoException).code;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) return st.isSymbolicLink() ? 'a symbolic link' : 'not a folder';
  if (st.uid !== uid()) return `owned by uid ${st.uid}`;
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return undefined;
}

/** The per-user base folder for run folders (not created). */
export function runBase(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg && isAbsolute(xdg) ? join(xdg, 'nxc') : join(tmpdir(), `nxc-${uid()}`);
}

/**
 * Creates the run folder of deployment `id`. `warning` says when the per-user base was not
 * usable (another user's folder in its place) and the run folder went to the temporary folder.
 */
export async function makeRunDir(id: string): Promise<{ path: string; warning?: string }> {
  const base = runBase();
  const why = notPrivate(base);
  if (why === undefined) return { path: await mkdtemp(join(base, `qemu-${id}-`)) };
  return {
    path: await mkdtemp(join(tmpdir(), 'nxc-qemu-')),
    warning: `${base} is not a private folder of yours (${why}): run folder created in ${tmpdir()} instead; remove ${base} if it is stale, or set XDG_RUNTIME_DIR`,
  };
}

/** Names mkdtemp gave run folders (this version's, the fallback's and earlier versions'). */
const RUN_DIR_NAME = /^(?:qemu-[0-9a-f]{12}-|nxc-qemu-(?:[0-9a-f]{12}-)?)[A-Za-z0-9]{6}$/;

/** True when `dir` is a real folder (not a link) owned by this user. */
function ours(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === uid();
  } catch {
    return false;
  }
}

/**
 * Removes the run folders of deployment `id`: `known` (from the state) and leftovers of
 * crashed starts in the per-user base. Folders of other users are left alone.
 */
export function removeRunDirs(id: string, known?: string): void {
  const dirs = new Set<string>();
  // the state file is only data: never remove a folder that is not named like a run folder
  if (known && isAbsolute(known) && RUN_DIR_NAME.test(basename(known))) dirs.add(known);
  const base = runBase();
  if (ours(base)) {
    try {
      for (const e of readdirSync(base)) if (e.startsWith(`qemu-${id}-`)) dirs.add(join(base, e));
    } catch {
      /* base unreadable: nothing of ours there */
    }
  }
  for (const d of dirs) if (ours(d)) rmSync(d, { recursive: true, force: true });
}

/** True when `dir` is named like a run folder and is a real folder of this user's. */
export function isRunDir(dir: string): boolean {
  return isAbsolute(dir) && RUN_DIR_NAME.test(basename(dir)) && ours(dir);
}

/**
 * Every run folder of this user's, of any deployment: in the per-user base and, for the
 * fallback, in the temporary folder (stop reads their owner files to find the project's).
 */
export function ownRunDirs(): string[] {
  const out: string[] = [];
  const base = runBase();
  for (const dir of ours(base) ? [base, tmpdir()] : [tmpdir()]) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const e of entries) if (isRunDir(join(dir, e))) out.push(join(dir, e));
  }
  return out;
}

/** Run folders of deployment `id` left in the per-user base (tests: "nothing left behind"). */
export function leftoverRunDirs(id: string): string[] {
  const base = runBase();
  try {
    return readdirSync(base)
      .filter((e) => e.startsWith(`qemu-${id}-`))
      .map((e) => join(base, e));
  } catch {
    return [];
  }
}
