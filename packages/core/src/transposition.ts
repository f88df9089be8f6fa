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
import type { ZodType, ZodTypeDef } from 'zod';
import type { ComposeInfo } from './compose-info.js';
import type { DeployedNode, DeploymentDocument, PlannedNode } from './deployment.js';
import type { Project } from './project.js';
import type { Reporter } from './reporter.js';
import type { SshIdentity } from './ssh-identity.js';

/**
 * Version of this interface. A plugin declares the version it was written for; the loader
 * refuses a plugin whose major version differs, naming the package and what to upgrade.
 *
 * Version 2: a flavour declares its options (a zod schema, {@link Flavour.options}) and the
 * CLI flags that set them ({@link Flavour.flags}); the deployer receives them parsed and
 * typed, declares the schema of its state ({@link FlavourDeployer.stateSchema}), and offers
 * `--retry-failed` by implementing {@link FlavourDeployer.retryFailed}.
 */
export const FLAVOUR_API_VERSION = 2;

/**
 * A schema of options or state: a zod schema whose output is `T`. Write it with zod 3
 * (`z.object({...}).strict()`); core reads it through `safeParse` only, plus `shape` (the
 * option names, for did-you-mean) when it is an object schema.
 */
export type Schema<T> = ZodType<T, ZodTypeDef, unknown>;

/**
 * A command-line flag of `nxc start` that sets one option of a flavour. Core adds it to
 * `nxc start` when the flavour is installed, shows it in `nxc start -f <flavour> --help`,
 * and refuses it (naming the flavours that own it) when another flavour is started.
 */
export interface FlavourFlag {
  /**
   * The flag as users type it, in commander's notation: a long name, optionally a short one,
   * and `<value>` when it takes a value: `--accel <mode>`, `-y, --yes`, `--port <port>`.
   * It must not be one of `nxc start`'s own flags.
   */
  flag: string;
  /** The option it sets: a key of {@link Flavour.options}. */
  option: string;
  /**
   * How the text on the command line becomes the option's value: `boolean` for a flag
   * without value (sets `true`), `string` as typed, `number` parsed (not a number: refused).
   */
  type: 'boolean' | 'string' | 'number';
  /** One line of help (`nxc start -f <flavour> --help`). */
  description: string;
}

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
export interface FlavourContext<Options = unknown> {
  project: Project;
  /** Composition name (e.g. `composition`). */
  composition: string;
  /** Flavour name (e.g. `docker`). */
  flavour: string;
  reporter: Reporter;
  /** Aborted on Ctrl-C: stop what you are doing and clean up what you created. */
  signal: AbortSignal;
  /**
   * The flavour's options, parsed by {@link Flavour.options} (defaults filled in). At start:
   * the config's `flavourOptions[flavour]`, then `-O key=value`, then the flavour's flags.
   * On a running deployment: the config's alone.
   */
  options: Options;
}

/** Everything `nxc start` hands to a flavour. */
export interface StartContext<Options = unknown, State = unknown> extends FlavourContext<Options> {
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
  /**
   * Writes `deploy/<composition>::<flavour>.json` from nodes with addresses, and returns
   * the document (nodes read it at boot). Call it once addresses are known, before booting.
   */
  writeDeployment(nodes: DeployedNode[]): Promise<DeploymentDocument>;
  /**
   * Persist flavour runtime state (container ids, pids, ports) next to the deployment. Core
   * checks it against {@link FlavourDeployer.stateSchema} and writes it atomically.
   */
  saveState(state: State): Promise<void>;
}

/** Context of calls on a running deployment. */
export interface RunningContext<Options = unknown, State = unknown> extends FlavourContext<Options> {
  deployment: DeploymentDocument;
  /**
   * What the flavour saved with `saveState` at start, checked against
   * {@link FlavourDeployer.stateSchema} when read back (undefined if nothing was saved).
   */
  state: State | undefined;
  identity: SshIdentity;
  /**
   * Replaces the saved flavour state, e.g. with host keys learnt at the first connection to
   * nodes started with `--no-wait`, so that later commands check them. Optional: library
   * callers may not provide it.
   */
  saveState?(state: State): Promise<void>;
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
  /**
   * What the deployment ran on, for its record (`nxc records`): JSON values only, e.g.
   * `{ oarJobId: 123456, site: 'grenoble' }`. Optional.
   */
  platform?: Record<string, unknown>;
}

/** One node as `nxc status` shows it. */
export interface NodeStatus {
  host: string;
  role: string;
  address: string;
  /** The machine the node runs on, when the flavour deploys onto machines (g5k). */
  machine?: string;
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

/**
 * What a node's console and its machine monitor offer test scripts beyond commands (the
 * NixOS test driver's `send_key`/`send_chars`, `forward_port`). Every member is optional: a
 * flavour offers what its platform can do; the driver refuses the others in one line naming
 * the call and the flavour.
 */
export interface NodeMonitor {
  /**
   * Presses one key (or chord) on the node's keyboard, QEMU `sendkey` names: `a`, `shift-a`,
   * `ret`, `spc`, `ctrl-alt-delete`, `0x0C`.
   */
  sendKey?(host: string, key: string): Promise<void>;
  /**
   * Writes `chars` to the node's serial console input, as typed on a terminal attached to
   * it (NixOS test driver's `send_console`): what reads the kernel console (`ttyS0`), e.g. a
   * shell in emergency mode, receives them.
   */
  sendConsole?(host: string, chars: string): Promise<void>;
  /**
   * Makes TCP `127.0.0.1:hostPort` on the machine running nxc reach the node's `guestPort`,
   * for as long as the node runs (QEMU) or until {@link close} (a relay in the nxc process).
   */
  forwardPort?(host: string, hostPort: number, guestPort: number): Promise<void>;
  /** Releases what this monitor holds in the nxc process (relays). Idempotent. */
  close?(): Promise<void>;
}

/** One end of a network condition: a node of the deployment. */
export interface NetworkEnd {
  host: string;
  /** The node's address in the deployment (what the other node reaches it at). */
  address: string;
}

/**
 * A network condition between two nodes, both directions. `partition`: no packet passes.
 * `delay`/`loss`/`rate`: traffic shaping, each applied to the packets each end sends to the
 * other (delay in ms one way, so the round trip grows by twice `delayMs`; `jitterMs` the
 * random variation of that delay; loss in percent per direction; rate in kbit/s per direction).
 */
export type NetworkCondition =
  | { kind: 'partition'; a: NetworkEnd; b: NetworkEnd }
  | { kind: 'delay'; a: NetworkEnd; b: NetworkEnd; delayMs: number; jitterMs?: number }
  | { kind: 'loss'; a: NetworkEnd; b: NetworkEnd; percent: number }
  | { kind: 'rate'; a: NetworkEnd; b: NetworkEnd; kbitPerSecond: number };

/**
 * How a flavour imposes network conditions between nodes (`nxc net`, the driver's
 * `block()`/`partition()`), preferably without the nodes' cooperation. Core resolves the
 * targets, validates the conditions and records those in force; the flavour only acts.
 */
export interface NetworkControl {
  /**
   * Puts the conditions in force. All or nothing: when one cannot be applied (a kernel
   * feature missing on the host...), undo what this call added and throw one NxcError
   * naming what is missing and where (exit code 3).
   */
  apply(conditions: NetworkCondition[], inForce?: NetworkCondition[]): Promise<void>;
  /**
   * Removes exactly these conditions (previously applied); missing ones are not an error.
   * `inForce` (given by core, to both calls): every condition in force once the call has
   * succeeded, for flavours that rebuild a node's whole setting (a qdisc tree) at each change.
   */
  clear(conditions: NetworkCondition[], inForce?: NetworkCondition[]): Promise<void>;
  /**
   * Optional: puts back on `hosts`, whatever they have now, their part of `inForce` (every
   * condition in force): for nodes that came back (a restarted container, a rebooted VM)
   * without what nxc had put in their kernel. Must be idempotent. Absent: core calls
   * {@link apply} with the conditions touching those hosts.
   */
  restore?(hosts: string[], inForce: NetworkCondition[]): Promise<void>;
  /**
   * Optional: compares what each of `hosts` actually has in force with its part of
   * `inForce`; returns, per host, one line per difference (an empty list: in force). A host
   * that cannot be asked gets one line saying why. Used by `nxc net check` and `nxc status`.
   */
  inspect?(hosts: string[], inForce: NetworkCondition[]): Promise<Record<string, string[]>>;
}

/**
 * Deploy side of a flavour, loaded lazily by {@link Flavour.deployer}. `Options` is what
 * {@link Flavour.options} parses to, `State` what {@link stateSchema} parses to. Optional
 * members are capabilities: core refuses what needs one the flavour lacks (`--retry-failed`,
 * `nxc logs`) before doing anything.
 */
export interface FlavourDeployer<Options = unknown, State = unknown> {
  /**
   * Schema of the state the flavour saves (`ctx.saveState`): checked when saved and when
   * read back, so that `ctx.state` is typed and a corrupt state file is one clear error.
   */
  stateSchema: Schema<State>;
  /**
   * Start one node per planned node, write the deployment (via `ctx.writeDeployment`) and,
   * if `ctx.wait`, wait until every node is ready. On failure or abort, remove what it
   * created and throw an NxcError naming the node and the reason.
   */
  start(ctx: StartContext<Options, State>): Promise<StartResult>;
  /**
   * Optional capability behind `nxc start --retry-failed`: redeploy only the nodes that
   * failed in the running deployment, keeping the others. Core does not refuse the running
   * deployment nor clean it up first, and keeps its documents when this fails.
   */
  retryFailed?(ctx: StartContext<Options, State>): Promise<StartResult>;
  /** Stop and remove everything of this deployment. Idempotent; finds leftovers after a crash. */
  stop(ctx: RunningContext<Options, State>): Promise<void>;
  /** Per-node state. */
  status(ctx: RunningContext<Options, State>): Promise<NodeStatus[]>;
  /** A transport to the running nodes. */
  transport(ctx: RunningContext<Options, State>): Promise<Transport>;
  /** Optional capability behind `nxc logs`: node logs (container output, serial console...). */
  logs?(ctx: RunningContext<Options, State>, options: LogsOptions): AsyncIterable<LogLine>;
  /** Optional capability: per-node power control used by the test-script driver. */
  nodeControl?(ctx: RunningContext<Options, State>): Promise<NodeControl> | NodeControl;
  /**
   * Optional capability: the node's keyboard and port forwarding, for the test-script driver
   * (`send_chars`, `forward_port`). Absent: the driver refuses those calls in one line.
   */
  monitor?(ctx: RunningContext<Options, State>): Promise<NodeMonitor> | NodeMonitor;
  /**
   * Optional capability behind `nxc net` and the driver's `block()`/`partition()`: network
   * conditions between nodes. Absent: core refuses in one line (exit 3), nothing applied.
   */
  network?(ctx: RunningContext<Options, State>): Promise<NetworkControl> | NetworkControl;
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

/**
 * One flavour, as a plugin declares it. Everything here but {@link deployer} is read by
 * `nxc start --help` and before any start: keep the module that declares it light (no
 * engine client, no SSH library), and import the deploy side in `deployer()`.
 */
export interface Flavour<Options = unknown, State = unknown> {
  /** Name used with `-f` (e.g. `docker`, `vm-ramdisk`). Lowercase, dashes. */
  name: string;
  /** One line shown by `nxc flavours`. */
  description: string;
  build: FlavourBuild;
  /**
   * Schema of the flavour's options, with defaults and a TSDoc line per option: a strict zod
   * object (`z.object({...}).strict()`). Core merges the config's `flavourOptions[name]`,
   * `-O key=value` and {@link flags}, and validates them with it before anything is created:
   * an unknown key (with a did-you-mean) or an ill-typed value is one line, exit code 2.
   * Absent: the flavour takes no option.
   */
  options?: Schema<Options>;
  /** The `nxc start` flags that set options (each names its option). */
  flags?: FlavourFlag[];
  /**
   * The flavour gives nodes the block devices their role declares (`nxc.disks`, in
   * {@link RoleBuild.disks}). Absent or false: core refuses to start a composition whose
   * started roles declare disks, before anything is created (exit 3).
   */
  disks?: boolean;
  /**
   * Cheap pre-check run before start (docker daemon up, qemu present, OAR job present).
   * Returns undefined when usable. Must not create anything.
   */
  usable?(ctx: { project: Project }): Promise<Unusable | undefined>;
  /** Loads the deploy side (dynamic import keeps `nxc --help` fast). */
  deployer(): Promise<FlavourDeployer<Options, State>>;
}

/** What a flavour package exports (default export, or a factory returning it). */
export interface FlavourPlugin {
  /** The flavour API version this plugin was written for: {@link FLAVOUR_API_VERSION}. */
  apiVersion: number;
  /** Package name, for messages (e.g. `@nxc/flavour-docker`). */
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: each flavour has its own Options and State
  flavours: Flavour<any, any>[];
}

/** Identity helper for plugin authors: type-checks a plugin definition. */
export function defineFlavourPlugin(plugin: FlavourPlugin): FlavourPlugin {
  return plugin;
}

/**
 * Identity helper for plugin authors: type-checks one flavour, inferring `Options` from its
 * schema so that its deployer receives them typed.
 */
export function defineFlavour<Options, State>(flavour: Flavour<Options, State>): Flavour<Options, State> {
  return flavour;
}
