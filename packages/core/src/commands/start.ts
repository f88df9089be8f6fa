import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from '../build/build.js';
import { type ComposeInfo, readComposeInfo } from '../compose-info.js';
import {
  type DeployedNode,
  type DeploymentDocument,
  type PlannedNode,
  buildDeploymentDocument,
  readDeploymentDocument,
  writeDeploymentDocument,
} from '../deployment.js';
/**
 * `nxc start`: compose info + role distribution + machines -> a flavour's start, with the
 * deployment document written through the StartContext. Every input is validated before
 * anything is written; on failure or interruption the deploy/ files this call wrote are
 * removed. Holds the project lock from the first change to the end.
 */
import { unsupportedDisks } from '../disk-support.js';
import { NxcError, isNxcError } from '../errors.js';
import { resolveFlavourOptions } from '../flavour-options.js';
import { nodeChildProcess } from '../lazy-builtins.js';
import { readMachineFile } from '../machines.js';
import { routeParameters } from '../node-parameters.js';
import { pathExists } from '../path-exists.js';
import { type LoadedFlavour, loadFlavours } from '../plugins.js';
import { lockProject } from '../project-lock.js';
import type { Project } from '../project.js';
import {
  type DeploymentRecord,
  type NodeTimings,
  type RecordedIdentity,
  buildRecord,
  composeInfoStorePath,
  newRecordId,
  readCoreVersion,
  readFlakeLock,
  readRecord,
  removeRunningRecord,
  timingReporter,
  writeRecord,
} from '../records.js';
import {
  type ReplayPlan,
  canonicalJson,
  diffComposeInfo,
  diffLockedInputs,
  diffOverrides,
  lockPins,
  planReplay,
} from '../replay.js';
import { type Reporter, silentReporter } from '../reporter.js';
import {
  mergeRoleDistributions,
  parseRoleFlags,
  readRoleDistributionFile,
  resolveNodes,
} from '../role-distribution.js';
import { type SshIdentity, ensureProjectIdentity, readIdentity } from '../ssh-identity.js';
import { deploymentPath, statePath } from '../state.js';
import type {
  FlavourDeployer,
  NetworkCondition,
  NodeStatus,
  RunningContext,
  StartContext,
  StartResult,
} from '../transposition.js';
import { resolveDeclared } from './net-declared.js';
import { netPath, writeConditions } from './net.js';
import { loadDeployer, readState, writeState } from './running.js';
import { type Selector, parseSelector, selectBuild } from './select.js';

/** Options of {@link start} (the flags of `nxc start`). */
export interface StartOptions {
  /** `-C composition` or `-C composition::flavour`. */
  composition?: string;
  /** `-f flavour`. */
  flavour?: string;
  /** `--compose-info FILE`: use this compose info instead of `build/`. */
  composeInfoFile?: string;
  /** `ROLE_DISTRIBUTION_FILE` (YAML or JSON). */
  roleDistributionFile?: string;
  /** `-r role=N` / `-r role=h1,h2` (override the file per role). */
  roleFlags?: string[];
  /** `-m FILE`: machines to deploy onto. */
  machineFile?: string;
  /** `-W`: wait until the machine file exists. */
  waitMachineFile?: boolean;
  /** `-i`: private key nodes authorize; default: the project identity. */
  identityFile?: string;
  /** `-k`: extra kernel parameters. */
  kernelParams?: string;
  /** `-p/-P`, already parsed (see parseParameterFlags / readParameterFile). */
  parameters?: Record<string, unknown>;
  /** Wait for every node to be ready (default true; `--no-wait`). */
  wait?: boolean;
  /** Per-node readiness timeout in ms (default 300 s). */
  timeoutMs?: number;
  /**
   * Flavour options (`-O key=value`), merged over the config's `flavourOptions[flavour]` and
   * validated with the flavour's schema before anything is created.
   */
  options?: Record<string, unknown>;
  /**
   * The flavour's own flags as typed, by long name (`{ '--accel': 'kvm', '--reuse': true }`),
   * merged over `options`. A flag of another flavour is refused, naming its owners.
   */
  flags?: Record<string, string | boolean>;
  /**
   * `--retry-failed`: the previous deployment stays; the flavour's `retryFailed` redeploys
   * only its failed nodes. Nothing is cleaned up, before or after. Refused, before anything
   * is done, for a flavour without that capability.
   */
  retryFailed?: boolean;
  /**
   * `--replay RECORD` (id, short id, unique prefix or path, as `nxc records show`): deploy the
   * recorded deployment again (see replay.ts). `parameters` are then merged over the recorded
   * ones (a replication); flags that would deploy something else are refused.
   */
  replay?: string;
  /**
   * `--net FILE`, already read (see readNetworkFile): network conditions to put in force once
   * the nodes are up, after the composition's own `network` list (a later entry for the same
   * kind and pair of nodes wins). See docs/network.md.
   */
  network?: unknown[];
  reporter?: Reporter;
  signal?: AbortSignal;
}

/** What {@link start} returns. */
export interface StartSummary {
  composition: string;
  flavour: string;
  /** Path of the deployment document written. */
  deploymentFile: string;
  deployment: DeploymentDocument;
  nodes: NodeStatus[];
  composeInfo: ComposeInfo;
  /** The deployment record written (see `nxc records`); absent when it could not be written. */
  record?: DeploymentRecord;
  /** Its file in `artifact/<composition>/<flavour>/records/`. */
  recordFile?: string;
}

const RUNNING_STATES = new Set(['running', 'starting', 'unreachable']);

async function waitForFile(file: string, reporter: Reporter, signal: AbortSignal): Promise<void> {
  if (await pathExists(file)) return;
  reporter.emit({ type: 'step', message: `waiting for machine file ${file}` });
  while (!(await pathExists(file))) {
    if (signal.aborted) throw new NxcError('NXC_INTERRUPTED', `interrupted while waiting for ${file}`);
    await sleep(200, undefined, { signal }).catch(() => undefined);
  }
}

/**
 * Starts a deployment. See {@link StartOptions}; returns the nodes as the flavour reports them.
 * Everything the user gave is checked before anything is created (compose info, flavour
 * options and capabilities, role distribution, machines); then, with the project lock held,
 * a previous deployment of the same composition::flavour is cleared and the flavour starts.
 */
export async function start(project: Project, opts: StartOptions = {}): Promise<StartSummary> {
  const startedAt = new Date();
  // node events timed as they pass, for the record
  const { reporter, timings } = timingReporter(opts.reporter ?? silentReporter);
  const signal = opts.signal ?? new AbortController().signal;
  if (opts.replay !== undefined) {
    const run = await prepareReplay(project, opts, opts.replay, reporter, signal, startedAt, timings);
    return await locked(run);
  }
  // An installed flavour named with -f/-C: its options and flags are the user's first mistake
  // to report, before the build is looked for (else `-f docker --accel kvm` in an unbuilt
  // project would say "no build found"). Otherwise the build says which flavour, and why not.
  const named = parseSelector(opts).flavour;
  const early =
    named && (await loadFlavours(project)).has(named) ? await chooseFlavour(project, named, opts) : undefined;
  const { composeInfo, composition, flavourName } = await locateComposeInfo(project, opts);
  const { flavour, deployer, options } = early ?? (await chooseFlavour(project, flavourName, opts));
  const { nodes, machines } = await planNodes(composeInfo, opts, reporter, signal);
  // A misrouted -p key is refused now, not when the flavour writes the deployment.
  if (opts.parameters) routeParameters(opts.parameters, nodes);
  checkDisks(flavour, composeInfo, nodes);
  checkDeclaredNetwork(flavourName, deployer, composeInfo, nodes, opts);
  const identity = await checkEnvironment(project, flavour, opts, reporter);
  if (signal.aborted) throw interruptedBefore(composition, flavourName);
  const run: PreparedStart = {
    project,
    opts,
    composition,
    flavourName,
    reporter,
    signal,
    composeInfo,
    nodes,
    ...(machines ? { machines } : {}),
    identity,
    flavour,
    deployer,
    options,
    startedAt,
    timings,
  };
  return await locked(run);
}

/** Phases 5 to 7, with the project lock held. */
async function locked(run: PreparedStart): Promise<StartSummary> {
  const lock = await lockProject(run.project, `start ${run.composition}::${run.flavourName}`);
  try {
    if (!run.opts.retryFailed) await clearPrevious(run);
    return await runFlavour(run);
  } finally {
    await lock.release();
  }
}

/**
 * Phases 1 to 4 of a replay: the record, what the user's flags change of it, the flavour with
 * the recorded options, the compose info (the recorded store path when it is valid, else a
 * rebuild from the recorded lock that must give the same store path) and the identity.
 */
async function prepareReplay(
  project: Project,
  opts: StartOptions,
  id: string,
  reporter: Reporter,
  signal: AbortSignal,
  startedAt: Date,
  timings: NodeTimings,
): Promise<PreparedStart> {
  const { record } = await readRecord(project, id);
  let given: string[] | undefined;
  if (opts.waitMachineFile && !opts.machineFile) {
    throw new NxcError('NXC_USAGE', '-W needs a machine file to wait for', { hint: 'add `-m FILE`' });
  }
  if (opts.machineFile) {
    if (opts.waitMachineFile) await waitForFile(opts.machineFile, reporter, signal);
    given = await readMachineFile(opts.machineFile);
  }
  const plan = planReplay(record, {
    ...(opts.composition ? { composition: opts.composition } : {}),
    ...(opts.flavour ? { flavour: opts.flavour } : {}),
    ...(opts.composeInfoFile ? { composeInfoFile: opts.composeInfoFile } : {}),
    ...(opts.roleDistributionFile ? { roleDistributionFile: opts.roleDistributionFile } : {}),
    ...(opts.roleFlags ? { roleFlags: opts.roleFlags } : {}),
    ...(opts.retryFailed ? { retryFailed: true } : {}),
    ...(opts.kernelParams !== undefined ? { kernelParams: opts.kernelParams } : {}),
    ...(opts.parameters ? { parameters: opts.parameters } : {}),
    ...(given ? { machines: given } : {}),
    ...(opts.identityFile ? { identityFile: path.resolve(opts.identityFile) } : {}),
  });
  const recordedOptions =
    typeof record.flavourOptions === 'object' && record.flavourOptions !== null
      ? (record.flavourOptions as Record<string, unknown>)
      : {};
  const { flavour, deployer, options } = await chooseFlavour(project, record.flavour, {
    ...opts,
    options: { ...recordedOptions, ...opts.options },
  });
  if (canonicalJson(options ?? null) !== canonicalJson(record.flavourOptions ?? null)) {
    const now = (options ?? {}) as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(recordedOptions), ...Object.keys(now)])]
      .filter((k) => canonicalJson(recordedOptions[k]) !== canonicalJson(now[k]))
      .sort();
    throw new NxcError(
      'NXC_USAGE',
      `--replay: flavour options conflict with record ${record.id} (${keys
        .map((k) => `${k}: ${JSON.stringify(recordedOptions[k])} recorded, ${JSON.stringify(now[k])} now`)
        .join('; ')})`,
      { hint: 'drop the -O and flavour flags: a replay uses the recorded flavour options', exitCode: 2 },
    );
  }
  if (plan.parameters) routeParameters(plan.parameters, plan.nodes);
  const { composeInfo, origin } = await replayComposeInfo(project, record, reporter, signal);
  checkDisks(flavour, composeInfo, plan.nodes);
  for (const change of plan.changes) reporter.emit({ type: 'warn', message: `replay: ${change}` });
  // the recorded conditions again (by hostname: addresses may differ), then the user's --net
  const network = [...(record.network ?? []).map(declaredFromRecorded), ...(opts.network ?? [])];
  const effective: StartOptions = {
    ...opts,
    composition: record.composition,
    flavour: record.flavour,
    ...(plan.parameters ? { parameters: plan.parameters } : {}),
    ...(plan.kernelParams ? { kernelParams: plan.kernelParams } : {}),
    ...(network.length > 0 ? { network } : {}),
  };
  checkDeclaredNetwork(record.flavour, deployer, composeInfo, plan.nodes, effective);
  if (plan.identity.kind === 'file') effective.identityFile = plan.identity.file;
  else Reflect.deleteProperty(effective, 'identityFile');
  const identity = await checkEnvironment(project, flavour, effective, reporter);
  if (signal.aborted) throw interruptedBefore(record.composition, record.flavour);
  return {
    project,
    opts: effective,
    composition: record.composition,
    flavourName: record.flavour,
    reporter,
    signal,
    composeInfo,
    nodes: plan.nodes,
    ...(plan.machines ? { machines: plan.machines } : {}),
    identity,
    flavour,
    deployer,
    options,
    startedAt,
    timings,
    replay: { record, plan, origin },
  };
}

const runFile = (file: string, args: string[]) =>
  new Promise<{ code: number | string }>((resolve) => {
    nodeChildProcess().execFile(file, args, (error) => {
      resolve({ code: error ? ((error as NodeJS.ErrnoException).code ?? 1) : 0 });
    });
  });

/** The path is a valid store path (`nix-store --check-validity`; without Nix: it exists). */
async function validStorePath(storePath: string): Promise<boolean> {
  if (!(await pathExists(storePath))) return false;
  const { code } = await runFile('nix-store', ['--check-validity', storePath]);
  return code === 0 || code === 'ENOENT';
}

/**
 * The compose info of a replay: the recorded store path when it is valid; otherwise the
 * composition rebuilt with the recorded lock (the recorded `nix.overrideInputs`, and each root
 * input whose lock changed since pinned back with `--override-input` to its recorded locked
 * reference). A rebuild that gives another store path is refused with the differences.
 */
async function replayComposeInfo(
  project: Project,
  record: DeploymentRecord,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<{ composeInfo: ComposeInfo; origin: 'recorded' | 'rebuilt' }> {
  const recorded = record.composeInfo.storePath;
  if (recorded && (await validStorePath(recorded))) {
    return {
      composeInfo: await readComposeInfo(recorded, { composition: record.composition }),
      origin: 'recorded',
    };
  }
  const key = `${record.composition}::${record.flavour}`;
  reporter.emit({
    type: 'step',
    message: `${recorded ?? 'the recorded compose info'} is not in the Nix store: rebuilding ${key} with the recorded lock`,
  });
  const current = await readFlakeLock(project);
  const overrides = record.flake.overrideInputs ?? {};
  const { pins, unpinnable } = lockPins(record.flake.inputs, current.inputs, [
    ...Object.keys(overrides),
    'nxc',
  ]);
  const tmp = await mkdtemp(path.join(tmpdir(), 'nxc-replay-'));
  let outPath: string | undefined;
  let composeInfo: ComposeInfo;
  try {
    const built = await build(project, {
      composition: record.composition,
      flavour: record.flavour,
      outLink: path.join(tmp, 'compose-info'),
      overrideInputs: { ...overrides, ...pins },
      nixFlags: ['--no-write-lock-file'],
      reporter,
      signal,
    });
    outPath = built.targets[0]?.outPath;
    composeInfo = await readComposeInfo(outPath ?? built.composeInfoPath, {
      composition: record.composition,
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const differences = diffComposeInfo(record.composeInfo, composeInfo, outPath).filter(
    (line) => recorded !== undefined || !line.startsWith('compose info:'),
  );
  if (differences.length > 0) {
    const lines = [
      ...differences,
      ...diffLockedInputs(record.flake.inputs, current.inputs).map(
        (l) => `${l}; the rebuild used the recorded one`,
      ),
      ...diffOverrides(overrides, project.config.nix.overrideInputs),
      ...unpinnable.map(
        (n) =>
          `input ${n}: changed since the record and not pinnable (no locked reference); the rebuild used the current one`,
      ),
    ];
    throw new NxcError(
      'NXC_USAGE',
      `--replay: rebuilding ${key} with the lock of record ${record.id} gives other store paths (${differences.length} difference${differences.length === 1 ? '' : 's'})`,
      {
        details: lines.join('\n'),
        hint: 'the project (its sources or an overridden input) changed since the record: restore it, or start without --replay',
        exitCode: 2,
      },
    );
  }
  return { composeInfo, origin: 'rebuilt' };
}

/** Phase 1: the compose info (`--compose-info`, else `build/`), the composition and the flavour. */
async function locateComposeInfo(
  project: Project,
  opts: StartOptions,
): Promise<{ composeInfo: ComposeInfo; composition: string; flavourName: string }> {
  const sel: Selector = parseSelector(opts);
  let composeInfoFile: string;
  if (opts.composeInfoFile) {
    composeInfoFile = path.resolve(project.root, opts.composeInfoFile);
    if (!(await pathExists(composeInfoFile))) {
      throw new NxcError('NXC_COMPOSE_INFO', `compose info ${opts.composeInfoFile} does not exist`, {
        hint: 'check the path given to --compose-info',
      });
    }
  } else {
    const entry = await selectBuild(project, sel);
    composeInfoFile = entry.path;
    if (!sel.composition && entry.composition !== '') sel.composition = entry.composition;
    if (!sel.flavour) sel.flavour = entry.flavour;
    if (!(await pathExists(entry.path))) {
      throw new NxcError(
        'NXC_COMPOSE_INFO',
        `${path.relative(project.root, entry.path)} is a dangling link (the store path is gone)`,
        { hint: 'rebuild with `nxc build`' },
      );
    }
  }
  const composeInfo = await readComposeInfo(
    composeInfoFile,
    sel.composition ? { composition: sel.composition } : {},
  );
  const composition = sel.composition ?? composeInfo.composition;
  const flavourName = sel.flavour ?? composeInfo.flavour.name;
  if (composeInfo.flavour.name && composeInfo.flavour.name !== flavourName) {
    throw new NxcError(
      'NXC_USAGE',
      `${opts.composeInfoFile ?? composeInfoFile} was built for flavour "${composeInfo.flavour.name}", not "${flavourName}"`,
      { hint: `drop -f, or build it with \`nxc build -f ${flavourName}\`` },
    );
  }
  return { composeInfo, composition, flavourName };
}

/**
 * Phase 2: the flavour, its options validated with its schema, its deploy side, and the
 * capabilities the flags need. Nothing is created: a mistake here leaves everything as it was.
 */
async function chooseFlavour(
  project: Project,
  flavourName: string,
  opts: StartOptions,
): Promise<{ flavour: LoadedFlavour; deployer: FlavourDeployer; options: unknown }> {
  const registry = await loadFlavours(project);
  const flavour = registry.get(flavourName);
  const options = resolveFlavourOptions({
    project,
    flavour,
    installed: registry.list(),
    ...(opts.options ? { options: opts.options } : {}),
    ...(opts.flags ? { flags: opts.flags } : {}),
  });
  const deployer = await loadDeployer(flavour);
  if (opts.retryFailed && !deployer.retryFailed) {
    const able = [];
    for (const other of registry.list()) {
      if (other.name !== flavourName && (await other.deployer()).retryFailed) able.push(other.name);
    }
    throw new NxcError('NXC_USAGE', `flavour ${flavourName} cannot --retry-failed`, {
      hint: `stop and start again${able.length > 0 ? ` (--retry-failed is for ${able.join(', ')})` : ''}`,
      exitCode: 2,
    });
  }
  return { flavour, deployer, options };
}

/** Phase 3: the nodes to start (role distribution file, `-r`, build defaults) and the machines. */
async function planNodes(
  composeInfo: ComposeInfo,
  opts: StartOptions,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<{ nodes: PlannedNode[]; machines?: string[] }> {
  const fileSpec = opts.roleDistributionFile
    ? await readRoleDistributionFile(opts.roleDistributionFile)
    : undefined;
  const flagSpec = opts.roleFlags && opts.roleFlags.length > 0 ? parseRoleFlags(opts.roleFlags) : undefined;
  const spec = fileSpec || flagSpec ? mergeRoleDistributions(fileSpec, flagSpec) : undefined;
  let machines: string[] | undefined;
  if (opts.waitMachineFile && !opts.machineFile) {
    throw new NxcError('NXC_USAGE', '-W needs a machine file to wait for', { hint: 'add `-m FILE`' });
  }
  if (opts.machineFile) {
    if (opts.waitMachineFile) await waitForFile(opts.machineFile, reporter, signal);
    machines = await readMachineFile(opts.machineFile);
  }
  const nodes = resolveNodes({
    roles: Object.keys(composeInfo.roles),
    ...(spec ? { spec } : {}),
    ...(composeInfo.rolesDistribution ? { defaults: composeInfo.rolesDistribution } : {}),
    ...(machines ? { machineCount: machines.length } : {}),
  });
  return { nodes, ...(machines ? { machines } : {}) };
}

/**
 * A flavour that does not declare {@link Flavour.disks} cannot give nodes the block devices
 * their role declares: refused rather than silently ignored.
 */
function checkDisks(flavour: LoadedFlavour, composeInfo: ComposeInfo, nodes: PlannedNode[]): void {
  const problem = unsupportedDisks(flavour, nodes, (r) => composeInfo.roles[r]?.disks?.length ?? 0);
  if (problem) throw problem;
}

/** Phase 4: the flavour can run here (`usable`), and the identity nodes will authorize. */
async function checkEnvironment(
  project: Project,
  flavour: LoadedFlavour,
  opts: StartOptions,
  reporter: Reporter,
): Promise<SshIdentity> {
  if (flavour.usable) {
    const problem = await flavour.usable({ project });
    if (problem) {
      throw new NxcError('NXC_FLAVOUR_UNUSABLE', `flavour ${flavour.name}: ${problem.reason}`, {
        hint: problem.hint,
      });
    }
  }
  return opts.identityFile
    ? await readIdentity(opts.identityFile)
    : await ensureProjectIdentity(project, { reporter });
}

/** What phases 1 to 4 of {@link start} settled. */
interface PreparedStart {
  project: Project;
  opts: StartOptions;
  composition: string;
  flavourName: string;
  reporter: Reporter;
  signal: AbortSignal;
  composeInfo: ComposeInfo;
  nodes: PlannedNode[];
  machines?: string[];
  identity: SshIdentity;
  flavour: LoadedFlavour;
  deployer: FlavourDeployer;
  /** The flavour's options, parsed by its schema. */
  options: unknown;
  startedAt: Date;
  /** Per host: when the flavour's node events said launched and ready. */
  timings: NodeTimings;
  /** `--replay`: the replayed record, the plan made from it, and where the compose info came from. */
  replay?: { record: DeploymentRecord; plan: ReplayPlan; origin: 'recorded' | 'rebuilt' };
}

/**
 * Phase 5 (lock held): a previous deployment of the same composition::flavour. Still running:
 * refused. Else what is left of it is stopped and its documents removed.
 */
async function clearPrevious(run: PreparedStart): Promise<void> {
  const { project, composition, flavourName, reporter, signal, deployer, identity } = run;
  const docPath = deploymentPath(project, composition, flavourName);
  if (!(await pathExists(docPath))) return;
  let previous: DeploymentDocument | undefined;
  try {
    previous = await readDeploymentDocument(project, composition, flavourName);
  } catch {
    return; // unreadable: treat as gone (the new start replaces it)
  }
  const running: RunningContext = {
    project,
    composition,
    flavour: flavourName,
    reporter,
    signal,
    options: run.options,
    deployment: previous,
    state: await readState(project, composition, flavourName, deployer.stateSchema).catch(() => undefined),
    identity,
  };
  const states = await deployer.status(running).catch(() => []);
  const alive = states.filter((s) => RUNNING_STATES.has(s.state));
  if (alive.length > 0) {
    throw new NxcError(
      'NXC_DEPLOYMENT',
      `${composition}::${flavourName} is already running (${alive.map((s) => s.host).join(', ')})`,
      { hint: `stop it first with \`nxc stop -C ${composition}::${flavourName}\``, exitCode: 2 },
    );
  }
  reporter.emit({
    type: 'step',
    message: `cleaning up the previous ${composition}::${flavourName} deployment`,
  });
  await deployer.stop(running).catch(() => undefined);
  await rm(docPath, { force: true });
  await rm(statePath(project, composition, flavourName), { force: true });
  await removeRunningRecord(project, composition, flavourName);
}

/** What the flavour wrote through its {@link StartContext}, for cleanup and the summary. */
interface Written {
  files: Set<string>;
  document?: DeploymentDocument;
  state?: unknown;
}

/** The context a flavour starts with: its options, and writers that record what they wrote. */
function startContext(run: PreparedStart, written: Written): StartContext {
  const { project, opts, composition, flavourName, composeInfo, deployer, identity } = run;
  const ctx: StartContext = {
    project,
    composition,
    flavour: flavourName,
    reporter: run.reporter,
    signal: run.signal,
    composeInfo,
    nodes: run.nodes,
    ...(run.machines ? { machines: run.machines } : {}),
    identity,
    ...(opts.kernelParams ? { kernelParams: opts.kernelParams } : {}),
    ...(opts.parameters && Object.keys(opts.parameters).length > 0 ? { parameters: opts.parameters } : {}),
    wait: opts.wait ?? true,
    timeoutMs: opts.timeoutMs ?? 300_000,
    options: run.options,
    async writeDeployment(deployed: DeployedNode[]) {
      // A retry redeploys some nodes of the same deployment: they keep their UUIDs.
      // A replay gives each node its recorded UUID again.
      const uuids = run.replay
        ? run.replay.plan.uuids
        : opts.retryFailed
          ? await previousUuids(project, composition, flavourName)
          : undefined;
      const doc = buildDeploymentDocument({
        composeInfo,
        nodes: deployed,
        sshPublicKey: identity.publicKey,
        user: userInfo().username,
        ...(ctx.parameters ? { parameters: ctx.parameters } : {}),
        ...(uuids ? { uuids } : {}),
      });
      written.files.add(deploymentPath(project, composition, flavourName));
      written.files.add(await writeDeploymentDocument(project, composition, flavourName, doc));
      written.document = doc;
      return doc;
    },
    async saveState(state: unknown) {
      written.files.add(statePath(project, composition, flavourName));
      await writeState(project, composition, flavourName, deployer, state);
      written.state = state;
    },
  };
  return ctx;
}

/** The node UUIDs by host of the current deployment document, if there is a readable one. */
async function previousUuids(
  project: Project,
  composition: string,
  flavour: string,
): Promise<Record<string, string> | undefined> {
  const previous = await readDeploymentDocument(project, composition, flavour).catch(() => undefined);
  if (!previous) return undefined;
  const uuids: Record<string, string> = {};
  for (const node of Object.values(previous.deployment)) if (node.uuid) uuids[node.host] = node.uuid;
  return uuids;
}

/**
 * Phase 6 (lock held): the flavour's start (or retryFailed); on failure or interruption, the
 * files it wrote go (a retry keeps the deployment of the nodes that are up).
 */
async function runFlavour(run: PreparedStart): Promise<StartSummary> {
  const { project, opts, composition, flavourName, reporter, signal, composeInfo, deployer } = run;
  const written: Written = { files: new Set() };
  const ctx = startContext(run, written);
  const verb = opts.retryFailed
    ? 'retrying the failed nodes of'
    : run.replay
      ? `replaying record ${run.replay.record.id}${run.replay.plan.replication ? ` (a replication: ${run.replay.plan.changedParameters.join(', ')} changed)` : ''}:`
      : 'starting';
  reporter.emit({
    type: 'step',
    message: `${verb} ${composition}::${flavourName} (${run.nodes.length} nodes)`,
  });
  let result: StartResult;
  try {
    result =
      opts.retryFailed && deployer.retryFailed ? await deployer.retryFailed(ctx) : await deployer.start(ctx);
  } catch (error) {
    if (!opts.retryFailed) for (const file of written.files) await rm(file, { force: true });
    if (signal.aborted && !(isNxcError(error) && error.code === 'NXC_INTERRUPTED')) {
      throw new NxcError(
        'NXC_INTERRUPTED',
        `start of ${composition}::${flavourName} interrupted; nodes removed`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  const document = written.document;
  if (!document) {
    throw new Error(`flavour ${flavourName} returned from start without calling writeDeployment`);
  }
  if (signal.aborted && !opts.retryFailed) {
    // interrupted as the flavour finished: the caller no longer wants the deployment
    await undo(deployer, { ...ctx, deployment: document, state: written.state }, [...written.files]);
  }
  const network = await applyDeclaredNetwork(run, ctx, document, written);
  const recorded = await record(run, document, result, network);
  reporter.emit({
    type: 'done',
    message: `${composition}::${flavourName} started (${result.nodes.length} nodes)`,
  });
  return {
    composition,
    flavour: flavourName,
    deploymentFile: deploymentPath(project, composition, flavourName),
    deployment: document,
    nodes: result.nodes,
    composeInfo,
    ...recorded,
  };
}

/**
 * Phase 7: the deployment record of the start that succeeded. The nodes run whatever happens
 * here: a record that cannot be written is a warning, not a failed start.
 */
async function record(
  run: PreparedStart,
  document: DeploymentDocument,
  result: StartResult,
  network: NetworkCondition[] = [],
): Promise<{ record?: DeploymentRecord; recordFile?: string }> {
  const { project, opts, composition, flavourName, composeInfo, flavour } = run;
  try {
    const storePath = await composeInfoStorePath(composeInfo.source);
    const rec = buildRecord({
      id: newRecordId(run.startedAt),
      project,
      composition,
      flavour: flavourName,
      retry: opts.retryFailed === true,
      startedAt: run.startedAt,
      endedAt: new Date(),
      coreVersion: await readCoreVersion(),
      plugin: {
        name: flavour.plugin.name,
        spec: flavour.plugin.spec,
        ...(flavour.plugin.version ? { version: flavour.plugin.version } : {}),
      },
      flake: await readFlakeLock(project),
      composeInfo,
      ...(storePath ? { composeInfoStorePath: storePath } : {}),
      deployment: document.deployment,
      nodes: result.nodes,
      timings: run.timings,
      ...(run.machines ? { machines: run.machines } : {}),
      ...(opts.parameters ? { parameters: opts.parameters } : {}),
      ...(opts.kernelParams ? { kernelParams: opts.kernelParams } : {}),
      flavourOptions: run.options,
      ...(result.platform ? { platform: result.platform } : {}),
      wait: opts.wait ?? true,
      ...(network.length > 0 ? { network } : {}),
      identity: recordedIdentity(opts),
      ...(run.replay
        ? {
            replayOf: run.replay.record.id,
            replication: run.replay.plan.replication,
            changedParameters: run.replay.plan.changedParameters,
            composeInfoOrigin: run.replay.origin,
            replayChanges: run.replay.plan.changes,
          }
        : {}),
    });
    return { record: rec, recordFile: await writeRecord(project, rec) };
  } catch (error) {
    run.reporter.emit({
      type: 'warn',
      message: `the deployment record could not be written: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`,
    });
    return {};
  }
}

/** A recorded condition as a declared one between the same hosts (what a replay applies again). */
function declaredFromRecorded(c: NetworkCondition): Record<string, unknown> {
  const ends = { from: c.a.host, to: c.b.host };
  switch (c.kind) {
    case 'partition':
      return { ...ends, partition: true };
    case 'delay':
      return { ...ends, delay: c.delayMs, ...(c.jitterMs ? { jitter: c.jitterMs } : {}) };
    case 'loss':
      return { ...ends, loss: c.percent };
    case 'rate':
      return { ...ends, rate: c.kbitPerSecond };
  }
}

/** The declared conditions: the composition's `network` list, then `--net FILE`'s. */
function declaredLists(composeInfo: ComposeInfo, opts: StartOptions): Array<[string, unknown[]]> {
  const lists: Array<[string, unknown[]]> = [];
  if (composeInfo.network && composeInfo.network.length > 0) {
    lists.push([`composition ${composeInfo.composition}: network`, composeInfo.network]);
  }
  if (opts.network && opts.network.length > 0) lists.push(['--net', opts.network]);
  return lists;
}

/**
 * Phase 3b: declared network conditions name existing roles and nodes and valid values, and
 * the flavour can put them in force, before anything is created (nodes are resolved by
 * hostname and role; addresses are not known yet).
 */
function checkDeclaredNetwork(
  flavourName: string,
  deployer: FlavourDeployer,
  composeInfo: ComposeInfo,
  nodes: PlannedNode[],
  opts: StartOptions,
): void {
  const lists = declaredLists(composeInfo, opts);
  if (lists.length === 0) return;
  const planned: DeploymentDocument = {
    deployment: Object.fromEntries(nodes.map((n) => [n.host, { host: n.host, role: n.role }])),
  } as unknown as DeploymentDocument;
  for (const [where, list] of lists) resolveDeclared(planned, list, where);
  if (!deployer.network) {
    throw new NxcError(
      'NXC_FLAVOUR_UNUSABLE',
      `network conditions are not supported by the ${flavourName} flavour yet (${lists.map(([w]) => w).join(' and ')} declares some)`,
      {
        hint: 'see docs/network.md for what each flavour supports, or remove the declared conditions',
        exitCode: 3,
      },
    );
  }
}

/**
 * Phase 6b: the declared network conditions, put in force once the nodes are up and recorded
 * in the net state file. When they cannot be, the nodes are stopped and the start fails (an
 * experiment must not run under conditions other than those declared). `--no-wait`: nodes
 * may not be up, so nothing is applied (a warning says so).
 */
async function applyDeclaredNetwork(
  run: PreparedStart,
  ctx: StartContext,
  document: DeploymentDocument,
  written: Written,
): Promise<NetworkCondition[]> {
  const lists = declaredLists(run.composeInfo, run.opts);
  if (lists.length === 0 || !run.deployer.network) return [];
  if (!ctx.wait) {
    run.reporter.emit({
      type: 'warn',
      message:
        'declared network conditions are not applied with --no-wait (the nodes may not be up): apply them with `nxc net`',
    });
    return [];
  }
  const merged = new Map<string, NetworkCondition>();
  for (const [where, list] of lists) {
    for (const c of resolveDeclared(document, list, where)) {
      merged.set(`${c.kind}\0${[c.a.host, c.b.host].sort().join('\0')}`, c);
    }
  }
  const conditions = [...merged.values()];
  const running: RunningContext = { ...ctx, deployment: document, state: written.state };
  run.reporter.emit({ type: 'step', message: `applying ${conditions.length} declared network condition(s)` });
  try {
    await (await run.deployer.network(running)).apply(conditions, conditions);
    const target = { entry: { composition: run.composition, flavour: run.flavourName } };
    written.files.add(netPath(run.project, run.composition, run.flavourName));
    await writeConditions(run.project, target, conditions);
  } catch (error) {
    // a retry keeps the nodes that were up before it: they are not stopped
    if (!run.opts.retryFailed) {
      await run.deployer.stop(running).catch(() => undefined);
      for (const file of written.files) await rm(file, { force: true });
    }
    if (isNxcError(error)) {
      const what = run.opts.retryFailed ? 'the nodes keep running' : 'the nodes were stopped';
      throw new NxcError(error.code, `${error.message}; ${what}`, {
        ...(error.hint ? { hint: error.hint } : {}),
        exitCode: error.exitCode,
        cause: error,
      });
    }
    throw error;
  }
  return conditions;
}

/** The identity choice a record keeps: the `-i` file's absolute path (never the key), or the project's. */
function recordedIdentity(opts: StartOptions): RecordedIdentity {
  return opts.identityFile ? { kind: 'file', file: path.resolve(opts.identityFile) } : { kind: 'project' };
}

function interruptedBefore(composition: string, flavour: string): NxcError {
  return new NxcError(
    'NXC_INTERRUPTED',
    `start of ${composition}::${flavour} interrupted before anything was created`,
  );
}

/** Stops a deployment that started although the start was interrupted, then throws NXC_INTERRUPTED. */
async function undo(deployer: FlavourDeployer, ctx: RunningContext, files: string[]): Promise<never> {
  const key = `${ctx.composition}::${ctx.flavour}`;
  try {
    await deployer.stop(ctx);
  } catch (error) {
    throw new NxcError(
      'NXC_INTERRUPTED',
      `start of ${key} interrupted; removing its nodes failed: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`,
      {
        hint: `remove what is left with \`nxc stop -C ${key}\``,
        cause: error,
      },
    );
  }
  for (const file of files) await rm(file, { force: true });
  throw new NxcError('NXC_INTERRUPTED', `start of ${key} interrupted; nodes removed`);
}
