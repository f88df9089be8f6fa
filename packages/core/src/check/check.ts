/**
 * `nxc check`: everything `nxc build` and `nxc start` would refuse, found without building and
 * without starting anything, and reported all at once. The composition is evaluated by Nix
 * exactly as `nxc build` builds it (same flake source, Nix library, override inputs and
 * flags: build/build.ts), down to the compose info's derivation, which is instantiated but
 * not built; its roles then check the role distribution, the parameters and the machine file;
 * the flavour's schema checks its options. Each problem is collected through the validators'
 * `onProblem` instead of stopping at the first.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BuildOptions,
  type NixTargetSelection,
  evalComposeInfo,
  planCompositions,
  prepareNixTarget,
  selectNixTarget,
} from '../build/build.js';
import type { FlakeSource } from '../build/flake-source.js';
import type { PlannedNode } from '../deployment.js';
import { unsupportedDisks } from '../disk-support.js';
import { ExitCode, NxcError, type NxcErrorCode, isNxcError } from '../errors.js';
import { resolveFlavourOptions } from '../flavour-options.js';
import { readMachineFile } from '../machines.js';
import { routeParameters } from '../node-parameters.js';
import type { Project } from '../project.js';
import {
  type RoleDistributionSpec,
  mergeRoleDistributions,
  parseRoleFlags,
  readRoleDistributionFile,
  resolveNodes,
} from '../role-distribution.js';
import { displayPath } from '../validation.js';

/** Options of {@link check}: the flags of `nxc build` and `nxc start` that it checks. */
export interface CheckOptions {
  /** `-C composition` or `-C composition::flavour`. */
  composition?: string;
  /** `-f flavour`; default: the config's default flavour. */
  flavour?: string;
  /** `ROLE_DISTRIBUTION_FILE` (YAML or JSON), as `nxc start` reads it. */
  roleDistributionFile?: string;
  /** `-r role=N` / `-r role=h1,h2`. */
  roleFlags?: string[];
  /** `-m FILE`: the machines the nodes would be deployed onto. */
  machineFile?: string;
  /** `-p/-P`, already parsed; `ROLE.key` and `HOST.key` must name a role or node. */
  parameters?: Record<string, unknown>;
  /** `-O key=value`, merged over the config's `flavourOptions[flavour]`. */
  options?: Record<string, unknown>;
  /** Pass `--show-trace` to Nix. */
  showTrace?: boolean;
  /** Extra Nix flags, after the config's `nix.flags` and `$NXC_NIX_FLAGS`. */
  nixFlags?: string | string[];
  /** Pass `--offline` to Nix. */
  fast?: boolean;
  /** Nix system (default: this machine's). */
  system?: string;
  /** Nix binary (default `nix` on the PATH). */
  nixBin?: string;
  signal?: AbortSignal;
}

/** One problem found by {@link check}: what `nxc` would print as `error:` and `hint:`. */
export interface CheckProblem {
  code: NxcErrorCode;
  /** One line: what is wrong and where. */
  message: string;
  /** How to fix it. */
  hint?: string;
  /** More lines (Nix's error with its source excerpt, or its trace with `showTrace`). */
  details?: string;
  /** The exit code the problem alone would give (2: bad input; 3: environment). */
  exitCode: number;
}

/** One `<composition>::<flavour>` evaluated by {@link check}. */
export interface CheckedTarget {
  composition: string;
  flavour: string;
  /** The compose info's derivation (instantiated, not built). */
  drvPath: string;
  /** The composition's roles. */
  roles: string[];
  /** The nodes `nxc start` would start with the given distribution (and machine count). */
  nodes: PlannedNode[];
}

/** What {@link check} found. */
export interface CheckResult {
  /** True when there is no problem. */
  ok: boolean;
  /** The flavour checked (absent when none could be selected). */
  flavour?: string;
  /** The compositions evaluated. */
  targets: CheckedTarget[];
  /** What was checked, for the summary line (`evaluation`, `role distribution`...). */
  checked: string[];
  /** Every problem, in the order found. */
  problems: CheckProblem[];
  /** 0 when ok; 2 when a problem is bad input; else the first problem's code (3: environment). */
  exitCode: number;
}

/** An NxcError as a problem; an interruption or anything else (a bug) is thrown again. */
function problemOf(error: unknown): CheckProblem {
  if (!isNxcError(error) || error.code === 'NXC_INTERRUPTED') throw error;
  return {
    code: error.code,
    message: error.message,
    ...(error.hint ? { hint: error.hint } : {}),
    ...(error.details ? { details: error.details } : {}),
    exitCode: error.exitCode,
  };
}

/** Runs `fn`, turning a user error into a problem; returns undefined then. */
async function attempt<T>(problems: CheckProblem[], fn: () => Promise<T> | T): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    problems.push(problemOf(error));
    return undefined;
  }
}

/**
 * Nix's evaluation error on one line: its message and the first source location Nix quotes
 * that is a file of the project, mapped from the store copy of the flake back to that file
 * (locations in nxc's library or nixpkgs are left out).
 */
function condensed(error: NxcError, project: Project, source: FlakeSource): string {
  if (/:\d+:\d+/.test(error.message)) return error.message;
  const text = [
    ...((error as NxcError & { nixErrors?: string[] }).nixErrors ?? []),
    error.details ?? '',
  ].join('\n');
  const root = source.kind === 'mirror' ? project.root : source.root;
  for (const at of text.matchAll(/\bat \/nix\/store\/[a-z0-9]{32}-source\/([^:\s]+):(\d+):(\d+)/g)) {
    const file = join(root, at[1] as string);
    if (existsSync(file)) return `${error.message} (at ${displayPath(file)}:${at[2]}:${at[3]})`;
  }
  return error.message;
}

/**
 * The roles and default distribution named by an evaluated compose info's text.
 * @throws NxcError `NXC_COMPOSE_INFO` when the flake output is not nxc's compose info.
 */
function rolesOf(
  text: string,
  target: string,
): { roles: string[]; defaults?: Record<string, unknown>; disks: Record<string, number> } {
  let info: { nxc_compose_info?: unknown; roles?: Record<string, unknown>; roles_distribution?: unknown };
  try {
    info = JSON.parse(text);
  } catch {
    info = {};
  }
  if (info.nxc_compose_info !== 1 || typeof info.roles !== 'object' || info.roles === null)
    throw new NxcError('NXC_COMPOSE_INFO', `${target}: the flake's output is not an nxc compose info`, {
      hint: 'the flake should set `packages.${system} = nxc.lib.compose { inherit nixpkgs system; composition = ./composition.nix; };`',
    });
  const defaults = info.roles_distribution;
  const disks: Record<string, number> = {};
  for (const [role, build] of Object.entries(info.roles)) {
    const list = (build as { disks?: unknown } | null)?.disks;
    if (Array.isArray(list) && list.length > 0) disks[role] = list.length;
  }
  return {
    roles: Object.keys(info.roles ?? {}),
    disks,
    ...(defaults && typeof defaults === 'object' && !Array.isArray(defaults)
      ? { defaults: defaults as Record<string, unknown> }
      : {}),
  };
}

/**
 * Checks a composition for a flavour without building it: Nix evaluation of the compose
 * info's derivations (as `nxc build`), the role distribution (file and `-r`, as `nxc start`)
 * against the roles Nix found, the parameters (per-role and per-node prefixes), the machine
 * file against the number of nodes, and the flavour options against the flavour's schema.
 * Every problem is collected; nothing is built, started or written besides what `nxc build`
 * prepares for Nix (the generated Nix library, the flake mirror).
 *
 * @returns the problems (an empty list when all is good) and what was checked.
 * @throws only on internal errors and interruption (`NXC_INTERRUPTED`).
 */
export async function check(project: Project, opts: CheckOptions = {}): Promise<CheckResult> {
  const problems: CheckProblem[] = [];
  const collect = (error: unknown) => problems.push(problemOf(error));
  const checked: string[] = [];

  // The inputs that do not depend on the composition: distribution, machine file.
  let fileSpec: RoleDistributionSpec | undefined;
  let flagSpec: RoleDistributionSpec | undefined;
  if (opts.roleDistributionFile) {
    const file = opts.roleDistributionFile;
    fileSpec = await attempt(problems, () => readRoleDistributionFile(file, { onProblem: collect }));
  }
  if (opts.roleFlags && opts.roleFlags.length > 0) flagSpec = parseRoleFlags(opts.roleFlags, collect);
  const spec = fileSpec || flagSpec ? mergeRoleDistributions(fileSpec, flagSpec) : undefined;
  let machines: string[] | undefined;
  if (opts.machineFile) {
    const file = opts.machineFile;
    machines = await attempt(problems, () => readMachineFile(file));
  }

  // The composition and flavour, and the flavour's options.
  const buildOpts: BuildOptions = {
    ...(opts.composition ? { composition: opts.composition } : {}),
    ...(opts.flavour ? { flavour: opts.flavour } : {}),
    ...(opts.showTrace ? { showTrace: true } : {}),
    ...(opts.nixFlags !== undefined ? { nixFlags: opts.nixFlags } : {}),
    ...(opts.fast ? { fast: true } : {}),
    ...(opts.system ? { system: opts.system } : {}),
    ...(opts.nixBin ? { nixBin: opts.nixBin } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const selection: NixTargetSelection | undefined = await attempt(problems, () =>
    selectNixTarget(project, buildOpts),
  );
  if (selection) {
    resolveFlavourOptions({
      project,
      flavour: selection.loaded,
      installed: selection.installed,
      ...(opts.options ? { options: opts.options } : {}),
      onProblem: collect,
    });
  }

  // Nix evaluation, then what depends on the roles it finds.
  const targets: CheckedTarget[] = [];
  if (selection) {
    const plan = await attempt(problems, () => prepareNixTarget(project, selection, buildOpts));
    const compositions = plan
      ? await attempt(problems, () => planCompositions(project, plan, buildOpts))
      : [];
    for (const composition of compositions ?? []) {
      if (!plan) break;
      const evaluated = await attempt(problems, async () => {
        try {
          return await evalComposeInfo(project, plan, composition, buildOpts);
        } catch (error) {
          // A Nix evaluation error is a mistake in the composition (bad input), not a failed job.
          if (isNxcError(error) && error.code === 'NXC_NIX' && error.exitCode === ExitCode.failure)
            throw new NxcError('NXC_NIX', condensed(error, project, plan.source), {
              ...(error.details ? { details: error.details } : {}),
              hint: `fix the composition there, then run \`nxc check\` again (add --show-trace for Nix's evaluation trace)`,
              exitCode: ExitCode.usage,
              cause: error,
            });
          throw error;
        }
      });
      if (!evaluated) continue;
      const found = await attempt(problems, () =>
        rolesOf(evaluated.text, `${composition}::${selection.flavour}`),
      );
      if (!found) continue;
      const { roles, defaults, disks } = found;
      const prefix = (compositions?.length ?? 0) > 1 ? `${composition}::${selection.flavour}: ` : '';
      const collectFor = (error: unknown) => {
        const problem = problemOf(error);
        problems.push({ ...problem, message: `${prefix}${problem.message}` });
      };
      const nodes = resolveNodes({
        roles,
        ...(spec ? { spec } : {}),
        ...(defaults ? { defaults } : {}),
        ...(machines ? { machineCount: machines.length } : {}),
        onProblem: collectFor,
      });
      if (opts.parameters) routeParameters(opts.parameters, nodes, collectFor);
      const noDisks = unsupportedDisks(selection.loaded, nodes, (r) => disks[r] ?? 0);
      if (noDisks) collectFor(noDisks);
      targets.push({
        composition,
        flavour: selection.flavour,
        drvPath: evaluated.drvPath,
        roles,
        nodes,
      });
    }
    checked.push('Nix evaluation');
    if (targets.length > 0) {
      checked.push('role distribution');
      if (opts.parameters && Object.keys(opts.parameters).length > 0) checked.push('parameters');
      if (machines) checked.push('machine file');
    }
    checked.push('flavour options');
  }
  const exitCode =
    problems.length === 0
      ? 0
      : problems.some((p) => p.exitCode === 2)
        ? 2
        : (problems[0] as CheckProblem).exitCode;
  return {
    ok: problems.length === 0,
    ...(selection ? { flavour: selection.flavour } : {}),
    targets,
    checked,
    problems,
    exitCode,
  };
}
