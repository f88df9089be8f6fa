/**
 * Deployment records: the account of one successful `nxc start`, enough to trace a result
 * back to the exact environment that produced it and to start the same deployment again
 * (versions, locked flake inputs, compose info and its store paths, nodes, parameters,
 * flavour options, platform, timings). Written next to the deployment while it runs and kept
 * in `artifact/<composition>/<flavour>/records/`, which `nxc stop` does not touch.
 */
import { readFile, readdir, realpath, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { writeJsonAtomic } from './atomic-file.js';
import type { ComposeInfo } from './compose-info.js';
import { type NodeDisk, nodeDiskSchema } from './deployment.js';
import { NxcError } from './errors.js';
import { nodeCrypto } from './lazy-builtins.js';
import { lazy } from './lazy.js';
import { conditionSchema } from './net-schema.js';
import type { Project } from './project.js';
import type { ProgressEvent, Reporter } from './reporter.js';
import { artifactDir, deploymentKey } from './state.js';
import type { NetworkCondition } from './transposition.js';
import { displayPath, errnoCode, firstLine, formatZodError } from './validation.js';

/**
 * The version of the record format this nxc writes. It reads it and version 1 (records
 * written before replays: no `identity`, no `replayOf`).
 */
export const RECORD_VERSION = 2;

/** The record versions this nxc reads. */
export const READABLE_RECORD_VERSIONS: readonly number[] = [1, 2];

/** Which SSH identity the nodes authorized: the project's, or a `-i` file (its path, never the key). */
export type RecordedIdentity = { kind: 'project' } | { kind: 'file'; file: string };

/** One locked flake input, as flake.lock has it (fields the lock lacks are absent). */
export interface LockedInput {
  type?: string;
  owner?: string;
  repo?: string;
  url?: string;
  path?: string;
  ref?: string;
  rev?: string;
  narHash?: string;
  lastModified?: number;
  /** The input follows another one (`inputs.x.follows`), by its path of input names. */
  follows?: string[];
}

/** The flake's lock when the deployment started. */
export interface RecordedFlake {
  /** `flake.lock` of the project, or null when the project has none (inputs then unknown). */
  lockFile: string | null;
  /** The root's inputs by name, with what they were locked to. Empty without a lock. */
  inputs: Record<string, LockedInput>;
  /** The whole lock file as parsed (what a rebuild needs), null without one. */
  lock: unknown;
  /** Why `lock` is null (e.g. `no flake.lock in the project`). */
  note?: string;
  /** Inputs the config replaced (`nix.overrideInputs`: name -> flake reference), when any. */
  overrideInputs?: Record<string, string>;
}

/** One node of a recorded deployment. */
export interface RecordedNode {
  host: string;
  role: string;
  address: string;
  /** Rank within its role, from 1 (the deployment document's `index`). */
  index?: number;
  /** Position in the deployment document, from 0. */
  globalIndex?: number;
  /** The node's per-deployment UUID, which a replay gives it again. */
  uuid?: string;
  /** The machine it ran on, when the flavour deploys onto machines (g5k). */
  machine?: string;
  /** The node's state when the start returned (`running`, `starting`, `exited`...). */
  state: string;
  /** The node's block devices (its role's `nxc.disks`), absent when none. */
  disks?: NodeDisk[];
  /** When the flavour reported the node launched (created, booting), ISO 8601. */
  launchedAt?: string;
  /** When the flavour reported the node ready, ISO 8601 (absent with `--no-wait`). */
  readyAt?: string;
}

/** The account of one successful `nxc start` (format version {@link RECORD_VERSION}). */
export interface DeploymentRecord {
  /** 2 for records this nxc writes; 1 for older ones (read as they are). */
  recordVersion: 1 | 2;
  /** `<UTC timestamp>-<8 hex digits>`, the record's file name without `.json`. */
  id: string;
  composition: string;
  flavour: string;
  /** The start redeployed only failed nodes (`--retry-failed`). */
  retry: boolean;
  /** When the start began and returned, ISO 8601. */
  startedAt: string;
  endedAt: string;
  /** Versions: `@nxc/core` and the plugin that provided the flavour. */
  versions: { core: string; plugin: { name: string; spec: string; version?: string } };
  project: { root: string };
  flake: RecordedFlake;
  composeInfo: {
    /** The file it was read from (a build link or `--compose-info`). */
    file: string;
    /** The store path behind it, when it is in /nix/store. */
    storePath?: string;
    format: ComposeInfo['format'];
    system?: string;
    image?: string;
    /** Per role: the store paths of its init and system. */
    roles: Record<string, { init: string; toplevel?: string }>;
    /** Shared artifacts (kernel, initrd, image, compose file...). */
    all: Record<string, string>;
    testScript?: string;
    /** Every /nix/store path the compose info names, sorted, each once. */
    storePaths: string[];
  };
  /** The role distribution as resolved: role -> hostnames (a valid distribution file). */
  distribution: Record<string, string[]>;
  nodes: RecordedNode[];
  /** The machines given with `-m`, in their order. */
  machines?: string[];
  parameters?: Record<string, unknown>;
  kernelParams?: string;
  /** The flavour's options as validated by its schema. */
  flavourOptions: unknown;
  /** What the flavour reported of its platform (e.g. the OAR job), when it does. */
  platform?: Record<string, unknown>;
  wait: boolean;
  /** The declared network conditions put in force once the nodes were up (composition, `--net`). */
  network?: NetworkCondition[];
  /** The SSH identity the nodes authorized (absent from version-1 records). */
  identity?: RecordedIdentity;
  /** `nxc start --replay`: the id of the record this start replayed. */
  replayOf?: string;
  /** A replay whose parameters differ from the replayed record's (`-p`/`-P`). */
  replication?: boolean;
  /** The parameter keys a replication changed, sorted. */
  changedParameters?: string[];
  /** A replay: whether the recorded compose info was used as it was or rebuilt from the recorded lock. */
  composeInfoOrigin?: 'recorded' | 'rebuilt';
  /** A replay: what differed from the replayed record (machines, identity), one line each. */
  replayChanges?: string[];
}

/** One line of {@link listRecords}: what `nxc records` shows. */
export interface RecordSummary {
  id: string;
  /** The record file. */
  path: string;
  startedAt: string;
  composition: string;
  flavour: string;
  nodes: number;
  retry: boolean;
}

/** A record file that could not be read, with why (one line). */
export interface RecordProblem {
  path: string;
  message: string;
}

/** What {@link listRecords} found. */
export interface RecordList {
  /** Newest first. */
  records: RecordSummary[];
  /** Unreadable or invalid record files; the others are still listed. */
  problems: RecordProblem[];
}

const recordSchema = lazy(() => {
  const iso = z.string().datetime({ offset: true });
  const lockedInput = z
    .object({
      type: z.string().optional(),
      owner: z.string().optional(),
      repo: z.string().optional(),
      url: z.string().optional(),
      path: z.string().optional(),
      ref: z.string().optional(),
      rev: z.string().optional(),
      narHash: z.string().optional(),
      lastModified: z.number().optional(),
      follows: z.array(z.string()).optional(),
    })
    .passthrough();

  return z.object({
    recordVersion: z.union([z.literal(1), z.literal(2)]),
    id: z.string().regex(/^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$/),
    composition: z.string().min(1),
    flavour: z.string().min(1),
    retry: z.boolean(),
    startedAt: iso,
    endedAt: iso,
    versions: z.object({
      core: z.string(),
      plugin: z.object({ name: z.string(), spec: z.string(), version: z.string().optional() }),
    }),
    project: z.object({ root: z.string() }),
    flake: z.object({
      lockFile: z.string().nullable(),
      inputs: z.record(lockedInput),
      lock: z.unknown(),
      note: z.string().optional(),
      overrideInputs: z.record(z.string()).optional(),
    }),
    composeInfo: z.object({
      file: z.string(),
      storePath: z.string().optional(),
      format: z.enum(['nxc', 'nxc-python-docker', 'nxc-python-all-in-one']),
      system: z.string().optional(),
      image: z.string().optional(),
      roles: z.record(z.object({ init: z.string(), toplevel: z.string().optional() })),
      all: z.record(z.string()),
      testScript: z.string().optional(),
      storePaths: z.array(z.string()),
    }),
    distribution: z.record(z.array(z.string())),
    nodes: z.array(
      z.object({
        host: z.string().min(1),
        role: z.string().min(1),
        address: z.string(),
        index: z.number().int().positive().optional(),
        globalIndex: z.number().int().nonnegative().optional(),
        uuid: z.string().uuid().optional(),
        machine: z.string().optional(),
        state: z.string(),
        disks: z.array(nodeDiskSchema()).optional(),
        launchedAt: iso.optional(),
        readyAt: iso.optional(),
      }),
    ),
    machines: z.array(z.string()).optional(),
    parameters: z.record(z.unknown()).optional(),
    kernelParams: z.string().optional(),
    flavourOptions: z.unknown(),
    platform: z.record(z.unknown()).optional(),
    wait: z.boolean(),
    network: z.array(conditionSchema()).optional(),
    identity: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('project') }),
        z.object({ kind: z.literal('file'), file: z.string().min(1) }),
      ])
      .optional(),
    replayOf: z.string().optional(),
    replication: z.boolean().optional(),
    changedParameters: z.array(z.string()).optional(),
    composeInfoOrigin: z.enum(['recorded', 'rebuilt']).optional(),
    replayChanges: z.array(z.string()).optional(),
  });
});

/**
 * Checks a parsed record file; `where` names it in the error.
 * @throws NxcError `NXC_DEPLOYMENT` naming the file and the first problem.
 */
export function parseRecord(data: unknown, where: string): DeploymentRecord {
  const version = (data as { recordVersion?: unknown } | null)?.recordVersion;
  if (
    typeof data === 'object' &&
    data !== null &&
    version !== undefined &&
    !READABLE_RECORD_VERSIONS.includes(version as number)
  ) {
    throw new NxcError(
      'NXC_DEPLOYMENT',
      `${where}: record version ${JSON.stringify(version)} is not supported (this nxc reads ${READABLE_RECORD_VERSIONS.join(' and ')})`,
      { hint: 'read it with the nxc that wrote it' },
    );
  }
  const result = recordSchema().safeParse(data);
  if (!result.success) {
    throw new NxcError(
      'NXC_DEPLOYMENT',
      `${where}: not a deployment record: ${formatZodError(result.error)}`,
      {
        hint: 'move the file out of the records folder (nxc does not write it this way)',
      },
    );
  }
  return result.data as DeploymentRecord;
}

/** `artifact/<composition>/<flavour>/records/`: the records kept after stop. */
export function recordsDir(project: Project, composition: string, flavour: string): string {
  return join(artifactDir(project, composition, flavour), 'records');
}

/** `deploy/<composition>::<flavour>.record.json`: the running deployment's record. */
export function runningRecordPath(project: Project, composition: string, flavour: string): string {
  return join(project.deployDir, `${deploymentKey(composition, flavour)}.record.json`);
}

/** A new record id from the start's time: `20261201T023833Z-1a2b3c4d`. */
export function newRecordId(startedAt: Date): string {
  const stamp = startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${nodeCrypto().randomBytes(4).toString('hex')}`;
}

let coreVersion: string | undefined;

/** `@nxc/core`'s version, from its package.json (found above this module, in src/ or dist/). */
export async function readCoreVersion(): Promise<string> {
  if (coreVersion) return coreVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === '@nxc/core' && typeof pkg.version === 'string') {
        coreVersion = pkg.version;
        return coreVersion;
      }
    } catch {
      // not here: one folder up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** The root inputs of a parsed flake.lock (format 7: `nodes`, `root`), with what they are locked to. */
export function lockedInputs(lock: unknown): Record<string, LockedInput> {
  const nodes = (lock as { nodes?: unknown })?.nodes;
  if (typeof nodes !== 'object' || nodes === null) return {};
  const all = nodes as Record<string, { inputs?: Record<string, unknown>; locked?: unknown }>;
  const rootName =
    typeof (lock as { root?: unknown }).root === 'string' ? (lock as { root: string }).root : 'root';
  const inputs = all[rootName]?.inputs ?? {};
  const out: Record<string, LockedInput> = {};
  const fields = ['type', 'owner', 'repo', 'url', 'path', 'ref', 'rev', 'narHash'] as const;
  for (const [name, target] of Object.entries(inputs)) {
    if (Array.isArray(target)) {
      out[name] = { follows: target.map(String) };
      continue;
    }
    const locked = typeof target === 'string' ? all[target]?.locked : undefined;
    if (typeof locked !== 'object' || locked === null) continue;
    const l = locked as Record<string, unknown>;
    const entry: LockedInput = {};
    for (const f of fields) if (typeof l[f] === 'string') entry[f] = l[f] as string;
    if (typeof l.lastModified === 'number') entry.lastModified = l.lastModified;
    out[name] = entry;
  }
  return out;
}

/**
 * The project's flake.lock, summarized, and the config's input overrides; a missing lock is
 * recorded as such, not an error.
 */
export async function readFlakeLock(project: Project): Promise<RecordedFlake> {
  const overrides = project.config.nix.overrideInputs;
  const withOverrides = (flake: RecordedFlake): RecordedFlake =>
    Object.keys(overrides).length > 0 ? { ...flake, overrideInputs: { ...overrides } } : flake;
  return withOverrides(await readLock(project));
}

async function readLock(project: Project): Promise<RecordedFlake> {
  const file = join(project.root, 'flake.lock');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    return {
      lockFile: null,
      inputs: {},
      lock: null,
      note:
        code === 'ENOENT'
          ? 'no flake.lock in the project'
          : `flake.lock unreadable (${code ?? firstLine(error)})`,
    };
  }
  try {
    const lock: unknown = JSON.parse(text);
    return { lockFile: file, inputs: lockedInputs(lock), lock };
  } catch (error) {
    return { lockFile: file, inputs: {}, lock: null, note: `flake.lock is not JSON (${firstLine(error)})` };
  }
}

const STORE_PATH = /^\/nix\/store\/[^/\s]+/;

/** Every /nix/store path the compose info names (roles, shared artifacts, test script, extra). */
export function composeInfoStorePaths(info: ComposeInfo): string[] {
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      if (STORE_PATH.test(value)) found.add(value);
    } else if (Array.isArray(value)) {
      for (const v of value) visit(v);
    } else if (typeof value === 'object' && value !== null) {
      for (const v of Object.values(value)) visit(v);
    }
  };
  visit(info.roles);
  visit(info.all);
  visit(info.testScript);
  visit(info.extra);
  return [...found].sort();
}

/** Per host: when the flavour reported it launched and ready. */
export type NodeTimings = Map<string, { launchedAt?: string; readyAt?: string }>;

// The node states flavours emit (docker `started`, qemu/g5k-image `booting`, kexec `rebooting`,
// launchNodes `ready`, g5k `up`).
const LAUNCHED_STATES = new Set(['launched', 'created', 'started', 'starting', 'booting', 'rebooting']);
const READY_STATES = new Set(['ready', 'up', 'running']);

/**
 * A reporter passing every event on to `inner` and noting, per host, the first time a node
 * event said it launched and that it was ready (ISO timestamps from `now`).
 */
export function timingReporter(
  inner: Reporter,
  now: () => Date = () => new Date(),
): { reporter: Reporter; timings: NodeTimings } {
  const timings: NodeTimings = new Map();
  return {
    timings,
    reporter: {
      emit(event: ProgressEvent) {
        if (event.type === 'node') {
          const t = timings.get(event.host) ?? {};
          if (LAUNCHED_STATES.has(event.state) && !t.launchedAt) t.launchedAt = now().toISOString();
          if (READY_STATES.has(event.state) && !t.readyAt) {
            t.readyAt = now().toISOString();
            t.launchedAt ??= t.readyAt;
          }
          timings.set(event.host, t);
        }
        inner.emit(event);
      },
    },
  };
}

/**
 * Everything {@link buildRecord} puts together; the start knows all of it. The fields the
 * record keeps as given are the record's own.
 */
export interface RecordInput
  extends Pick<
    DeploymentRecord,
    | 'id'
    | 'composition'
    | 'flavour'
    | 'retry'
    | 'machines'
    | 'parameters'
    | 'kernelParams'
    | 'flavourOptions'
    | 'platform'
    | 'wait'
    | 'network'
    | 'identity'
    | 'replayOf'
    | 'replication'
    | 'changedParameters'
    | 'composeInfoOrigin'
    | 'replayChanges'
  > {
  project: Project;
  startedAt: Date;
  endedAt: Date;
  coreVersion: string;
  plugin: { name: string; spec: string; version?: string };
  flake: RecordedFlake;
  composeInfo: ComposeInfo;
  composeInfoStorePath?: string;
  /** The deployment document's nodes: address -> role, host and identity. */
  deployment: Record<
    string,
    { role: string; host: string; index?: number; globalIndex?: number; uuid?: string; disks?: NodeDisk[] }
  >;
  /** The nodes as the flavour's start returned them. */
  nodes: { host: string; role: string; address: string; state: string; machine?: string }[];
  timings: NodeTimings;
}

/** The record of a start (pure: no I/O). Nodes come in the document's order. */
export function buildRecord(input: RecordInput): DeploymentRecord {
  const info = input.composeInfo;
  const returned = new Map(input.nodes.map((n) => [n.host, n]));
  const nodes: RecordedNode[] = [];
  const distribution: Record<string, string[]> = {};
  for (const [address, n] of Object.entries(input.deployment)) {
    const status = returned.get(n.host);
    const timing = input.timings.get(n.host) ?? {};
    nodes.push({
      host: n.host,
      role: n.role,
      address,
      ...(n.index === undefined ? {} : { index: n.index }),
      ...(n.globalIndex === undefined ? {} : { globalIndex: n.globalIndex }),
      ...(n.uuid === undefined ? {} : { uuid: n.uuid }),
      ...(status?.machine ? { machine: status.machine } : {}),
      state: status?.state ?? 'unknown',
      ...(n.disks && n.disks.length > 0 ? { disks: n.disks.map((d) => ({ ...d })) } : {}),
      ...(timing.launchedAt ? { launchedAt: timing.launchedAt } : {}),
      ...(timing.readyAt ? { readyAt: timing.readyAt } : {}),
    });
    distribution[n.role] = [...(distribution[n.role] ?? []), n.host];
  }
  const roles: DeploymentRecord['composeInfo']['roles'] = {};
  for (const [role, r] of Object.entries(info.roles)) {
    roles[role] = { init: r.init, ...(r.toplevel ? { toplevel: r.toplevel } : {}) };
  }
  return {
    recordVersion: RECORD_VERSION,
    id: input.id,
    composition: input.composition,
    flavour: input.flavour,
    retry: input.retry,
    startedAt: input.startedAt.toISOString(),
    endedAt: input.endedAt.toISOString(),
    versions: { core: input.coreVersion, plugin: input.plugin },
    project: { root: input.project.root },
    flake: input.flake,
    composeInfo: {
      file: info.source,
      ...(input.composeInfoStorePath ? { storePath: input.composeInfoStorePath } : {}),
      format: info.format,
      ...(info.system ? { system: info.system } : {}),
      ...(info.flavour.image ? { image: info.flavour.image } : {}),
      roles,
      all: info.all,
      ...(info.testScript ? { testScript: info.testScript } : {}),
      storePaths: composeInfoStorePaths(info),
    },
    distribution,
    nodes,
    ...(input.machines ? { machines: input.machines } : {}),
    ...(input.parameters && Object.keys(input.parameters).length > 0 ? { parameters: input.parameters } : {}),
    ...(input.kernelParams ? { kernelParams: input.kernelParams } : {}),
    flavourOptions: input.flavourOptions ?? null,
    ...(input.platform ? { platform: input.platform } : {}),
    wait: input.wait,
    ...(input.network && input.network.length > 0 ? { network: input.network } : {}),
    ...(input.identity ? { identity: input.identity } : {}),
    ...(input.replayOf ? { replayOf: input.replayOf } : {}),
    ...(input.replayOf ? { replication: input.replication === true } : {}),
    ...(input.changedParameters && input.changedParameters.length > 0
      ? { changedParameters: input.changedParameters }
      : {}),
    ...(input.composeInfoOrigin ? { composeInfoOrigin: input.composeInfoOrigin } : {}),
    ...(input.replayChanges && input.replayChanges.length > 0 ? { replayChanges: input.replayChanges } : {}),
  };
}

/** The store path a compose info file resolves to, when it is in /nix/store. */
export async function composeInfoStorePath(file: string): Promise<string | undefined> {
  const real = await realpath(file).catch(() => undefined);
  return real && STORE_PATH.test(real) ? real : undefined;
}

/**
 * Writes the record (mode 0600: it carries the parameters) into the records folder and next
 * to the deployment; returns the kept file's path. Each write is atomic.
 */
export async function writeRecord(project: Project, record: DeploymentRecord): Promise<string> {
  const kept = join(recordsDir(project, record.composition, record.flavour), `${record.id}.json`);
  await writeJsonAtomic(kept, record, { mode: 0o600 });
  await writeJsonAtomic(runningRecordPath(project, record.composition, record.flavour), record, {
    mode: 0o600,
  });
  return kept;
}

/** Removes the running deployment's record (the kept one in artifact/ stays). */
export async function removeRunningRecord(
  project: Project,
  composition: string,
  flavour: string,
): Promise<void> {
  await rm(runningRecordPath(project, composition, flavour), { force: true });
}

async function readRecordFile(file: string): Promise<DeploymentRecord> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new NxcError(
      'NXC_DEPLOYMENT',
      `cannot read record ${displayPath(file)} (${errnoCode(error) ?? firstLine(error)})`,
      {
        hint: `check its permissions (ls -l ${displayPath(file)})`,
      },
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new NxcError(
      'NXC_DEPLOYMENT',
      `${displayPath(file)}: not a deployment record: invalid JSON (${firstLine(error)})`,
      {
        hint: 'move the file out of the records folder (nxc does not write it this way)',
      },
    );
  }
  return parseRecord(data, displayPath(file));
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw error;
  }
}

/** Every record file of the project: `artifact/<c>/<f>/records/*.json`. */
async function recordFiles(project: Project): Promise<string[]> {
  const files: string[] = [];
  for (const composition of await names(project.artifactDir)) {
    for (const flavour of await names(join(project.artifactDir, composition))) {
      const dir = join(project.artifactDir, composition, flavour, 'records');
      for (const name of await names(dir)) {
        if (name.endsWith('.json') && !name.startsWith('.')) files.push(join(dir, name));
      }
    }
  }
  return files;
}

function summarize(record: DeploymentRecord, path: string): RecordSummary {
  return {
    id: record.id,
    path,
    startedAt: record.startedAt,
    composition: record.composition,
    flavour: record.flavour,
    nodes: record.nodes.length,
    retry: record.retry,
  };
}

/**
 * The project's deployment records, newest first. A record that cannot be read or is not
 * valid is reported in `problems` (one line naming the file); the others are still listed.
 */
export async function listRecords(project: Project): Promise<RecordList> {
  const records: RecordSummary[] = [];
  const problems: RecordProblem[] = [];
  for (const file of await recordFiles(project)) {
    try {
      records.push(summarize(await readRecordFile(file), file));
    } catch (error) {
      problems.push({ path: file, message: firstLine(error) });
    }
  }
  records.sort((a, b) =>
    a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : b.id.localeCompare(a.id),
  );
  return { records, problems };
}

/**
 * One record, by its id, the 8 hex digits that end it, or a unique prefix of the id; or by
 * the path of a record file.
 * @throws NxcError `NXC_USAGE` when no record (or several) match; `NXC_DEPLOYMENT` when the
 *   record file is not valid.
 */
export async function readRecord(
  project: Project,
  id: string,
): Promise<{ record: DeploymentRecord; path: string }> {
  if (id.endsWith('.json') && id.includes('/')) return { record: await readRecordFile(id), path: id };
  const files = await recordFiles(project);
  const base = (f: string) => f.slice(f.lastIndexOf('/') + 1, -'.json'.length);
  const matching = files.filter(
    (f) => base(f) === id || base(f).endsWith(`-${id}`) || (id.length >= 4 && base(f).startsWith(id)),
  );
  if (matching.length === 0) {
    throw new NxcError(
      'NXC_USAGE',
      `no deployment record ${JSON.stringify(id)} in ${displayPath(project.artifactDir)}`,
      {
        hint: '`nxc records` lists them',
      },
    );
  }
  if (matching.length > 1) {
    throw new NxcError(
      'NXC_USAGE',
      `${JSON.stringify(id)} names ${matching.length} records (${matching.map(base).join(', ')})`,
      {
        hint: 'give more of the id',
      },
    );
  }
  const file = matching[0]!;
  return { record: await readRecordFile(file), path: file };
}
