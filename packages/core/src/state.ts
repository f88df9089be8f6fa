/**
 * Where a project keeps its state (see docs/architecture.md, "Project layout and state"):
 * `build/<composition>::<flavour>` compose info links, `deploy/<composition>::<flavour>.json`
 * deployment documents and `.state.json` flavour state, `artifact/<composition>/<flavour>/`,
 * and `.nxc/` (SSH identity, generated Nix library).
 */
import { lstat, readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { withProjectLock } from './project-lock.js';
import type { Project } from './project.js';
import { errnoCode } from './validation.js';

/** `<composition>::<flavour>`, the key of every per-deployment file. */
export function deploymentKey(composition: string, flavour: string): string {
  return `${composition}::${flavour}`;
}

/** `build/<composition>::<flavour>`: the compose info link the build writes. */
export function composeInfoPath(project: Project, composition: string, flavour: string): string {
  return join(project.buildDir, deploymentKey(composition, flavour));
}

/** `deploy/<composition>::<flavour>.json`: the deployment document nodes read. */
export function deploymentPath(project: Project, composition: string, flavour: string): string {
  return join(project.deployDir, `${deploymentKey(composition, flavour)}.json`);
}

/** `deploy/<composition>::<flavour>.state.json`: the flavour's runtime state. */
export function statePath(project: Project, composition: string, flavour: string): string {
  return join(project.deployDir, `${deploymentKey(composition, flavour)}.state.json`);
}

/** `artifact/<composition>/<flavour>/`: logs, generated files, consoles. */
export function artifactDir(project: Project, composition: string, flavour: string): string {
  return join(project.artifactDir, composition, flavour);
}

/** `.nxc/`: per-project private state (SSH identity, generated Nix library). */
export function nxcDir(project: Project): string {
  return join(project.root, '.nxc');
}

/** `.nxc/ssh/`: the project's SSH identity. */
export function sshDir(project: Project): string {
  return join(nxcDir(project), 'ssh');
}

/** `.nxc/nixlib/`: generated copy of the Nix library and installed flavours' modules. */
export function nixLibDir(project: Project): string {
  return join(nxcDir(project), 'nixlib');
}

/** Options of {@link clean}. */
export interface CleanOptions {
  /** Also remove `.nxc/` (the project's SSH identity and generated Nix library). */
  all?: boolean;
}

/** What {@link clean} removed (absolute paths). */
export interface CleanResult {
  removed: string[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Removes the project's generated state: the links in `build/` (then `build/` if it is
 * empty: other files there are the user's), `deploy/`, `artifact/`, and with `all` `.nxc/`.
 *
 * It does not check whether a deployment is still running: its documents and state files
 * are removed all the same, after which `nxc stop` can no longer find what to stop (flavours
 * look for leftovers by label where they can). Callers that care (the CLI) stop first.
 * Holds the project lock: a start or stop running meanwhile makes it fail with `NXC_BUSY`.
 */
export function clean(project: Project, opts: CleanOptions = {}): Promise<CleanResult> {
  return withProjectLock(project, 'clean', async (lock) => {
    // deploy/ holds the lock itself: emptied now, removed when the lock is released
    const hadDeployDir = !lock.removeDirOnRelease;
    lock.removeDirOnRelease = true;
    return removeState(project, opts, hadDeployDir ? lock.file : undefined);
  });
}

async function removeState(
  project: Project,
  opts: CleanOptions,
  lockFile: string | undefined,
): Promise<CleanResult> {
  const removed: string[] = [];
  if (await exists(project.buildDir)) {
    for (const entry of await readdir(project.buildDir, { withFileTypes: true })) {
      if (entry.isSymbolicLink()) {
        const path = join(project.buildDir, entry.name);
        await unlink(path);
        removed.push(path);
      }
    }
    try {
      await rmdir(project.buildDir);
      removed.push(project.buildDir);
    } catch (error) {
      if (errnoCode(error) !== 'ENOTEMPTY' && errnoCode(error) !== 'EEXIST') throw error;
    }
  }
  if (lockFile) {
    for (const name of await readdir(project.deployDir)) {
      const path = join(project.deployDir, name);
      if (path !== lockFile) await rm(path, { recursive: true, force: true });
    }
    removed.push(project.deployDir);
  }
  const dirs = [project.artifactDir, ...(opts.all ? [nxcDir(project)] : [])];
  for (const dir of dirs) {
    if (await exists(dir)) {
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return { removed };
}
