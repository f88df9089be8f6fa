/**
 * Project configuration: `nxc.config.{ts,mjs,js,json,yaml,yml}`, `.nxcrc`,
 * `.nxcrc.{json,yaml,yml,js,mjs}`, `package.json#nxc`, and the original nxc's `nxc.json`
 * (`composition`, `default_flavour`). The zod schema below is the reference of every key.
 * Heavy loaders (cosmiconfig, TypeScript) are imported only when a config is searched.
 */
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { NxcError } from './errors.js';
import { untrustedFile } from './file-trust.js';
import { nodeCrypto } from './lazy-builtins.js';
import { closest, displayPath, firstLine, formatIssue, jsonSyntaxError } from './validation.js';

/** Project configuration, normalized (every key present). */
export interface NxcConfig {
  /**
   * Flavour packages to load: npm names (resolved from the project's node_modules) or paths
   * relative to the config file. Empty: `@nxc/flavour-*` and `nxc-flavour-*` packages listed
   * in the project's package.json are loaded.
   */
  plugins: string[];
  /** Composition file, relative to the project root (legacy `composition`); default `composition.nix`. */
  composition: string;
  /** Flavour used when `-f` is not given (legacy `default_flavour`). */
  defaultFlavour?: string;
  /** Nix settings. */
  nix: {
    /** Extra flags appended to every nix command. */
    flags: string[];
    /**
     * Flake inputs to override: name -> path (relative to the project root) or flake URL, as
     * written; {@link nixOverrideInputArgs} turns them into `--override-input` arguments.
     */
    overrideInputs: Record<string, string>;
  };
  /** Per-flavour options, keyed by flavour name (given to the flavour as `ctx.options`). */
  flavourOptions: Record<string, Record<string, unknown>>;
}

/** The schema of what users write (`nxc.config.*`, `.nxcrc*`, `package.json#nxc`). */
export const nxcConfigSchema = z
  .object({
    plugins: z.array(z.string().min(1, 'a plugin name cannot be empty')).optional(),
    composition: z.string().min(1).optional(),
    defaultFlavour: z.string().min(1).optional(),
    nix: z
      .object({
        flags: z.array(z.string()).optional(),
        overrideInputs: z.record(z.string().min(1)).optional(),
      })
      .strict()
      .optional(),
    flavourOptions: z.record(z.record(z.unknown())).optional(),
  })
  .strict();

/** What users write in a config file: every key optional. */
export type NxcUserConfig = z.input<typeof nxcConfigSchema>;

/** The original nxc's nxc.json (`platform` is accepted and ignored). */
const legacySchema = z
  .object({
    composition: z.string().min(1).optional(),
    default_flavour: z.string().min(1).nullable().optional(),
    platform: z.string().nullable().optional(),
  })
  .passthrough();

/**
 * Typed helper for `nxc.config.ts` / `.mjs`: `export default defineConfig({ plugins: [...] })`.
 * Returns its argument unchanged.
 */
export function defineConfig(config: NxcUserConfig): NxcUserConfig {
  return config;
}

function unknownKeyHint(key: string, path: ReadonlyArray<string | number>): string {
  const known =
    path.length === 0
      ? ['plugins', 'composition', 'defaultFlavour', 'nix', 'flavourOptions']
      : ['flags', 'overrideInputs'];
  // Legacy nxc.json spellings in a new-style config.
  const legacy: Record<string, string> = { default_flavour: 'defaultFlavour', flavour: 'defaultFlavour' };
  const guess = path.length === 0 && legacy[key] ? legacy[key] : closest(key, known);
  return `${guess ? `did you mean "${guess}"? ` : ''}known keys: ${path.length === 0 ? 'plugins, composition, defaultFlavour, nix {flags, overrideInputs}, flavourOptions' : 'flags, overrideInputs'}`;
}

/** A config file as found on disk. */
export interface FoundConfig {
  /** Absolute path of the file (for package.json, the file holding the `nxc` key). */
  file: string;
  /** The raw exported/parsed value, not validated yet. */
  value: unknown;
}

/** Files cosmiconfig looks at in each directory, in this order (legacy nxc.json apart). */
export const CONFIG_SEARCH_PLACES = [
  'package.json',
  '.nxcrc',
  '.nxcrc.json',
  '.nxcrc.yaml',
  '.nxcrc.yml',
  '.nxcrc.js',
  '.nxcrc.mjs',
  'nxc.config.ts',
  'nxc.config.mjs',
  'nxc.config.js',
  'nxc.config.json',
  'nxc.config.yaml',
  'nxc.config.yml',
] as const;

/** `at`: where in the file (`:LINE:COLUMN`), when known. */
function configError(file: string, message: string, hint: string, at = ''): NxcError {
  return new NxcError('NXC_CONFIG', `${displayPath(file)}${at}: ${message}`, { hint });
}

/** Finds `typescript` from the config's directory first (the user's), else from nxc's own install. */
async function loadTypeScript(configFile: string): Promise<typeof import('typescript')> {
  const candidates = [createRequire(configFile), createRequire(import.meta.url)];
  for (const req of candidates) {
    let resolved: string;
    try {
      resolved = req.resolve('typescript');
    } catch {
      continue;
    }
    const mod = (await import(pathToFileURL(resolved).href)) as { default?: typeof import('typescript') };
    return mod.default ?? (mod as unknown as typeof import('typescript'));
  }
  throw configError(
    configFile,
    'loading a TypeScript config needs the `typescript` package, which is not installed',
    'install it in the project (`pnpm add -D typescript`), or rename the file to nxc.config.mjs',
  );
}

/**
 * Loads `nxc.config.ts`: transpiled with the project's (or nxc's) TypeScript to a temporary
 * `.mjs` beside the file, so that its relative and package imports resolve as written.
 */
async function loadTsConfig(file: string, content: string): Promise<unknown> {
  const ts = await loadTypeScript(file);
  const output = ts.transpileModule(content, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.ES2022,
      target: ts.ScriptTarget.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      verbatimModuleSyntax: false,
      sourceMap: false,
    },
  });
  const syntax = output.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (syntax) {
    const text = ts.flattenDiagnosticMessageText(syntax.messageText, ' ');
    const line =
      syntax.file && syntax.start !== undefined
        ? `:${syntax.file.getLineAndCharacterOfPosition(syntax.start).line + 1}`
        : '';
    throw configError(`${file}${line}`, text, 'fix the TypeScript syntax');
  }
  const compiled = `${file}.${nodeCrypto().randomUUID()}.mjs`;
  await writeFile(compiled, output.outputText);
  try {
    const mod = (await import(pathToFileURL(compiled).href)) as { default?: unknown };
    return mod.default;
  } finally {
    await rm(compiled, { force: true });
  }
}

/** Loads a `.js`/`.mjs` config; a fresh query defeats the ESM cache so edits are seen. */
async function loadJsConfig(file: string): Promise<unknown> {
  const mod = (await import(`${pathToFileURL(file).href}?t=${Date.now()}`)) as { default?: unknown };
  return mod.default;
}

/**
 * One line for a loader failure: cosmiconfig prefixes parse errors with "YAML Error in FILE:"
 * on a line of their own.
 */
function loadErrorLine(error: unknown, file: string): string {
  const message =
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
      ? (error as { message: string }).message
      : String(error);
  const line =
    message
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !/^(YAML|JSON|TypeScript) Error in /.test(l)) ?? 'unknown error';
  return line.replace(`${file}: `, '');
}

/**
 * Refuses a config other users could have written or changed: it runs (`.mjs`, `.ts`...) or
 * names the plugins to run (every kind), as the user running nxc.
 */
async function checkTrusted(file: string): Promise<void> {
  const why = await untrustedFile(file);
  if (!why) return;
  throw configError(
    file,
    `${why}: nxc does not load a config that another user can write (it would run as you)`,
    'if it is yours, fix its owner or mode (`chmod go-w`); else delete it, or give your project its own config (an empty nxc.config.json) or flake.nix so the search stops there',
  );
}

/** package.json's `nxc` key, or undefined when it has none. */
async function packageJsonConfig(file: string): Promise<FoundConfig | undefined> {
  let pkg: unknown;
  let text = '';
  try {
    text = await readFile(file, 'utf8');
    pkg = JSON.parse(text);
  } catch (error) {
    // someone else's broken package.json is not ours to report; its trust is checked below
    if (await untrustedFile(file)) return undefined;
    const { at, reason } = jsonSyntaxError(text, error);
    throw configError(file, `cannot load it: ${reason}`, 'fix the JSON syntax', at);
  }
  if (typeof pkg !== 'object' || pkg === null || !('nxc' in pkg)) return undefined;
  return { file, value: (pkg as { nxc: unknown }).nxc };
}

/**
 * Looks for an nxc config in ONE directory (not its parents). Returns undefined when none.
 * The config found (one of {@link CONFIG_SEARCH_PLACES}) must be trusted: owned by you
 * or root and writable by nobody else, as the folder holding it (see file-trust.ts).
 *
 * @throws NxcError `NXC_CONFIG` when a config file exists but cannot be loaded (syntax
 *   error...), another user can write it, or the folder holds two configs (the legacy
 *   nxc.json apart, which is merged with the other).
 */
export async function findConfigIn(dir: string): Promise<FoundConfig | undefined> {
  // Cheap pre-check so that most directories (and projects without config) never load cosmiconfig.
  let entries: Set<string>;
  try {
    entries = new Set(await readdir(dir));
  } catch {
    return undefined;
  }
  // every config here: two would leave one silently unread (edited in vain)
  const present = CONFIG_SEARCH_PLACES.filter((name) => entries.has(name) && name !== 'package.json');
  const inPackageJson = entries.has('package.json')
    ? await packageJsonConfig(resolve(dir, 'package.json'))
    : undefined;
  const names = inPackageJson ? ['package.json ("nxc" key)', ...present] : present;
  if (names.length > 1)
    throw new NxcError(
      'NXC_CONFIG',
      `${displayPath(dir)}: two nxc configs in one folder (${names.join(', ')}); nxc would read only the first`,
      {
        hint: "keep one of them and move its settings there (nxc.json, the original nxc's file, may stay beside it)",
      },
    );
  if (inPackageJson) {
    await checkTrusted(inPackageJson.file);
    return inPackageJson;
  }
  const chosen = present[0];
  if (chosen === undefined) return undefined;
  const file = resolve(dir, chosen);
  await checkTrusted(file);
  const { cosmiconfig, defaultLoaders } = await import('cosmiconfig');
  const explorer = cosmiconfig('nxc', {
    // only the file checked above: nothing else in this folder is loaded
    searchPlaces: [chosen],
    searchStrategy: 'none',
    cache: false,
    // An empty nxc.config.yaml still marks the project root.
    ignoreEmptySearchPlaces: false,
    loaders: {
      ...defaultLoaders,
      '.ts': loadTsConfig,
      '.js': loadJsConfig,
      '.mjs': loadJsConfig,
      '.cjs': loadJsConfig,
    },
  });
  try {
    const result = await explorer.search(dir);
    if (!result) return undefined;
    return { file: result.filepath, value: result.isEmpty ? {} : result.config };
  } catch (error) {
    if (error instanceof NxcError) throw error;
    const failed = (error as { filepath?: string }).filepath ?? file;
    throw configError(
      failed,
      `cannot load it: ${loadErrorLine(error, failed)}`,
      'fix the file, or remove it',
    );
  }
}

/** Reads the original nxc's `nxc.json` in `dir`, if present (trusted as any config). */
export async function findLegacyConfigIn(dir: string): Promise<FoundConfig | undefined> {
  const file = resolve(dir, 'nxc.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  await checkTrusted(file);
  try {
    return { file, value: text.trim() === '' ? {} : (JSON.parse(text) as unknown) };
  } catch (error) {
    const { at, reason } = jsonSyntaxError(text, error);
    throw configError(file, `not valid JSON (${reason})`, 'fix the JSON syntax', at);
  }
}

const LEGACY_KEYS = ['composition', 'default_flavour', 'platform'];

/**
 * nxc.json keeps keys it does not know (the original nxc's), but not two mistakes that would
 * otherwise be silently ignored: a key of nxc's own config (`plugins`...), which belongs in
 * nxc.config.* or package.json#nxc, and a misspelt known key (`default_flavor`).
 */
function legacyStrayKey(file: string, value: Record<string, unknown>): void {
  for (const key of Object.keys(value)) {
    if (LEGACY_KEYS.includes(key)) continue;
    if (['plugins', 'defaultFlavour', 'nix', 'flavourOptions'].includes(key))
      throw configError(
        file,
        `${key}: nxc.json holds the original nxc's keys only (composition, default_flavour), ${key} there is not read`,
        `move ${key} to nxc.config.json (or the "nxc" key of package.json), beside nxc.json`,
      );
    const guess = closest(key, LEGACY_KEYS);
    if (guess)
      throw configError(
        file,
        `unknown key "${key}"`,
        `did you mean "${guess}"? known keys: ${LEGACY_KEYS.join(', ')}`,
      );
  }
}

/**
 * Validates a raw config (from {@link findConfigIn}) and the legacy nxc.json, and merges
 * them into an {@link NxcConfig}: keys of the explicit config win over nxc.json.
 *
 * @throws NxcError `NXC_CONFIG` naming the file and the key (unknown keys included).
 */
export async function normalizeConfig(found?: FoundConfig, legacy?: FoundConfig): Promise<NxcConfig> {
  let user: z.output<typeof nxcConfigSchema> = {};
  if (found) {
    let value = found.value;
    if (typeof value === 'function') value = await (value as () => unknown)();
    const inPackageJson = basename(found.file) === 'package.json';
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw configError(
        found.file,
        `${inPackageJson ? 'nxc: ' : ''}expected an object (the config), got ${Array.isArray(value) ? 'a list' : typeof value}`,
        "export an object, e.g. `export default defineConfig({ plugins: ['@nxc/flavour-docker'] })`",
      );
    }
    const result = nxcConfigSchema.safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const scoped = inPackageJson ? { ...issue, path: ['nxc', ...issue.path] } : issue;
      throw configError(
        found.file,
        formatIssue(scoped),
        issue.code === 'unrecognized_keys'
          ? unknownKeyHint(issue.keys[0] ?? '', issue.path)
          : 'see NxcConfig in @nxc/core for the meaning of each key',
      );
    }
    user = result.data;
  }
  let legacyValue: z.output<typeof legacySchema> = {};
  if (legacy) {
    const result = legacySchema.safeParse(legacy.value);
    if (!result.success) {
      throw configError(
        legacy.file,
        formatIssue(result.error.issues[0]!),
        'nxc.json holds {"composition": "composition.nix", "default_flavour": "docker"}',
      );
    }
    legacyValue = result.data;
    legacyStrayKey(legacy.file, result.data);
  }
  const defaultFlavour = user.defaultFlavour ?? legacyValue.default_flavour ?? undefined;
  return {
    plugins: user.plugins ?? [],
    composition: user.composition ?? legacyValue.composition ?? 'composition.nix',
    ...(defaultFlavour === undefined ? {} : { defaultFlavour }),
    nix: { flags: user.nix?.flags ?? [], overrideInputs: user.nix?.overrideInputs ?? {} },
    flavourOptions: user.flavourOptions ?? {},
  };
}

/**
 * `--override-input NAME VALUE` arguments for `nix build` from `config.nix.overrideInputs`:
 * paths (`./x`, `../x`, `/x`, `~/x` is not expanded) become `path:/absolute`, flake URLs
 * pass through.
 */
export function nixOverrideInputArgs(root: string, overrideInputs: Record<string, string>): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(overrideInputs)) {
    const isPath =
      value.startsWith('./') ||
      value.startsWith('../') ||
      value === '.' ||
      value === '..' ||
      isAbsolute(value);
    args.push('--override-input', name, isPath ? `path:${resolve(root, value)}` : value);
  }
  return args;
}
