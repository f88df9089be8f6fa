/**
 * The Transposition interface: what a flavour plugin implements so that the same
 * composition runs on another platform. A plugin package default-exports a
 * {@link FlavourPlugin} (or a factory returning one); the CLI finds it through the
 * project's config and checks {@link FLAVOUR_API_VERSION}.
 *
 * Build side: a Nix module and an image kind, consumed by the Nix library (nix/).
 * Deploy side: TypeScript, loaded lazily (a flavour's heavy dependencies such as
 * dockerode or ssh2 are imported only when a command actually deploys with it).
 */
import type { ComposeInfo } from './compose-info.js';
import type { DeployedNode, DeploymentDocument, PlannedNode } from './deployment.js';
import type { Project } from './project.js';
import type { Reporter } from './reporter.js';
import type { SshIdentity } from './ssh-identity.js';

/**
 * Version of this interface. A plugin declares the version it was written for; the loader
 * refuses a plugin whose major version differs, naming the package and what to upgrade.
 */
export const FLAVOUR_API_VERSION = 1;

/** What the Nix library builds for a flavour. */
export type ImageKind =
  /** per-role system; containers run the role's init from the host's /nix/store */
  | 'docker'
  /** one kernel + one initrd holding every role's closure (vm-ramdisk, g5k-ramdisk) */
  | 'ramdisk'
  /** kernel + small initrd; the host's /nix/store is shared into the guest over 9p */
  | 'vm'
  /** kernel + small initrd; the store is mounted read-only over NFS (g5k-nfs-store) */
  | 'remote-store'
  /** a compressed tarball of a bootable system holding every role (g5k-image) */
  | 'tarball';

/** Build side of a flavour. */
export interface FlavourBuild {
  /** Image kind the Nix library produces for this flavour. */
  image: ImageKind;
  /**
   * Absolute path of the flavour's NixOS module (a `.nix` file shipped in the plugin
   * package), added to every role's configuration. Optional: some flavours need none.
   */
  nixModule?: string;
  /** `all-in-one` when one image holds every role (all kexec/VM flavours). */
  distribution?: 'per-role' | 'all-in-one';
}

/** A problem that makes a flavour unusable on this machine right now. */
export interface Unusable {
  /** One line: what is wrong (e.g. "cannot reach the Docker daemon at /var/run/docker.sock"). */
  reason: string;
  /** One line: how to fix it (e.g. "start it with `sudo systemctl start docker`"). */
  hint: string;
}

/** Context given to every deploy-side call. */
export interface FlavourContext {
  project: Project;
  /** Composition name (e.g. `composition`). */
  composition: string;
  /** Flavour name (e.g. `docker`). */
  flavour: string;
  reporter: Reporter;
  /** Aborted on Ctrl-C: stop what you are doing and clean up what you created. */
  signal: AbortSignal;
}

/** Everything `nxc start` hands to a flavour. */
export interface StartContext extends FlavourContext {
  composeInfo: ComposeInfo;
  /** Nodes to run, from the role distribution (role + hostname), in a stable order. */
  nodes: PlannedNode[];
  /** Existing machines to deploy onto (`-m FILE`, G5K), duplicates collapsed; absent for local flavours. */
  machines?: string[];
  /** Identity whose public key every node authorizes. */
  identity: SshIdentity;
  /** Extra kernel parameters (`-k`). */
  kernelParams?: string;
  /** User parameters (`-p/-P`), passed to the nodes in the deployment. */
  parameters?: Record<string, unknown>;
  /** Wait until every node is ready before returning (default true). */
  wait: boolean;
  /** Per-node readiness timeout in ms. */
  timeoutMs: number;
  /** Flavour-specific options from the CLI (`--accel`, `--push-path`...) and the config. */
  options: Record<string, unknown>;
  /**
   * Writes `deploy/<composition>::<flavour>.json` from nodes with addresses, and returns
   * the document (nodes read it at boot). Call it once addresses are known, before booting.
   */
  writeDeployment(nodes: DeployedNode[]): Promise<DeploymentDocument>;
  /** Persist flavour runtime state (container ids, pids, ports) next to the deployment. */
  saveState(state: unknown): Promise<void>;
}

/** Context of calls on a running deployment. */
export interface RunningContext extends FlavourContext {
  deployment: DeploymentDocument;
  /** What the flavour saved with `saveState` at start (undefined if nothing). */
  state: unknown;
  identity: SshIdentity;
  /**
   * Replaces the saved flavour state, e.g. with host keys learnt at the first connection to
   * nodes started with `--no-wait`, so that later commands check them. Optional: library
   * callers may not provide it.
   */
  saveState?(state: unknown): Promise<void>;
}

/** Context of {@link FlavourDeployer.removeLeftovers}: no document, no state, only the project. */
export interface LeftoversContext {
  project: Project;
  /** The flavour asked about (one deployer may serve several flavours). */
  flavour: string;
  /** Only this composition's objects; every composition of the project when absent. */
  composition?: string;
  reporter: Reporter;
  signal: AbortSignal;
}

/** What {@link FlavourDeployer.removeLeftovers} removed for one deployment. */
export interface RemovedLeftovers {
  composition: string;
  flavour: string;
  /** One line per object removed, for humans: `container nxc-composition-server-1a2b3c4d`. */
  removed: string[];
}

/** Result of start. */
export interface StartResult {
  nodes: NodeStatus[];
}

/** One node as `nxc status` shows it. */
export interface NodeStatus {
  host: string;
  role: string;
  address: string;
  state: 'running' | 'starting' | 'stopped' | 'exited' | 'unreachable' | 'unknown';
  /** Seconds since the node started, when known. */
  uptimeSeconds?: number;
  /** Free-form detail (container id, pid, exit code...). */
  detail?: string;
}

/** How {@link Transport.exec} runs a command: user, stdin, streaming callbacks, timeout, env. */
export interface ExecOptions {
  /** Run as this user (default root). */
  user?: string;
  /** Data written to the command's stdin. */
  stdin?: string | Buffer;
  /** Called with output as it arrives (for streamed, prefixed output). */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  timeoutMs?: number;
  signal?: AbortSignal;
  env?: Record<string, string>;
}

/** A finished command: its exit code and its whole output. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** How {@link Transport.shell} opens an interactive session: user, command, the local streams, TTY size. */
export interface ShellOptions {
  user?: string;
  /** Command to run instead of a login shell. */
  command?: string;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  /** Terminal size; `onResize` is called by the caller when it changes. */
  columns?: number;
  rows?: number;
}

/** An interactive session; resolves with the remote exit code. */
export interface ShellSession {
  resize(columns: number, rows: number): void;
  exited: Promise<number>;
}

/**
 * How nxc reaches nodes: used by `connect`, `exec`, the test-script driver and copies.
 * Node names are deployment hostnames.
 */
export interface Transport {
  /** Run a shell command (string, run by `sh -c`) or an argv on one node. */
  exec(host: string, command: string | string[], options?: ExecOptions): Promise<ExecResult>;
  /** Open an interactive shell with a TTY. */
  shell(host: string, options: ShellOptions): Promise<ShellSession>;
  /** Copy a local file or directory onto the node. */
  copyTo(host: string, localPath: string, remotePath: string): Promise<void>;
  /**
   * Copy a file or directory from the node to the local machine, replacing `localPath`.
   * The node is not trusted: implementations pass what it sends through
   * `receiveFromNode` (plain names only, no links created or followed, no set-id bits).
   */
  copyFrom(host: string, remotePath: string, localPath: string): Promise<void>;
  /** Release connections. */
  close(): Promise<void>;
}

/** Which lines {@link FlavourDeployer.logs} returns: follow or not, which hosts, how many from the end. */
export interface LogsOptions {
  follow: boolean;
  /** Only these hosts (all when empty). */
  hosts?: string[];
  /** Number of lines from the end per node (all when undefined). */
  tail?: number;
  signal?: AbortSignal;
}

/** One line of a node's log, with the host and the stream it came from. */
export interface LogLine {
  host: string;
  stream: 'stdout' | 'stderr' | 'console';
  line: string;
}

/**
 * Per-node power control, for test scripts (`machine.shutdown()`, `machine.crash()`).
 * Every member is optional: a flavour offers what its platform can do.
 */
export interface NodeControl {
  /** Power the node off cleanly and resolve once it is down. */
  shutdown?(host: string, signal?: AbortSignal): Promise<void>;
  /** Stop the node abruptly (kill the container / the VM process). */
  crash?(host: string, signal?: AbortSignal): Promise<void>;
  /** Start a stopped node again and resolve when it answers. */
  start?(host: string, signal?: AbortSignal): Promise<void>;
}

/** Deploy side of a flavour, loaded lazily by {@link Flavour.deployer}. */
export interface FlavourDeployer {
  /**
   * Start one node per planned node, write the deployment (via `ctx.writeDeployment`) and,
   * if `ctx.wait`, wait until every node is ready. On failure or abort, remove what it
   * created and throw an NxcError naming the node and the reason.
   */
  start(ctx: StartContext): Promise<StartResult>;
  /** Stop and remove everything of this deployment. Idempotent; finds leftovers after a crash. */
  stop(ctx: RunningContext): Promise<void>;
  /** Per-node state. */
  status(ctx: RunningContext): Promise<NodeStatus[]>;
  /** A transport to the running nodes. */
  transport(ctx: RunningContext): Promise<Transport>;
  /** Node logs (container output, serial console...). */
  logs?(ctx: RunningContext, options: LogsOptions): AsyncIterable<LogLine>;
  /** Optional per-node power control used by the test-script driver. */
  nodeControl?(ctx: RunningContext): Promise<NodeControl> | NodeControl;
  /**
   * Optional: finds what this flavour runs for the project on this machine from the platform
   * alone (engine labels, the process table), without the deployment document or the state,
   * and removes it. `nxc stop` calls it after `stop`, and on its own when a deployment's
   * documents are missing or unreadable, so that any deployment of the project can be
   * recovered. Called with the project lock held: nothing of the project is starting.
   * Returns what it removed per deployment, `[]` when nothing was left.
   */
  removeLeftovers?(ctx: LeftoversContext): Promise<RemovedLeftovers[]>;
}

/** One flavour, as a plugin declares it. */
export interface Flavour {
  /** Name used with `-f` (e.g. `docker`, `vm-ramdisk`). Lowercase, dashes. */
  name: string;
  /** One line shown by `nxc flavours`. */
  description: string;
  build: FlavourBuild;
  /**
   * Cheap pre-check run before start (docker daemon up, qemu present, OAR job present).
   * Returns undefined when usable. Must not create anything.
   */
  usable?(ctx: { project: Project }): Promise<Unusable | undefined>;
  /** Loads the deploy side (dynamic import keeps `nxc --help` fast). */
  deployer(): Promise<FlavourDeployer>;
}

/** What a flavour package exports (default export, or a factory returning it). */
export interface FlavourPlugin {
  /** The flavour API version this plugin was written for: {@link FLAVOUR_API_VERSION}. */
  apiVersion: number;
  /** Package name, for messages (e.g. `@nxc/flavour-docker`). */
  name: string;
  flavours: Flavour[];
}

/** Identity helper for plugin authors: type-checks a plugin definition. */
export function defineFlavourPlugin(plugin: FlavourPlugin): FlavourPlugin {
  return plugin;
}
