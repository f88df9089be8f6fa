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

/** `dir`, its parent, ... up to the home directory (inclusive) or the filesystem root. */
function* ancestors(dir: string): Generator<string> {
  const home = homedir();
  let current = dir;
  while (true) {
    yield current;
    const parent = dirname(current);
    if (parent === current || current === home) return;
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
 * Finds and loads the project containing `cwd`. Walking up from `cwd` (to the home
 * directory, or `/` outside it), the first directory holding a config (`nxc.config.*`,
 * `.nxcrc*`, `package.json` with an `nxc` key, or a legacy `nxc.json`) is the root; both a
 * config and nxc.json there are merged (the config wins). Without any config, the root is
 * the nearest directory holding `flake.nix`, else `cwd` itself. A symlinked `nxc.json` (as the
 * original `nxc init` makes) designates the directory it points into.
 *
 * @throws NxcError `NXC_PROJECT` if `cwd` is not a directory; `NXC_CONFIG` for an invalid config.
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
  for (const dir of ancestors(start)) {
    const [found, legacy] = await Promise.all([findConfigIn(dir), findLegacyConfigIn(dir)]);
    if (!found && !legacy) continue;
    const config = await normalizeConfig(found, legacy);
    let root = dir;
    if (!found && legacy) root = dirname(await realpath(legacy.file));
    return makeProject(root, config, {
      ...(found ? { configFile: found.file } : {}),
      ...(legacy ? { legacyConfigFile: legacy.file } : {}),
    });
  }
  const config = await normalizeConfig();
  for (const dir of ancestors(start)) {
    if (await isFile(join(dir, 'flake.nix'))) return makeProject(dir, config);
  }
  return makeProject(start, config);
}
