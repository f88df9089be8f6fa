/**
 * Flavour plugin loading. The CLI installs nothing: it loads the packages the project names
 * (config `plugins`, else the `@nxc/flavour-*` / `nxc-flavour-*` dependencies of the
 * project's package.json) from the PROJECT's node_modules, so a globally installed CLI and
 * pnpm's isolated layout both work. Plugins are imported only when {@link loadFlavours} runs.
 */
import { readFileSync, statSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { NxcError } from './errors.js';
import { untrustedFile } from './file-trust.js';
import { flagSpelling, optionNames } from './flavour-options.js';
import { lazy } from './lazy.js';
import { pathExists, pathExistsSync } from './path-exists.js';
import type { Project } from './project.js';
import { FLAVOUR_API_VERSION, type Flavour, type FlavourFlag, type FlavourPlugin } from './transposition.js';
import { closest, displayPath, errnoCode, firstLine, formatZodError } from './validation.js';

/** Where a loaded plugin came from. */
export interface PluginSource {
  /** Package name (from its package.json), or the plugin's own `name` for a plain file. */
  name: string;
  /** Package version, when loaded from a package. */
  version?: string;
  /** The plugin as the config (or package.json) names it: package name or relative path. */
  spec: string;
  /** Absolute path of the module that was imported. */
  entry: string;
}

/** A flavour with the plugin that provides it. Methods delegate to the plugin's object. */
export interface LoadedFlavour extends Flavour {
  plugin: PluginSource;
}

/** The flavours the project's plugins provide. */
export interface FlavourRegistry {
  /** Every flavour, in plugin order. */
  list(): LoadedFlavour[];
  /** True when some plugin provides `name`. */
  has(name: string): boolean;
  /**
   * The flavour called `name`.
   * @throws NxcError `NXC_FLAVOUR_UNKNOWN` listing the installed flavours and, for a known
   *   nxc flavour, the package that provides it.
   */
  get(name: string): LoadedFlavour;
  /** The plugins that were loaded. */
  plugins: PluginSource[];
}

/** Which package provides each flavour nxc ships (for "how to install it" hints). */
export const BUILTIN_FLAVOUR_PACKAGES: Readonly<Record<string, string>> = {
  docker: '@nxc/flavour-docker',
  'vm-ramdisk': '@nxc/flavour-qemu',
  vm: '@nxc/flavour-qemu',
  'g5k-ramdisk': '@nxc/flavour-g5k-ramdisk',
  'g5k-nfs-store': '@nxc/flavour-g5k-nfs-store',
  'g5k-image': '@nxc/flavour-g5k-image',
};

const PLUGIN_NAME = /^(@nxc\/flavour-|nxc-flavour-|@[^/]+\/nxc-flavour-)/;

const isFunction = (what: string) =>
  z.custom<(...args: unknown[]) => unknown>(
    (v) => typeof v === 'function',
    `expected ${what} to be a function`,
  );

/** The module a plugin exports, checked when loaded: built on first use (issue #17). */
const pluginSchema = lazy(() => {
  const flavourSchema = z
    .object({
      name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected lowercase letters, digits and dashes'),
      description: z.string(),
      build: z
        .object({
          image: z.enum(['docker', 'ramdisk', 'vm', 'remote-store', 'tarball']),
          nixModule: z.string().optional(),
          distribution: z.enum(['per-role', 'all-in-one']).optional(),
        })
        .passthrough(),
      options: z
        .custom<{ safeParse: unknown }>(
          (v) =>
            typeof v === 'object' &&
            v !== null &&
            typeof (v as { safeParse?: unknown }).safeParse === 'function',
          'expected a zod schema',
        )
        .optional(),
      flags: z
        .array(
          z
            .object({
              flag: z.string().refine(
                (f) => {
                  try {
                    flagSpelling(f);
                    return true;
                  } catch {
                    return false;
                  }
                },
                { message: 'expected "--name <value>" or "-n, --name"' },
              ),
              option: z.string().min(1),
              type: z.enum(['boolean', 'string', 'number']),
              description: z.string(),
            })
            .refine((f) => f.flag.includes('<') === (f.type !== 'boolean'), {
              message: 'a boolean flag takes no <value>, a string or number flag takes one',
            }),
        )
        .optional(),
      usable: isFunction('usable').optional(),
      disks: z.boolean().optional(),
      deployer: isFunction('deployer'),
    })
    .passthrough();

  return z
    .object({
      apiVersion: z.number().int(),
      name: z.string().min(1),
      flavours: z.array(flavourSchema).min(1, 'a plugin provides at least one flavour'),
    })
    .passthrough();
});

/** What changed since each older flavour API, for the loader's message. */
const API_CHANGES: Readonly<Record<number, string>> = {
  1: 'flavour API 2 gives each flavour an `options` schema and `flags` (parsed options arrive typed in ctx.options; CLI flags are no longer nxc\'s), a `stateSchema` on the deployer, and `retryFailed` as a deployer member (see docs/writing-a-flavour.md, "From API 1 to 2")',
};

/** `pnpm add -D x` / `yarn add -D x` / `npm install -D x`, from the lockfile near the project. */
export async function installCommand(projectRoot: string, name: string): Promise<string> {
  let dir = projectRoot;
  while (true) {
    if (await pathExists(join(dir, 'pnpm-lock.yaml'))) return `pnpm add -D ${name}`;
    if (await pathExists(join(dir, 'yarn.lock'))) return `yarn add -D ${name}`;
    if ((await pathExists(join(dir, 'bun.lockb'))) || (await pathExists(join(dir, 'bun.lock'))))
      return `bun add -d ${name}`;
    if (
      (await pathExists(join(dir, 'package-lock.json'))) ||
      (await pathExists(join(dir, 'npm-shrinkwrap.json')))
    ) {
      return `npm install -D ${name}`;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  try {
    const pkg = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as {
      packageManager?: unknown;
    };
    const pm = typeof pkg.packageManager === 'string' ? pkg.packageManager.split('@')[0] : undefined;
    if (pm === 'pnpm') return `pnpm add -D ${name}`;
    if (pm === 'yarn') return `yarn add -D ${name}`;
  } catch {
    // no package.json: npm is the default
  }
  return `npm install -D ${name}`;
}

/** Resolves a package.json `exports` entry for ".", with the `import`/`node`/`default` conditions. */
function exportTarget(exp: unknown): string | undefined {
  if (typeof exp === 'string') return exp;
  if (Array.isArray(exp)) {
    for (const item of exp) {
      const t = exportTarget(item);
      if (t !== undefined) return t;
    }
    return undefined;
  }
  if (typeof exp === 'object' && exp !== null) {
    const record = exp as Record<string, unknown>;
    if (Object.keys(record).some((k) => k.startsWith('.')))
      return '.' in record ? exportTarget(record['.']) : undefined;
    for (const condition of ['import', 'node', 'default']) {
      if (condition in record) {
        const t = exportTarget(record[condition]);
        if (t !== undefined) return t;
      }
    }
  }
  return undefined;
}

interface Resolved {
  spec: string;
  entry: string;
  name?: string;
  version?: string;
  /** The package's static manifest (package.json `nxcPlugin`), when it has one. */
  manifest?: PluginManifest;
  /** The package's directory (relative `nixModule` paths of the manifest start there). */
  dir?: string;
}

/**
 * What a plugin package declares about its flavours in its package.json (`nxcPlugin`), so
 * that listing them (`nxc flavours`, `nxc start --help`, the Nix library of `nxc build`)
 * imports no plugin code. It must equal what the module exports ({@link pluginManifest}):
 * when the plugin is imported and they disagree, loading fails with `NXC_PLUGIN_INVALID`.
 */
export interface PluginManifest {
  /** The flavour API the module was written for. */
  apiVersion: number;
  /** The plugin's `name`. */
  name: string;
  /** Per flavour, in the module's order. */
  flavours: Record<string, FlavourManifest>;
}

/** One flavour of a {@link PluginManifest}. */
export interface FlavourManifest {
  description: string;
  image: Flavour['build']['image'];
  distribution?: 'per-role' | 'all-in-one';
  /** Path of the flavour's NixOS module, relative to the package directory (`nix/docker.nix`). */
  nixModule?: string;
  /** Names of the flavour's options (keys of its `options` schema). */
  options?: string[];
  /** Its `nxc start` flags, as in the module. */
  flags?: FlavourFlag[];
}

/** A flavour as listing needs it: read from a manifest, or from the imported module. */
export interface FlavourDescription {
  name: string;
  description: string;
  build: { image: Flavour['build']['image']; distribution?: 'per-role' | 'all-in-one'; nixModule?: string };
  /** Names of its options. */
  options: string[];
  flags?: FlavourFlag[];
  plugin: PluginSource;
}

const manifestSchema = lazy(() =>
  z
    .object({
      apiVersion: z.number().int(),
      name: z.string().min(1),
      flavours: z.record(
        z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected lowercase letters, digits and dashes'),
        z
          .object({
            description: z.string(),
            image: z.enum(['docker', 'ramdisk', 'vm', 'remote-store', 'tarball']),
            distribution: z.enum(['per-role', 'all-in-one']).optional(),
            nixModule: z.string().optional(),
            options: z.array(z.string()).optional(),
            flags: z
              .array(
                z
                  .object({
                    flag: z.string(),
                    option: z.string(),
                    type: z.enum(['boolean', 'string', 'number']),
                    description: z.string(),
                  })
                  .strict(),
              )
              .optional(),
          })
          .strict(),
      ),
    })
    .strict(),
);

/**
 * The manifest of a plugin as its module defines it: what a plugin package puts in its
 * package.json under `nxcPlugin` (`packageDir` makes `nixModule` paths relative).
 */
export function pluginManifest(plugin: FlavourPlugin, packageDir: string): PluginManifest {
  const flavours: Record<string, FlavourManifest> = {};
  for (const f of plugin.flavours) {
    const options = optionNames(f.options);
    flavours[f.name] = {
      description: f.description,
      image: f.build.image,
      ...(f.build.distribution ? { distribution: f.build.distribution } : {}),
      ...(f.build.nixModule
        ? { nixModule: relative(packageDir, resolve(packageDir, f.build.nixModule)).split(sep).join('/') }
        : {}),
      ...(options && options.length > 0 ? { options: [...options] } : {}),
      ...(f.flags && f.flags.length > 0
        ? {
            flags: f.flags.map((g) => ({
              flag: g.flag,
              option: g.option,
              type: g.type,
              description: g.description,
            })),
          }
        : {}),
    };
  }
  return { apiVersion: plugin.apiVersion, name: plugin.name, flavours };
}

/** The first difference between two manifests (a path and both values), or undefined. */
function manifestDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    if (Array.isArray(a) !== Array.isArray(b)) return path;
    const ka = Object.keys(a).join(',');
    const kb = Object.keys(b).join(',');
    if (!Array.isArray(a) && path === 'flavours' && ka !== kb) return `${path} (${ka} vs ${kb})`;
    for (const k of keys) {
      const d = manifestDifference(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        path ? `${path}.${k}` : k,
      );
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : path;
}

/** Entry module of the package in `dir` (package.json `exports["."]`, else `main`, else index.js). */
async function packageEntry(dir: string, spec: string): Promise<Resolved> {
  let pkg: { name?: unknown; version?: unknown; exports?: unknown; main?: unknown; nxcPlugin?: unknown };
  try {
    pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof pkg;
  } catch (error) {
    throw new NxcError(
      'NXC_PLUGIN_INVALID',
      `plugin "${spec}": cannot read ${join(dir, 'package.json')} (${firstLine(error)})`,
      {
        hint: 'reinstall the package',
      },
    );
  }
  const name = typeof pkg.name === 'string' ? pkg.name : spec;
  let target: string | undefined;
  if (pkg.exports !== undefined) {
    target = exportTarget(pkg.exports);
    if (target === undefined) {
      throw new NxcError(
        'NXC_PLUGIN_INVALID',
        `plugin "${name}": its package.json exports no "." entry with an import condition`,
        {
          hint: 'the package is not an nxc flavour plugin, or it is broken',
        },
      );
    }
  } else {
    target = typeof pkg.main === 'string' ? pkg.main : 'index.js';
  }
  const entry = resolve(dir, target);
  if (!pathExistsSync(entry)) {
    throw new NxcError('NXC_PLUGIN_INVALID', `plugin "${name}": its entry ${entry} does not exist`, {
      hint: 'build the package (workspace) or reinstall it',
    });
  }
  let manifest: PluginManifest | undefined;
  if (pkg.nxcPlugin !== undefined) {
    const checked = manifestSchema().safeParse(pkg.nxcPlugin);
    if (!checked.success)
      throw new NxcError(
        'NXC_PLUGIN_INVALID',
        `plugin "${name}": ${join(dir, 'package.json')}: nxcPlugin: ${formatZodError(checked.error)}`,
        { hint: 'report it to the plugin authors (the manifest is generated from the module)' },
      );
    manifest = checked.data as PluginManifest;
  }
  return {
    spec,
    entry,
    name,
    dir,
    ...(typeof pkg.version === 'string' ? { version: pkg.version } : {}),
    ...(manifest ? { manifest } : {}),
  };
}

function isPathSpec(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..' || isAbsolute(spec);
}

async function resolvePlugin(
  spec: string,
  project: Project,
  listedIn: string,
  discovered: boolean,
): Promise<Resolved> {
  if (isPathSpec(spec)) {
    const base = project.configFile ? dirname(project.configFile) : project.root;
    const path = resolve(base, spec);
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new NxcError(
        'NXC_PLUGIN_MISSING',
        `plugin "${spec}" (listed in ${listedIn}) does not exist: ${path}`,
        {
          hint: `fix the path in ${listedIn} (relative paths start from the config file's directory)`,
        },
      );
    }
    return isDir ? packageEntry(path, spec) : { spec, entry: path };
  }
  if (!/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(spec)) {
    throw new NxcError(
      'NXC_CONFIG',
      `${listedIn}: plugins: "${spec}" is neither a package name nor a relative path`,
      {
        hint: 'write a package name (@nxc/flavour-docker) or a path starting with ./',
      },
    );
  }
  let dir = project.root;
  while (true) {
    const candidate = join(dir, 'node_modules', spec);
    if (pathExistsSync(join(candidate, 'package.json'))) return packageEntry(candidate, spec);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const install = await installCommand(project.root, spec);
  throw new NxcError(
    'NXC_PLUGIN_MISSING',
    discovered
      ? `flavour plugin "${spec}" is listed in ${listedIn} but not installed`
      : `flavour plugin "${spec}" (listed in ${listedIn}) is not installed in ${project.root}`,
    {
      hint: discovered
        ? `install the project's dependencies (e.g. \`${install.split(' ')[0]} install\`)`
        : `install it: \`${install}\``,
    },
  );
}

async function importPlugin(resolved: Resolved): Promise<{ plugin: FlavourPlugin; source: PluginSource }> {
  const label = resolved.name ?? resolved.spec;
  // Package names resolve up to `/` (as Node does): /tmp/node_modules/x may be another user's.
  const why = await untrustedFile(resolved.entry);
  if (why) {
    throw new NxcError(
      'NXC_PLUGIN_INVALID',
      `plugin "${label}": ${displayPath(resolved.entry)} ${why}: nxc does not load code another user can write (it would run as you)`,
      { hint: `install ${label} in your project's node_modules, or fix the owner and mode of its files` },
    );
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolved.entry).href)) as Record<string, unknown>;
  } catch (error) {
    throw new NxcError('NXC_PLUGIN_INVALID', `plugin "${label}" failed to load: ${firstLine(error)}`, {
      hint: `reinstall it, or check ${displayPath(resolved.entry)}`,
      cause: error,
    });
  }
  let value: unknown = 'default' in mod ? mod.default : mod;
  if (typeof value === 'function') {
    try {
      value = await (value as () => unknown)();
    } catch (error) {
      throw new NxcError('NXC_PLUGIN_INVALID', `plugin "${label}": its factory threw: ${firstLine(error)}`, {
        hint: 'report it to the plugin authors',
        cause: error,
      });
    }
  }
  if (typeof value !== 'object' || value === null) {
    throw new NxcError(
      'NXC_PLUGIN_INVALID',
      `plugin "${label}" does not export a flavour plugin (got ${value === null ? 'null' : typeof value})`,
      {
        hint: 'a plugin default-exports defineFlavourPlugin({ apiVersion, name, flavours }) or a factory returning it',
      },
    );
  }
  const apiVersion = (value as { apiVersion?: unknown }).apiVersion;
  if (typeof apiVersion === 'number' && apiVersion !== FLAVOUR_API_VERSION) {
    throw new NxcError(
      'NXC_PLUGIN_API',
      `plugin "${label}"${resolved.version ? ` ${resolved.version}` : ''} was written for flavour API ${apiVersion}, this nxc has flavour API ${FLAVOUR_API_VERSION}`,
      {
        hint:
          apiVersion > FLAVOUR_API_VERSION
            ? `upgrade nxc (@nxc/core and @nxc/cli), or install a version of ${label} made for API ${FLAVOUR_API_VERSION}`
            : `upgrade ${label} to a version made for API ${FLAVOUR_API_VERSION}${API_CHANGES[apiVersion] ? `; for its authors: ${API_CHANGES[apiVersion]}` : ''}`,
      },
    );
  }
  const checked = pluginSchema().safeParse(value);
  if (!checked.success) {
    throw new NxcError(
      'NXC_PLUGIN_INVALID',
      `plugin "${label}" is not a valid flavour plugin: ${formatZodError(checked.error)}`,
      {
        hint: 'a plugin default-exports defineFlavourPlugin({ apiVersion, name, flavours: [{ name, description, build, deployer }] })',
      },
    );
  }
  const plugin = value as FlavourPlugin;
  for (const flavour of plugin.flavours) {
    const names = optionNames(flavour.options);
    const stray = flavour.flags?.find((f) => !names?.includes(f.option));
    if (stray) {
      throw new NxcError(
        'NXC_PLUGIN_INVALID',
        `plugin "${label}": flavour ${flavour.name}'s flag ${stray.flag} sets option "${stray.option}", which its options schema does not have`,
        { hint: 'report it to the plugin authors' },
      );
    }
  }
  if (resolved.manifest && resolved.dir) {
    // Node imports the real file: its import.meta.url, hence its nixModule, is the real path
    const dir = await realpath(resolved.dir).catch(() => resolved.dir as string);
    const diff = manifestDifference(resolved.manifest, pluginManifest(plugin, dir), '');
    if (diff)
      throw new NxcError(
        'NXC_PLUGIN_INVALID',
        `plugin "${label}": the manifest in its package.json (nxcPlugin) disagrees with its module at ${diff}`,
        {
          hint: 'reinstall the package; for its authors: regenerate the manifest from the built module (pluginManifest() of @nxc/core)',
        },
      );
  }
  return {
    plugin,
    source: {
      name: resolved.name ?? plugin.name,
      ...(resolved.version === undefined ? {} : { version: resolved.version }),
      spec: resolved.spec,
      entry: resolved.entry,
    },
  };
}

/** The plugins to load, and where they were named (for messages). */
async function pluginSpecs(
  project: Project,
): Promise<{ specs: string[]; listedIn: string; discovered: boolean }> {
  if (project.config.plugins.length > 0) {
    return {
      specs: project.config.plugins,
      listedIn: displayPath(project.configFile ?? project.root),
      discovered: false,
    };
  }
  const file = join(project.root, 'package.json');
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { specs: [], listedIn: displayPath(file), discovered: true };
    throw new NxcError('NXC_CONFIG', `${displayPath(file)}: cannot read it (${firstLine(error)})`, {
      hint: 'fix the JSON syntax',
    });
  }
  const specs: string[] = [];
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const deps = pkg[field];
    if (typeof deps !== 'object' || deps === null) continue;
    for (const name of Object.keys(deps))
      if (PLUGIN_NAME.test(name) && !specs.includes(name)) specs.push(name);
  }
  return { specs, listedIn: displayPath(file), discovered: true };
}

/** A plugin's name, with where it came from when another plugin has the same name. */
function describePlugin(plugin: PluginSource, other: PluginSource): string {
  return plugin.name === other.name ? `${plugin.name} (${plugin.spec} -> ${plugin.entry})` : plugin.name;
}

function delegate(flavour: Flavour, plugin: PluginSource): LoadedFlavour {
  const usable = flavour.usable;
  return {
    name: flavour.name,
    description: flavour.description,
    build: flavour.build,
    ...(flavour.options ? { options: flavour.options } : {}),
    ...(flavour.flags ? { flags: flavour.flags } : {}),
    ...(flavour.disks ? { disks: true } : {}),
    ...(usable ? { usable: (ctx: { project: Project }) => usable.call(flavour, ctx) } : {}),
    deployer: () => flavour.deployer(),
    plugin,
  };
}

/**
 * Loads the project's flavour plugins: config `plugins` (package names resolved from the
 * project's node_modules upwards, or paths relative to the config file), or when the config
 * names none, the `@nxc/flavour-*` and `nxc-flavour-*` dependencies of the project's
 * package.json. Each default export (or factory result) is validated and its `apiVersion`
 * checked against {@link FLAVOUR_API_VERSION}.
 *
 * @throws NxcError `NXC_PLUGIN_MISSING` (not installed, with the install command),
 *   `NXC_PLUGIN_INVALID` (does not load, bad shape), `NXC_PLUGIN_API` (other API version),
 *   `NXC_FLAVOUR_CONFLICT` (two plugins provide one flavour).
 */
export async function loadFlavours(project: Project): Promise<FlavourRegistry> {
  const { specs, listedIn, discovered } = await pluginSpecs(project);
  const resolved = await Promise.all(specs.map((spec) => resolvePlugin(spec, project, listedIn, discovered)));
  // A plugin named twice (or by name and by path) is loaded once.
  const unique = [...new Map(resolved.map((r) => [r.entry, r])).values()];
  const imported = await Promise.all(unique.map(importPlugin));
  const flavours = new Map<string, LoadedFlavour>();
  for (const { plugin, source } of imported) {
    for (const flavour of plugin.flavours) {
      const other = flavours.get(flavour.name);
      if (other) {
        throw new NxcError(
          'NXC_FLAVOUR_CONFLICT',
          `flavour "${flavour.name}" is provided by both ${describePlugin(other.plugin, source)} and ${describePlugin(source, other.plugin)}`,
          { hint: `keep only one of them in ${listedIn}` },
        );
      }
      flavours.set(flavour.name, delegate(flavour, source));
    }
  }
  const all = [...flavours.values()];
  const installPrefix = (await installCommand(project.root, '')).trimEnd();
  return {
    plugins: imported.map((i) => i.source),
    list: () => [...all],
    has: (name) => flavours.has(name),
    get(name) {
      const found = flavours.get(name);
      if (found) return found;
      const installed =
        all.length > 0 ? `installed: ${all.map((f) => f.name).join(', ')}` : 'no flavour plugin is installed';
      const pkg = BUILTIN_FLAVOUR_PACKAGES[name];
      const guess = closest(name, [...flavours.keys(), ...Object.keys(BUILTIN_FLAVOUR_PACKAGES)]);
      const addToConfig =
        !discovered && project.configFile ? `, and add it to plugins in ${basename(project.configFile)}` : '';
      throw new NxcError('NXC_FLAVOUR_UNKNOWN', `no plugin provides flavour "${name}" (${installed})`, {
        hint: pkg
          ? `flavour ${name} is in ${pkg}: install it with \`${installPrefix} ${pkg}\`${addToConfig}`
          : guess
            ? `did you mean "${guess}"?`
            : 'check the flavour name, or install the plugin that provides it (`nxc flavours` lists the installed ones)',
      });
    },
  };
}

function describeLoaded(f: LoadedFlavour): FlavourDescription {
  return {
    name: f.name,
    description: f.description,
    build: {
      image: f.build.image,
      ...(f.build.distribution ? { distribution: f.build.distribution } : {}),
      ...(f.build.nixModule ? { nixModule: f.build.nixModule } : {}),
    },
    options: optionNames(f.options) ?? [],
    ...(f.flags ? { flags: f.flags } : {}),
    plugin: f.plugin,
  };
}

/**
 * The project's flavours as listing needs them (name, description, image, Nix module,
 * options, flags), without importing the plugins that declare a manifest in their
 * package.json (`nxcPlugin`, see {@link PluginManifest}); the others are imported as
 * {@link loadFlavours} does. Same errors as {@link loadFlavours}, except that a manifest
 * that disagrees with its module is only noticed when the module is imported.
 */
export async function describeFlavours(project: Project): Promise<FlavourDescription[]> {
  const { specs, listedIn, discovered } = await pluginSpecs(project);
  const resolved = await Promise.all(specs.map((spec) => resolvePlugin(spec, project, listedIn, discovered)));
  const unique = [...new Map(resolved.map((r) => [r.entry, r])).values()];
  const described = await Promise.all(
    unique.map(async (r): Promise<FlavourDescription[]> => {
      const m = r.manifest;
      // a manifest of another flavour API: importing says what to do about it
      if (!m || !r.dir || m.apiVersion !== FLAVOUR_API_VERSION) {
        const { plugin, source } = await importPlugin(r);
        return plugin.flavours.map((f) => describeLoaded(delegate(f, source)));
      }
      const dir = r.dir;
      const source: PluginSource = {
        name: r.name ?? m.name,
        ...(r.version === undefined ? {} : { version: r.version }),
        spec: r.spec,
        entry: r.entry,
      };
      return Object.entries(m.flavours).map(([name, f]) => ({
        name,
        description: f.description,
        build: {
          image: f.image,
          ...(f.distribution ? { distribution: f.distribution } : {}),
          ...(f.nixModule ? { nixModule: resolve(dir, f.nixModule) } : {}),
        },
        options: f.options ?? [],
        ...(f.flags ? { flags: f.flags } : {}),
        plugin: source,
      }));
    }),
  );
  const byName = new Map<string, FlavourDescription>();
  for (const f of described.flat()) {
    const other = byName.get(f.name);
    if (other)
      throw new NxcError(
        'NXC_FLAVOUR_CONFLICT',
        `flavour "${f.name}" is provided by both ${describePlugin(other.plugin, f.plugin)} and ${describePlugin(f.plugin, other.plugin)}`,
        { hint: `keep only one of them in ${listedIn}` },
      );
    byName.set(f.name, f);
  }
  return [...byName.values()];
}

/**
 * The flavour `name`, importing as little as possible: when `spec` (the plugin that started a
 * deployment, from its record) is still one of the project's plugins and provides `name`, only
 * that plugin is imported; otherwise every plugin, as {@link loadFlavours} does (same errors).
 * Commands on a running deployment use it so that they do not pay for every installed plugin.
 */
export async function loadFlavour(project: Project, name: string, spec?: string): Promise<LoadedFlavour> {
  if (spec !== undefined) {
    const { specs, listedIn, discovered } = await pluginSpecs(project);
    if (specs.includes(spec)) {
      const { plugin, source } = await importPlugin(await resolvePlugin(spec, project, listedIn, discovered));
      const flavour = plugin.flavours.find((f) => f.name === name);
      if (flavour) return delegate(flavour, source);
    }
  }
  return (await loadFlavours(project)).get(name);
}

/** Exposed for `nxc flavours --json` style listings and tests: the plugin name pattern of discovery. */
export function isFlavourPackageName(name: string): boolean {
  return PLUGIN_NAME.test(name);
}
