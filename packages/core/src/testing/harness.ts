/**
 * Contexts for calling a flavour's deployer directly, built the way `nxc start` and the
 * running-deployment commands build them (deployment document at
 * `deploy/<composition>::<flavour>.json`, state next to it), for flavour-specific tests that
 * must reach below the library verbs (a fault injected between two phases, a tiny budget).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readState, writeState } from '../commands/running.js';
import type { ComposeInfo } from '../compose-info.js';
import {
  type DeploymentDocument,
  type PlannedNode,
  buildDeploymentDocument,
  readDeploymentDocument,
  writeDeploymentDocument,
} from '../deployment.js';
import { type Project, makeProject } from '../project.js';
import type { ProgressEvent } from '../reporter.js';
import { type SshIdentity, generateEd25519KeyPair } from '../ssh-identity.js';
import { deploymentPath } from '../state.js';
import type { RunningContext, Schema, StartContext } from '../transposition.js';

/**
 * Planned nodes for `{ role: count }` with nxc's naming rules: a role of one node is named
 * after the role, a role of several `role1`..`roleN`. Roles keep the order given.
 */
export function planNodes(spec: Record<string, number>): PlannedNode[] {
  return Object.entries(spec).flatMap(([role, n]) =>
    n === 1
      ? [{ role, host: role }]
      : Array.from({ length: n }, (_, i) => ({ role, host: `${role}${i + 1}` })),
  );
}

/** Options of {@link throwAwayProject}. */
export interface ThrowAwayProjectOptions {
  /** Plugin packages its config lists (e.g. `['@nxc/flavour-docker']`). */
  plugins: string[];
  /** Prefix of the temp directory (default `nxc-test-`). */
  prefix?: string;
}

/**
 * A project in a new temp directory (config in memory, `build/`, `deploy/` and `artifact/`
 * created), for deployer-level tests that bring their own compose info. Remove its `root`
 * when done.
 */
export function throwAwayProject(options: ThrowAwayProjectOptions): Project {
  const root = mkdtempSync(join(tmpdir(), options.prefix ?? 'nxc-test-'));
  const project = makeProject(root, {
    plugins: options.plugins,
    composition: 'composition.nix',
    nix: { flags: [], overrideInputs: {} },
    flavourOptions: {},
  });
  for (const d of [project.buildDir, project.deployDir, project.artifactDir])
    mkdirSync(d, { recursive: true });
  return project;
}

/** Options of {@link flavourHarness}. */
export interface FlavourHarnessOptions<Options = Record<string, unknown>, State = unknown> {
  /** Flavour name written in the documents (`docker`, `vm-ramdisk`...). */
  flavour: string;
  /** The project deployed (see {@link throwAwayProject}). */
  project: Project;
  /** Composition name (default `composition`). */
  composition?: string;
  /**
   * Flavour options (as written in the config or with `-O`) every context carries unless a
   * start context is given its own; parsed with {@link optionsSchema} when given.
   */
  options?: Record<string, unknown>;
  /**
   * The flavour's options schema (`Flavour.options`): contexts carry the options parsed by it,
   * defaults filled in, as core hands them to the deployer. Without it, the options as given.
   */
  optionsSchema?: Schema<Options>;
  /**
   * The deployer's `stateSchema` (required, as on the deployer): `saveState` refuses a state it
   * refuses and running contexts read the state back through it, as core does (a corrupt state
   * is core's one-line error), so a test sees what `nxc status`, `nxc stop`... would see.
   */
  stateSchema: Schema<State>;
  /** Per-node readiness timeout of start contexts in ms (default 180 s). */
  timeoutMs?: number;
}

/** What a start context may be given instead of the harness's: its own (raw) options too. */
export type StartContextOverrides<Options = Record<string, unknown>, State = unknown> = Partial<
  Omit<StartContext<Options, State>, 'options'>
> & {
  /** Flavour options as written (replacing the harness's), parsed like the harness's. */
  options?: Record<string, unknown>;
};

/** A throw-away project and the contexts core would hand its flavour. */
export interface FlavourHarness<Options = Record<string, unknown>, State = unknown> {
  project: Project;
  /** A new ed25519 identity kept in the project's `.nxc/ssh/` (nodes authorize its public key). */
  identity: SshIdentity;
  /** Every progress event the flavour emitted through start contexts. */
  events: ProgressEvent[];
  /** Path of the deployment document start contexts write. */
  deploymentFile(): string;
  /** A start context for `nodes` of `info`; `extra` replaces any member. */
  startContext(
    info: ComposeInfo,
    nodes: PlannedNode[],
    extra?: StartContextOverrides<Options, State>,
  ): StartContext<Options, State>;
  /** The running context of what the last start wrote (an empty deployment when nothing). */
  runningContext(extra?: Partial<RunningContext<Options, State>>): Promise<RunningContext<Options, State>>;
  /** Removes the project's directory. */
  remove(): void;
}

/**
 * Builds the {@link StartContext} and {@link RunningContext} core's orchestration would build
 * for `options.flavour` on `options.project`: the deployment document and the state are
 * written where `nxc status`, `nxc stop`... read them.
 */
export function flavourHarness<Options = Record<string, unknown>, State = unknown>(
  options: FlavourHarnessOptions<Options, State>,
): FlavourHarness<Options, State> {
  const { flavour, project, composition = 'composition' } = options;
  const parseOptions = (raw: Record<string, unknown> | undefined): Options =>
    options.optionsSchema ? options.optionsSchema.parse({ ...(raw ?? {}) }) : ({ ...(raw ?? {}) } as Options);
  const keys = generateEd25519KeyPair('nxc@test');
  const privateKeyPath = join(project.root, '.nxc', 'ssh', 'id_ed25519');
  mkdirSync(join(project.root, '.nxc', 'ssh'), { recursive: true, mode: 0o700 });
  writeFileSync(privateKeyPath, keys.privateKey, { mode: 0o600 });
  writeFileSync(`${privateKeyPath}.pub`, `${keys.publicKey}\n`);
  const identity: SshIdentity = { privateKeyPath, publicKey: keys.publicKey };
  const events: ProgressEvent[] = [];
  const reporter = { emit: (e: ProgressEvent) => events.push(e) };
  const docFile = deploymentPath(project, composition, flavour);
  const saveState = (state: State) => writeState(project, composition, flavour, options, state);
  const base = { project, composition, flavour, reporter };
  return {
    project,
    identity,
    events,
    deploymentFile: () => docFile,
    startContext(info, nodes, { options: own, ...extra } = {}) {
      return {
        ...base,
        signal: new AbortController().signal,
        composeInfo: info,
        nodes,
        identity,
        wait: true,
        timeoutMs: options.timeoutMs ?? 180_000,
        options: parseOptions(own ?? options.options),
        async writeDeployment(deployed) {
          const doc = buildDeploymentDocument({
            composeInfo: info,
            nodes: deployed,
            sshPublicKey: identity.publicKey,
            user: 'root',
          });
          await writeDeploymentDocument(project, composition, flavour, doc);
          return doc;
        },
        saveState,
        ...extra,
      };
    },
    async runningContext(extra = {}) {
      const deployment: DeploymentDocument = existsSync(docFile)
        ? await readDeploymentDocument(project, composition, flavour)
        : { deployment: {}, 'ssh_key.pub': '', composition, flavour, user: 'root' };
      return {
        ...base,
        signal: new AbortController().signal,
        deployment,
        options: parseOptions(options.options),
        state: (await readState(project, composition, flavour, options.stateSchema)) as State | undefined,
        identity,
        saveState,
        ...extra,
      };
    },
    remove() {
      rmSync(project.root, { recursive: true, force: true });
    },
  };
}
