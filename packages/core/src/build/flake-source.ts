/**
 * What of a project Nix copies into its store as the flake's source. Nix copies a flake's
 * whole directory, or every tracked file of its git repository, at each build where anything
 * changed: a project's `node_modules/` (tens of MB), nxc's own state (`.nxc/`, `build/`,
 * `deploy/`, `artifact/`) would go with it. So:
 * - in a git work tree, Nix reads git as usual (tracked files only, relative paths anywhere in
 *   the repository keep working) and nxc refuses to build while one of those folders is tracked;
 * - elsewhere, Nix reads a mirror of the project without those folders, `.nxc/source/`, kept
 *   up to date file by file (size, mtime and mode decide; mtimes are copied so Nix's
 *   `lastModified`, hence its evaluation cache, only changes when a file does).
 * The project's own flake.lock is the one Nix reads (the mirror holds a copy of it).
 */
import { existsSync } from 'node:fs';
import {
  chmod,
  copyFile,
  lstat,
  mkdir,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { NxcError } from '../errors.js';
import { nodeChildProcess, nodeUtil } from '../lazy-builtins.js';
import type { Project } from '../project.js';
import { nxcDir } from '../state.js';

/** Top-level folders of a project that never reach the store (`node_modules` at any depth). */
export const NOT_FLAKE_SOURCE = ['node_modules', '.nxc', 'deploy', 'artifact', 'build'] as const;

/** How the project's flake reaches Nix. */
export interface FlakeSource {
  /** `git`: Nix reads the repository; `mirror`: Nix reads `.nxc/source/`. */
  kind: 'git' | 'mirror';
  /** The flake reference of the installables: `.` (run in the project) or `path:<mirror>`. */
  ref: string;
  /** The directory Nix copies into the store: the git top level, or the mirror. */
  root: string;
}

const run = (file: string, args: string[], options: { cwd: string; maxBuffer: number }) =>
  nodeUtil().promisify(nodeChildProcess().execFile)(file, args, { ...options, encoding: 'utf8' });

/** The enclosing git work tree, found as Nix finds it: the nearest ancestor holding `.git`. */
export function gitWorkTree(dir: string): string | undefined {
  let current = dir;
  while (true) {
    if (existsSync(join(current, '.git'))) return current;
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/** The mirror folder of a project that is not in a git work tree. */
export function flakeMirrorDir(project: Project): string {
  return join(nxcDir(project), 'source');
}

/**
 * Decides how the project's flake reaches Nix and, unless `dryRun`, brings the mirror up to
 * date. @throws NxcError `NXC_PROJECT` when git tracks one of {@link NOT_FLAKE_SOURCE};
 * `NXC_NIX_ENV` when the project is in a git work tree and git is not installed.
 */
export async function prepareFlakeSource(
  project: Project,
  opts: { dryRun?: boolean } = {},
): Promise<FlakeSource> {
  const top = gitWorkTree(project.root);
  if (top) {
    // the tracked files change only with git's index: a build that finds the index as the
    // last passing check left it skips `git ls-files` (issue #17: a no-op build)
    const stampFile = join(nxcDir(project), 'git-index-checked');
    const stamp = await indexStamp(top);
    if (stamp === undefined || (await readFile(stampFile, 'utf8').catch(() => '')) !== stamp) {
      await refuseTrackedState(project.root);
      if (stamp !== undefined && !opts.dryRun)
        await mkdir(nxcDir(project), { recursive: true })
          .then(() => writeFile(stampFile, stamp))
          .catch(() => {}); // only a cache: the next build checks again
    }
    return { kind: 'git', ref: '.', root: top };
  }
  const mirror = flakeMirrorDir(project);
  if (!opts.dryRun) {
    try {
      await mirrorTree(project.root, mirror, true);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new NxcError(
        'NXC_IO',
        `cannot copy the project's sources to ${mirror}: ${e.path ?? ''} ${e.code ?? e.message}`.replace(
          / {2,}/g,
          ' ',
        ),
        {
          hint: `make the project readable and ${nxcDir(project)} writable by ${process.getuid?.() === 0 ? 'root' : 'you'}`,
          cause: error,
        },
      );
    }
  }
  return { kind: 'mirror', ref: `path:${mirror}`, root: mirror };
}

/**
 * What identifies the state of git's index of the work tree `top` (`.git/index`, or the
 * linked work tree's own index): its path, inode, size and times, or undefined when it cannot
 * be read (then the check runs every time). Git replaces the index file whenever it changes.
 */
async function indexStamp(top: string): Promise<string | undefined> {
  try {
    const dotGit = join(top, '.git');
    let gitDir = dotGit;
    if (!(await lstat(dotGit)).isDirectory()) {
      const m = /^gitdir: (.+)$/m.exec(await readFile(dotGit, 'utf8'));
      if (!m?.[1]) return undefined;
      gitDir = resolve(top, m[1].trim());
    }
    const index = join(gitDir, 'index');
    const s = await stat(index, { bigint: true });
    return JSON.stringify([index, String(s.ino), String(s.size), String(s.mtimeNs), String(s.ctimeNs)]);
  } catch {
    return undefined;
  }
}

async function refuseTrackedState(root: string): Promise<void> {
  const specs = [':(glob)**/node_modules/**', ...NOT_FLAKE_SOURCE.filter((d) => d !== 'node_modules')];
  let stdout: string;
  try {
    ({ stdout } = await run('git', ['ls-files', '-z', '--', ...specs], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    }));
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT')
      throw new NxcError(
        'NXC_NIX_ENV',
        `${root} is in a git repository and git is not installed (Nix reads the project through git)`,
        {
          hint: 'install git (Debian: apt-get install git)',
          exitCode: 3,
        },
      );
    throw new NxcError(
      'NXC_PROJECT',
      `${root}: git cannot list the repository's files (${
        String((error as { stderr?: string }).stderr ?? error)
          .trim()
          .split('\n')[0]
      })`,
      {
        hint: 'run `git status` in the project to see what is wrong',
      },
    );
  }
  const first = stdout.split('\0').find((f) => f !== '');
  if (!first) return;
  const parts = first.split('/');
  const nm = parts.indexOf('node_modules');
  const folder = (nm >= 0 ? parts.slice(0, nm + 1) : parts.slice(0, 1)).join('/');
  throw new NxcError(
    'NXC_PROJECT',
    `${folder}/ is tracked by git in ${root}: Nix would copy it into the store with the project's sources at every build`,
    { hint: `stop tracking it: git rm -r -q --cached ${folder} && echo '/${folder}/' >> .gitignore` },
  );
}

/** Makes `dst` a copy of `src` without the excluded folders; returns the number of changes. */
export async function mirrorTree(src: string, dst: string, top = false): Promise<number> {
  let changes = 0;
  await mkdir(dst, { recursive: true });
  const wanted = new Set<string>();
  for (const entry of await readdir(src, { withFileTypes: true })) {
    const name = entry.name;
    if (name === 'node_modules' || (top && (NOT_FLAKE_SOURCE as readonly string[]).includes(name))) continue;
    const from = join(src, name);
    const to = join(dst, name);
    const current = await lstat(to).catch(() => undefined);
    if (entry.isDirectory()) {
      wanted.add(name);
      if (current && !current.isDirectory()) await rm(to, { recursive: true, force: true });
      changes += await mirrorTree(from, to);
    } else if (entry.isSymbolicLink()) {
      wanted.add(name);
      const target = await readlink(from);
      if (current?.isSymbolicLink() && (await readlink(to)) === target) continue;
      if (current) await rm(to, { recursive: true, force: true });
      await symlink(target, to);
      changes++;
    } else if (entry.isFile()) {
      wanted.add(name);
      const st = await lstat(from);
      if (
        current?.isFile() &&
        current.size === st.size &&
        Math.abs(current.mtimeMs - st.mtimeMs) < 1 && // utimes keeps milliseconds, not nanoseconds
        (current.mode & 0o777) === (st.mode & 0o777)
      )
        continue;
      // removed first: a read-only copy cannot be overwritten by a non-root user
      if (current) await rm(to, { recursive: true, force: true });
      await copyFile(from, to);
      await chmod(to, st.mode & 0o777);
      await utimes(to, st.atime, st.mtime);
      changes++;
    }
    // sockets, fifos, devices: not sources
  }
  for (const name of await readdir(dst)) {
    if (wanted.has(name)) continue;
    await rm(join(dst, name), { recursive: true, force: true });
    changes++;
  }
  return changes;
}
