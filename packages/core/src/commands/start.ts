/**
 * `nxc start`: compose info + role distribution + machines -> a flavour's start, with the
 * deployment document written through the StartContext. Every input is validated before
 * anything is written; on failure or interruption the deploy/ files this call wrote are
 * removed. Holds the project lock from the first change to the end.
 */
import { rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeJsonAtomic } from '../atomic-file.js';
import { type ComposeInfo, readComposeInfo } from '../compose-info.js';
import {
  type DeployedNode,
  type DeploymentDocument,
  type PlannedNode,
  buildDeploymentDocument,
  writeDeploymentDocument,
} from '../deployment.js';
import { NxcError, isNxcError } from '../errors.js';
import { readMachineFile } from '../machines.js';
import { pathExists } from '../path-exists.js';
import { loadFlavours } from '../plugins.js';
import { lockProject } from '../project-lock.js';
import type { Project } from '../project.js';
import { type Reporter, silentReporter } from '../reporter.js';
import {
  mergeRoleDistributions,
  parseRoleFlags,
  readRoleDistributionFile,
  resolveNodes,
} from '../role-distribution.js';
import { type SshIdentity, ensureProjectIdentity, readIdentity } from '../ssh-identity.js';
import { deploymentPath, statePath } from '../state.js';
import type { FlavourDeployer, NodeStatus, RunningContext, StartContext } from '../transposition.js';
import { readState } from './running.js';
import { parseSelector, selectBuild } from './select.js';

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
  /** Flavour-specific options (merged over the config's `flavourOptions[flavour]`). */
  options?: Record<string, unknown>;
  /**
   * `--retry-failed`: the previous deployment stays; the flavour (option `retryFailed`)
   * redeploys only its failed nodes. Nothing is cleaned up, before or after.
   */
  retryFailed?: boolean;
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

/** Starts a deployment. See {@link StartOptions}; returns the nodes as the flavour reports them. */
export async function start(project: Project, opts: StartOptions = {}): Promise<StartSummary> {
  const reporter = opts.reporter ?? silentReporter;
  const signal = opts.signal ?? new AbortController().signal;
  const sel = parseSelector(opts);

  // 1. compose info
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
        {
          hint: 'rebuild with `nxc build`',
        },
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

  // 2. flavour
  const registry = await loadFlavours(project);
  const flavour = registry.get(flavourName);

  // 3. nodes
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

  // 4. environment
  if (flavour.usable) {
    const problem = await flavour.usable({ project });
    if (problem) {
      throw new NxcError('NXC_FLAVOUR_UNUSABLE', `flavour ${flavourName}: ${problem.reason}`, {
        hint: problem.hint,
      });
    }
  }
  const identity = opts.identityFile
    ? await readIdentity(opts.identityFile)
    : await ensureProjectIdentity(project, { reporter });
  const deployer = await flavour.deployer();
  if (signal.aborted) throw interruptedBefore(composition, flavourName);

  const lock = await lockProject(project, `start ${composition}::${flavourName}`);
  try {
    return await startDeployment({
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
      deployer,
    });
  } finally {
    await lock.release();
  }
}

/** What steps 1 to 4 of {@link start} settled. */
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
  deployer: FlavourDeployer;
}

/** Steps 5 and 6 of {@link start}, with the project lock held. */
async function startDeployment(prepared: PreparedStart): Promise<StartSummary> {
  const {
    project,
    opts,
    composition,
    flavourName,
    reporter,
    signal,
    composeInfo,
    nodes,
    machines,
    identity,
    deployer,
  } = prepared;
  // 5. a previous deployment of the same composition::flavour
  const docPath = deploymentPath(project, composition, flavourName);
  const stPath = statePath(project, composition, flavourName);
  if (await pathExists(docPath)) {
    const { readDeploymentDocument } = await import('../deployment.js');
    let previous: DeploymentDocument | undefined;
    try {
      previous = await readDeploymentDocument(project, composition, flavourName);
    } catch {
      previous = undefined; // unreadable: treat as gone
    }
    if (previous && !opts.retryFailed) {
      const running = {
        project,
        composition,
        flavour: flavourName,
        reporter,
        signal,
        deployment: previous,
        state: await readState(project, composition, flavourName).catch(() => undefined),
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
      await rm(stPath, { force: true });
    }
  }

  // 6. start
  const written: string[] = [];
  let document: DeploymentDocument | undefined;
  let saved: unknown;
  const ctx: StartContext = {
    project,
    composition,
    flavour: flavourName,
    reporter,
    signal,
    composeInfo,
    nodes,
    ...(machines ? { machines } : {}),
    identity,
    ...(opts.kernelParams ? { kernelParams: opts.kernelParams } : {}),
    ...(opts.parameters && Object.keys(opts.parameters).length > 0 ? { parameters: opts.parameters } : {}),
    wait: opts.wait ?? true,
    timeoutMs: opts.timeoutMs ?? 300_000,
    options: {
      ...(project.config.flavourOptions[flavourName] ?? {}),
      ...(opts.options ?? {}),
      ...(opts.retryFailed ? { retryFailed: true } : {}),
    },
    async writeDeployment(deployed: DeployedNode[]) {
      const doc = buildDeploymentDocument({
        composeInfo,
        nodes: deployed,
        sshPublicKey: identity.publicKey,
        user: userInfo().username,
        ...(ctx.parameters ? { parameters: ctx.parameters } : {}),
      });
      written.push(docPath);
      const file = await writeDeploymentDocument(project, composition, flavourName, doc);
      if (!written.includes(file)) written.push(file);
      document = doc;
      return doc;
    },
    async saveState(state: unknown) {
      written.push(stPath);
      await writeJsonAtomic(stPath, state);
      saved = state;
    },
  };
  reporter.emit({
    type: 'step',
    message: `starting ${composition}::${flavourName} (${nodes.length} nodes)`,
  });
  let result: Awaited<ReturnType<typeof deployer.start>>;
  try {
    result = await deployer.start(ctx);
  } catch (error) {
    // A retry keeps the deployment of the nodes that are up.
    if (!opts.retryFailed) for (const file of new Set(written)) await rm(file, { force: true });
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
  if (!document) {
    throw new Error(`flavour ${flavourName} returned from start without calling writeDeployment`);
  }
  if (signal.aborted && !opts.retryFailed) {
    // interrupted as the flavour finished: the caller no longer wants the deployment
    await undo(deployer, { ...ctx, deployment: document, state: saved }, [...new Set(written)]);
  }
  reporter.emit({
    type: 'done',
    message: `${composition}::${flavourName} started (${result.nodes.length} nodes)`,
  });
  return {
    composition,
    flavour: flavourName,
    deploymentFile: docPath,
    deployment: document,
    nodes: result.nodes,
    composeInfo,
  };
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
