/**
 * `nxc build`: runs Nix on the project's flake output
 * `packages.<system>."<composition>::<flavour>"` (a compose info JSON), with the
 * `nxc` input replaced by the project's generated copy of the Nix library
 * (`.nxc/nixlib`, holding the installed flavours' modules), out-link
 * `build/<composition>::<flavour>`. The flake is read through git, or from a mirror of the
 * project without node_modules and nxc's state (flake-source.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type ComposeInfo, readComposeInfo } from '../compose-info.js';
import { nixOverrideInputArgs } from '../config.js';
import { NxcError } from '../errors.js';
import { configuredOptions } from '../flavour-options.js';
import { type FlavourDescription, type LoadedFlavour, describeFlavours, loadFlavour } from '../plugins.js';
import type { Project } from '../project.js';
import { type Reporter, silentReporter } from '../reporter.js';
import { shellQuote } from '../shell-quote.js';
import { composeInfoPath, nixLibDir } from '../state.js';
import { type FlakeSource, prepareFlakeSource } from './flake-source.js';
import {
  type NixFailureContext,
  type NixFlagSource,
  explainNixFailure,
  unreachableCacheWarning,
} from './nix-environment.js';
import type { NixProgressState } from './nix-progress.js';
import { NIX_BASE_FLAGS, checkNix, runNix, splitFlags } from './nix.js';
import { type NixFlavourEntry, planNixLibrary, syncNixLibrary } from './nixlib.js';

/** Options of {@link build}. */
export interface BuildOptions {
  /** Flavour to build (`-f`); default: the config's default flavour. */
  flavour?: string;
  /**
   * Composition to build (`-C`): a name, or `composition::flavour`. Default: `composition`
   * (a single-composition project), or every composition of a `compositions.nix` project.
   */
  composition?: string;
  /** Out-link path (`-o`) instead of `build/<composition>::<flavour>` (one target only). */
  outLink?: string;
  /** Do nothing; return the exact Nix command(s) (`--dry-run`). */
  dryRun?: boolean;
  /** Pass `--show-trace` to Nix. */
  showTrace?: boolean;
  /** Extra Nix flags (`--nix-flags`), after the config's `nix.flags` and `$NXC_NIX_FLAGS`. */
  nixFlags?: string | string[];
  /** Pass `--offline` to Nix: no network lookups for unlocked inputs (`-F`, `--fast`). */
  fast?: boolean;
  /** Nix system (default: this machine's, e.g. `x86_64-linux`). */
  system?: string;
  reporter?: Reporter;
  signal?: AbortSignal;
  /** Nix binary (default `nix` on the PATH). */
  nixBin?: string;
  /**
   * Flake inputs to replace (name -> flake reference or path relative to the project), used
   * instead of the config's `nix.overrideInputs` (a replay passes the recorded ones, plus
   * locked references pinning inputs back to a recorded lock).
   */
  overrideInputs?: Record<string, string>;
}

/** Nix work done for one target, from Nix's own log. */
export interface BuildStats {
  /** Derivations built by this run (0 when everything was already built). */
  built: number;
  /** Derivations Nix planned to build. */
  total: number;
  /** Their names (`testos-system-server`, `compose-info-composition-docker.json`...). */
  builtNames: string[];
  elapsedMs: number;
}

/** One built (or, with dryRun, planned) `<composition>::<flavour>`. */
export interface BuiltTarget {
  composition: string;
  flavour: string;
  /** The flake output attribute, e.g. `.#packages.x86_64-linux."composition::docker"`. */
  installable: string;
  /** The Nix command, as argv (nix first) and as a shell line. */
  argv: string[];
  command: string;
  /** The out-link (`build/<composition>::<flavour>`), a symlink to the compose info. */
  composeInfoPath: string;
  /** The compose info read back (absent with dryRun). */
  composeInfo?: ComposeInfo;
  /** Store path of the compose info (absent with dryRun). */
  outPath?: string;
  stats?: BuildStats;
}

/** Result of {@link build}. */
export interface BuildResult {
  targets: BuiltTarget[];
  /** The first target's out-link (the usual single-target case). */
  composeInfoPath: string;
  /** The first target's compose info (absent with dryRun). */
  composeInfo?: ComposeInfo;
  dryRun: boolean;
}

/** A `<composition>::<flavour>` output of the project's flake. */
export interface CompositionTarget {
  composition: string;
  flavour: string;
}

/** Nix system of this machine. */
export function currentSystem(): string {
  const arch = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
  const os = process.platform === 'darwin' ? 'darwin' : 'linux';
  return `${arch}-${os}`;
}

/** The user's extra Nix flags, by origin (config, environment, command line), in that order. */
function flagSources(project: Project, opts: BuildOptions): NixFlagSource[] {
  const env = process.env.NXC_NIX_FLAGS ? splitFlags(process.env.NXC_NIX_FLAGS) : [];
  const extra =
    opts.nixFlags === undefined
      ? []
      : Array.isArray(opts.nixFlags)
        ? opts.nixFlags
        : splitFlags(opts.nixFlags);
  return [
    { name: `nix.flags in ${project.configFile ?? 'the config'}`, flags: project.config.nix.flags },
    { name: '$NXC_NIX_FLAGS', flags: env },
    { name: '--nix-flags', flags: extra },
  ];
}

function flagsOf(project: Project, opts: BuildOptions): string[] {
  return flagSources(project, opts).flatMap((s) => s.flags);
}

/** Recognises the machine's Nix problems in a failed run (see nix-environment.ts). */
function explainer(project: Project, source: FlakeSource, opts: BuildOptions, what: string) {
  const ctx: NixFailureContext = {
    what,
    projectRoot: project.root,
    source,
    flagSources: flagSources(project, opts),
  };
  return (state: NixProgressState) => explainNixFailure(state, ctx);
}

/** Removes `dir` and its parents up to `top` (included) while they are empty. */
async function removeEmptyFolders(dir: string, top: string): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return;
    }
    if (d === top || dirname(d) === d) return;
  }
}

function requireFlake(project: Project): void {
  if (!existsSync(join(project.root, 'flake.nix')))
    throw new NxcError('NXC_PROJECT', `${project.root}: no flake.nix, this is not an nxc project`, {
      hint: 'run `nxc init` to create one, or run nxc from the project directory',
    });
}

/** The flavours the project's plugins provide, as the Nix library's index needs them. */
async function flavourEntries(
  project: Project,
): Promise<{ entries: NixFlavourEntry[]; names: string[]; described: FlavourDescription[] }> {
  const described = await describeFlavours(project);
  const entries = described.map((f) => ({
    name: f.name,
    image: f.build.image,
    description: f.description,
    ...(f.build.distribution ? { distribution: f.build.distribution } : {}),
    ...(f.build.nixModule ? { nixModule: resolve(f.build.nixModule) } : {}),
    plugin: f.plugin.name,
  }));
  return { entries, names: entries.map((e) => e.name), described };
}

/** Writes `.nxc/nixlib` (changed files only) unless dryRun; returns its path. */
async function prepareNixLibrary(
  project: Project,
  entries: NixFlavourEntry[],
  dryRun: boolean,
): Promise<string> {
  const dir = nixLibDir(project);
  if (!dryRun) await syncNixLibrary(dir, await planNixLibrary(entries));
  return dir;
}

function commonArgs(project: Project, libDir: string, opts: BuildOptions): string[] {
  return [
    '--override-input',
    'nxc',
    `path:${libDir}`,
    ...nixOverrideInputArgs(project.root, opts.overrideInputs ?? project.config.nix.overrideInputs),
    ...(opts.showTrace ? ['--show-trace'] : []),
    ...(opts.fast ? ['--offline'] : []),
    ...flagsOf(project, opts),
  ];
}

async function evalTargets(
  project: Project,
  libDir: string,
  source: FlakeSource,
  opts: BuildOptions,
): Promise<CompositionTarget[]> {
  const system = opts.system ?? currentSystem();
  await checkNix(opts.nixBin);
  const what = 'listing the compositions';
  const { stdout } = await runNix(
    [
      ...NIX_BASE_FLAGS,
      'eval',
      '--json',
      '--log-format',
      'internal-json',
      ...commonArgs(project, libDir, opts),
      `${source.ref}#packages.${system}`,
      '--apply',
      'builtins.attrNames',
    ],
    {
      cwd: project.root,
      what,
      explain: explainer(project, source, opts, what),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.nixBin ? { nixBin: opts.nixBin } : {}),
    },
  );
  const names = JSON.parse(stdout) as string[];
  return names
    .filter((n) => n.includes('::'))
    .map((n) => {
      const i = n.indexOf('::');
      return { composition: n.slice(0, i), flavour: n.slice(i + 2) };
    });
}

/**
 * Lists the `<composition>::<flavour>` outputs of the project's flake (`nxc build -L`),
 * via `nix eval --json .#packages.<system> --apply builtins.attrNames`.
 */
export async function listCompositions(
  project: Project,
  opts: Omit<BuildOptions, 'dryRun'> = {},
): Promise<CompositionTarget[]> {
  requireFlake(project);
  const { entries } = await flavourEntries(project);
  const libDir = await prepareNixLibrary(project, entries, false);
  const source = await prepareFlakeSource(project);
  return evalTargets(project, libDir, source, opts);
}

/**
 * Builds `<composition>::<flavour>` with Nix and returns the compose info(s). Progress
 * (derivations built/total, current activity, elapsed) goes to `opts.reporter`.
 *
 * @throws NxcError `NXC_PROJECT` (no flake.nix), `NXC_USAGE` (no flavour given),
 *   `NXC_FLAVOUR_UNKNOWN`, `NXC_COMPOSITION_UNKNOWN`, `NXC_NIX` (Nix missing/too old, or the
 *   Nix error itself, trimmed), `NXC_NIX_ENV` (the machine's Nix cannot build: no build users
 *   group, store not writable, no daemon, features off, no network), `NXC_GIT_UNTRACKED` (a
 *   file the flake uses is not tracked by git), `NXC_INTERRUPTED`.
 */
/**
 * Internal: the composition and flavour named (`-C`, `-f`, the config's default), checked
 * against the installed flavours, without Nix and without writing anything. Shared by
 * `nxc build` and `nxc check`.
 */
export interface NixTargetSelection {
  /** The composition named with `-C`, if any. */
  composition?: string;
  flavour: string;
  /** The flavour's plugin side (its options schema...). */
  loaded: LoadedFlavour;
  /** Every installed flavour. */
  installed: FlavourDescription[];
  /** The Nix library's index of the installed flavours. */
  entries: NixFlavourEntry[];
}

/**
 * Internal: resolves `-C`/`-f` (see {@link NixTargetSelection}).
 * @throws NxcError `NXC_PROJECT`, `NXC_USAGE`, `NXC_FLAVOUR_UNKNOWN` as {@link build}.
 */
export async function selectNixTarget(
  project: Project,
  opts: BuildOptions = {},
): Promise<NixTargetSelection> {
  requireFlake(project);
  let compositionName = opts.composition;
  let flavourName = opts.flavour;
  if (compositionName?.includes('::')) {
    const i = compositionName.indexOf('::');
    const f = compositionName.slice(i + 2);
    compositionName = compositionName.slice(0, i) || undefined;
    if (flavourName && f && f !== flavourName)
      throw new NxcError(
        'NXC_USAGE',
        `-C ${opts.composition} names flavour ${f} but -f says ${flavourName}`,
        {
          hint: 'give the flavour once: either -f FLAVOUR or -C COMPOSITION::FLAVOUR',
        },
      );
    flavourName = flavourName ?? (f || undefined);
  }
  const { entries, names, described } = await flavourEntries(project);
  flavourName = flavourName ?? project.config.defaultFlavour;
  if (!flavourName)
    throw new NxcError('NXC_USAGE', 'no flavour given and the config names no default flavour', {
      hint: `pass -f FLAVOUR (installed: ${names.join(', ') || 'none'})`,
    });
  // only the plugin providing the flavour is imported (all of them when it is unknown:
  // NXC_FLAVOUR_UNKNOWN with the install hint)
  const loaded = await loadFlavour(
    project,
    flavourName,
    described.find((f) => f.name === flavourName)?.plugin.spec,
  );
  return {
    ...(compositionName ? { composition: compositionName } : {}),
    flavour: flavourName,
    loaded,
    installed: described,
    entries,
  };
}

/** Internal: a selection made ready for Nix: the Nix library and the flake source. */
export interface NixTargetPlan {
  composition?: string;
  flavour: string;
  libDir: string;
  source: FlakeSource;
  system: string;
}

/**
 * Internal: unless `dryRun`, writes the Nix library (`.nxc/nixlib`) and the flake mirror of
 * a selection; returns where they are.
 */
export async function prepareNixTarget(
  project: Project,
  selection: NixTargetSelection,
  opts: BuildOptions = {},
): Promise<NixTargetPlan> {
  const libDir = await prepareNixLibrary(project, selection.entries, opts.dryRun === true);
  const source = await prepareFlakeSource(project, { dryRun: opts.dryRun === true });
  return {
    ...(selection.composition ? { composition: selection.composition } : {}),
    flavour: selection.flavour,
    libDir,
    source,
    system: opts.system ?? currentSystem(),
  };
}

/**
 * Internal: the compositions a plan covers: the one named, else `composition` (a
 * single-composition project), else every composition of a `compositions.nix` project that
 * the flake builds for the flavour (one Nix evaluation; skipped with dryRun).
 */
export async function planCompositions(
  project: Project,
  plan: NixTargetPlan,
  opts: BuildOptions = {},
): Promise<string[]> {
  if (plan.composition) return [plan.composition];
  if (existsSync(join(project.root, 'compositions.nix')) && !opts.dryRun) {
    const targets = await evalTargets(project, plan.libDir, plan.source, opts);
    const compositions = [
      ...new Set(targets.filter((t) => t.flavour === plan.flavour).map((t) => t.composition)),
    ];
    return compositions.length > 0 ? compositions : ['composition'];
  }
  return ['composition'];
}

/** What {@link evalComposeInfo} learns from Nix without building. */
export interface EvaluatedTarget {
  composition: string;
  flavour: string;
  /** The compose info's derivation (instantiated, not built). */
  drvPath: string;
  /** The compose info's JSON text as it will be built (store paths named, not realised). */
  text: string;
}

/**
 * Internal: evaluates `<composition>::<flavour>` of the project's flake (the compose info's
 * derivation and its text) with `nix eval`, exactly as {@link build} would build it, and
 * builds nothing. An evaluation error is NxcError `NXC_NIX` with Nix's message, trimmed.
 */
export async function evalComposeInfo(
  project: Project,
  plan: NixTargetPlan,
  composition: string,
  opts: BuildOptions = {},
): Promise<EvaluatedTarget> {
  await checkNix(opts.nixBin);
  const installable = `${plan.source.ref}#packages.${plan.system}."${composition}::${plan.flavour}"`;
  const what = `evaluating ${composition}::${plan.flavour}`;
  try {
    const { stdout } = await runNix(
      [
        ...NIX_BASE_FLAGS,
        'eval',
        '--json',
        '--log-format',
        'internal-json',
        ...commonArgs(project, plan.libDir, opts),
        installable,
        '--apply',
        'd: { drvPath = d.drvPath; text = d.text or ""; }',
      ],
      {
        cwd: project.root,
        what,
        explain: explainer(project, plan.source, opts, what),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.nixBin ? { nixBin: opts.nixBin } : {}),
      },
    );
    const value = JSON.parse(stdout) as { drvPath: string; text: string };
    return { composition, flavour: plan.flavour, drvPath: value.drvPath, text: value.text };
  } catch (error) {
    throw await explainMissingTarget(error, project, plan.libDir, plan.source, opts, {
      composition,
      flavour: plan.flavour,
    });
  }
}

/**
 * Builds `<composition>::<flavour>` with Nix and returns the compose info(s). Progress
 * (derivations built/total, current activity, elapsed) goes to `opts.reporter`. Before Nix
 * runs, the flavour's options in the config (`flavourOptions`) are checked with its schema.
 *
 * @throws NxcError `NXC_PROJECT` (no flake.nix), `NXC_USAGE` (no flavour given, a bad
 *   flavour option in the config), `NXC_FLAVOUR_UNKNOWN`, `NXC_COMPOSITION_UNKNOWN`,
 *   `NXC_NIX` (Nix missing/too old, or the
 *   Nix error itself, trimmed), `NXC_NIX_ENV` (the machine's Nix cannot build: no build users
 *   group, store not writable, no daemon, features off, no network), `NXC_GIT_UNTRACKED` (a
 *   file the flake uses is not tracked by git), `NXC_INTERRUPTED`.
 */
export async function build(project: Project, opts: BuildOptions = {}): Promise<BuildResult> {
  const reporter = opts.reporter ?? silentReporter;
  // `nix --version` runs while the plugins and the sources are prepared (its result is cached;
  // a failure is reported by the checkNix call below)
  if (!opts.dryRun) checkNix(opts.nixBin).catch(() => undefined);
  const selection = await selectNixTarget(project, opts);
  // The flavour's options in the config are checked before Nix starts (as `nxc check` does).
  configuredOptions(project, selection.loaded);
  const plan = await prepareNixTarget(project, selection, opts);
  const { flavour, libDir, source, system } = plan;
  const compositions = await planCompositions(project, plan, opts);
  if (opts.outLink && compositions.length > 1)
    throw new NxcError(
      'NXC_USAGE',
      `-o names one out-link but ${compositions.length} compositions would be built (${compositions.join(', ')})`,
      {
        hint: 'choose one with -C COMPOSITION::FLAVOUR',
      },
    );

  const planned: BuiltTarget[] = compositions.map((composition) => {
    const link = opts.outLink ? resolve(opts.outLink) : composeInfoPath(project, composition, flavour);
    const installable = `${source.ref}#packages.${system}."${composition}::${flavour}"`;
    const argv = [
      opts.nixBin ?? 'nix',
      ...NIX_BASE_FLAGS,
      'build',
      '--json',
      '--log-format',
      'internal-json',
      '-v',
      '-o',
      link,
      ...commonArgs(project, libDir, opts),
      installable,
    ];
    return {
      composition,
      flavour,
      installable,
      argv,
      command: argv.map(shellQuote).join(' '),
      composeInfoPath: link,
    };
  });

  if (opts.dryRun) {
    for (const t of planned) reporter.emit({ type: 'step', message: `would run: ${t.command}` });
    return { targets: planned, composeInfoPath: planned[0]?.composeInfoPath ?? '', dryRun: true };
  }

  await checkNix(opts.nixBin);
  for (const target of planned) {
    const task = `build ${target.composition}::${target.flavour}`;
    // the folder of the out-link (build/): made for this build, removed again if Nix fails
    const made = await mkdir(dirname(target.composeInfoPath), { recursive: true });
    reporter.emit({ type: 'step', message: `building ${target.composition}::${target.flavour}` });
    const started = Date.now();
    let last: NixProgressState | undefined;
    const emit = () => {
      const s = last;
      const elapsed = Math.round((Date.now() - started) / 1000);
      reporter.emit({
        type: 'progress',
        task,
        current: s?.built ?? 0,
        total: s?.total ?? 0,
        detail: `${s?.current ?? (s && s.total > 0 ? 'building' : 'evaluating')} (${elapsed}s)`,
      });
    };
    const ticker = setInterval(emit, 1000);
    ticker.unref();
    let result: Awaited<ReturnType<typeof runNix>>;
    const what = `building ${target.composition}::${target.flavour}`;
    try {
      result = await runNix(target.argv.slice(1), {
        cwd: project.root,
        what,
        explain: explainer(project, source, opts, what),
        onProgress: (s) => {
          last = s;
          emit();
        },
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.nixBin ? { nixBin: opts.nixBin } : {}),
      });
    } catch (error) {
      if (made) await removeEmptyFolders(dirname(target.composeInfoPath), made);
      throw await explainMissingTarget(error, project, libDir, source, opts, target);
    } finally {
      clearInterval(ticker);
    }
    const cacheWarning = unreachableCacheWarning(result.progress.warnings);
    if (cacheWarning) reporter.emit({ type: 'warn', message: cacheWarning });
    let outPath: string | undefined;
    try {
      const parsed = JSON.parse(result.stdout) as Array<{ outputs?: { out?: string } }>;
      outPath = parsed[0]?.outputs?.out;
    } catch {
      outPath = undefined;
    }
    target.outPath = outPath;
    target.composeInfo = await readComposeInfo(target.composeInfoPath, { composition: target.composition });
    target.stats = {
      built: result.progress.built,
      total: result.progress.total,
      builtNames: result.progress.builtNames,
      elapsedMs: Date.now() - started,
    };
    reporter.emit({
      type: 'done',
      message: `built ${target.composition}::${target.flavour} -> ${target.composeInfoPath} (${target.stats.built} derivation${target.stats.built === 1 ? '' : 's'} built, ${(target.stats.elapsedMs / 1000).toFixed(1)}s)`,
    });
  }
  const first = planned[0] as BuiltTarget;
  return {
    targets: planned,
    composeInfoPath: first.composeInfoPath,
    ...(first.composeInfo ? { composeInfo: first.composeInfo } : {}),
    dryRun: false,
  };
}

/** A missing flake attribute means an unknown composition: say which ones exist. */
async function explainMissingTarget(
  error: unknown,
  project: Project,
  libDir: string,
  source: FlakeSource,
  opts: BuildOptions,
  target: CompositionTarget,
): Promise<unknown> {
  if (!(error instanceof NxcError) || error.code !== 'NXC_NIX') return error;
  if (!/does not provide attribute/.test(error.message)) return error;
  let known: CompositionTarget[];
  try {
    known = await evalTargets(project, libDir, source, opts);
  } catch {
    return error;
  }
  const comps = [...new Set(known.map((t) => t.composition))];
  if (comps.length === 0)
    return new NxcError(
      'NXC_NIX',
      `${join(project.root, 'flake.nix')}: packages.${opts.system ?? currentSystem()} has no "<composition>::<flavour>" outputs`,
      {
        hint: 'the flake should set `packages.${system} = nxc.lib.compose { inherit nixpkgs system; composition = ./composition.nix; };`',
      },
    );
  if (!comps.includes(target.composition))
    return new NxcError(
      'NXC_COMPOSITION_UNKNOWN',
      `composition ${target.composition} is not in ${join(project.root, 'flake.nix')} (compositions: ${comps.join(', ')})`,
      {
        hint: `pick one with -C ${comps[0]}::${target.flavour} (nxc build -L lists them)`,
      },
    );
  return new NxcError(
    'NXC_FLAVOUR_UNKNOWN',
    `flavour ${target.flavour} is not built by ${join(project.root, 'flake.nix')} (it builds: ${[...new Set(known.map((t) => t.flavour))].join(', ')})`,
    {
      hint: 'if the flake passes `flavours = ...` to nxc.lib.compose, drop it so the installed flavours are used',
    },
  );
}
