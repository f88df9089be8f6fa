/**
 * A project: the directory holding the composition, its config and its state folders.
 * `loadProject` finds it from any working directory below it, like git finds its repo.
 */
import { realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type NxcConfig, findConfigIn, findLegacyConfigIn, normalizeConfig } from './config.js';
import { NxcError } from './errors.js';
import { errnoCode } from './validation.js';

/** A project directory and its state folders. */
export interface Project {
  /** Absolute path of the project directory (holds flake.nix / nxc config). */
  root: string;
  /** `build/` (compose info links). */
  buildDir: string;
  /** `deploy/` (deployment documents and runtime state). */
  deployDir: string;
  /** `artifact/` (per composition/flavour artifacts: logs, generated compose files). */
  artifactDir: string;
  /** The loaded config (see config.ts). */
  config: NxcConfig;
  /** Path of the config file, when one was found (nxc.config.*, .nxcrc*, package.json). */
  configFile?: string;
  /** Path of the original nxc's nxc.json, when one was found. */
  legacyConfigFile?: string;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * The folders where the project root is looked for: `dir`, its parent, ... up to the home
 * directory (inclusive) or `/`, never crossing into another file system or into a folder
 * owned by another user than you or root (like git's discovery, which stops at file system
 * boundaries and refuses other users' repositories).
 */
async function* searchFolders(dir: string): AsyncGenerator<string> {
  const home = homedir();
  const uid = process.getuid?.();
  let current = dir;
  let device = (await stat(current)).dev;
  while (true) {
    yield current;
    const parent = dirname(current);
    if (parent === current || current === home) return;
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(parent);
    } catch {
      return;
    }
    if (st.dev !== device) return;
    if (uid !== undefined && st.uid !== uid && st.uid !== 0) return;
    device = st.dev;
    current = parent;
  }
}

/** Builds a {@link Project} for a known root and config (used by loadProject and tests). */
export function makeProject(
  root: string,
  config: NxcConfig,
  files: { configFile?: string; legacyConfigFile?: string } = {},
): Project {
  return {
    root,
    buildDir: join(root, 'build'),
    deployDir: join(root, 'deploy'),
    artifactDir: join(root, 'artifact'),
    config,
    ...(files.configFile === undefined ? {} : { configFile: files.configFile }),
    ...(files.legacyConfigFile === undefined ? {} : { legacyConfigFile: files.legacyConfigFile }),
  };
}

/**
 * Finds and loads the project containing `cwd`: the nearest folder, walking up from `cwd`,
 * that holds a config (`nxc.config.*`, `.nxcrc*`, `package.json` with an `nxc` key, or a
 * legacy `nxc.json`) or a `flake.nix`; `cwd` itself when there is none. The walk stops at the
 * home directory, at a file system boundary and before a folder owned by another user (see
 * searchFolders); a config found must be yours (see file-trust.ts). A config and nxc.json in
 * one folder are merged (the config wins). A symlinked `nxc.json` (as the original
 * `nxc init` makes) designates the directory it points into.
 *
 * @throws NxcError `NXC_PROJECT` if `cwd` is not a directory; `NXC_CONFIG` for an invalid
 *   config, or one another user can write.
 */
export async function loadProject(cwd: string): Promise<Project> {
  const start = resolve(cwd);
  try {
    if (!(await stat(start)).isDirectory())
      throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (error) {
    throw new NxcError('NXC_PROJECT', `${start} is not a directory (${errnoCode(error) ?? 'unknown'})`, {
      hint: 'run nxc from the project directory, or pass an existing directory',
    });
  }
  for await (const dir of searchFolders(start)) {
    const [found, legacy] = await Promise.all([findConfigIn(dir), findLegacyConfigIn(dir)]);
    if (found || legacy) {
      const config = await normalizeConfig(found, legacy);
      let root = dir;
      if (!found && legacy) root = dirname(await realpath(legacy.file));
      return makeProject(root, config, {
        ...(found ? { configFile: found.file } : {}),
        ...(legacy ? { legacyConfigFile: legacy.file } : {}),
      });
    }
    // a flake without nxc config is a project too: nothing above it is looked at
    if (await isFile(join(dir, 'flake.nix'))) return makeProject(dir, await normalizeConfig());
  }
  return makeProject(start, await normalizeConfig());
}
