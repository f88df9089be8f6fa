/**
 * The machine API for TypeScript test suites: attach to a running deployment and drive
 * its nodes (`await d.node('server').succeed('true')`).
 */
import path from 'node:path';
import * as core from '@nxc/core';
import { type DeploymentDocument, NxcError } from '@nxc/core';
import type { FlavourDeployer, RunningContext, Transport } from '@nxc/core/flavour';
import {
  DEFAULT_TIMEOUT_S,
  Machine,
  type MachineSession,
  type NetworkHandle,
  type NodeConsole,
  type NodeControl,
} from './machine.js';

/** A running deployment and the means to reach it. */
export interface AttachTarget {
  deployment: DeploymentDocument;
  transport: Transport;
  /** What the flavour can do beyond commands (shutdown, crash). */
  control?: NodeControl;
  /** Network conditions between nodes (`block()`, `partition()`), when the flavour can. */
  network?: NetworkHandle;
  /** Console, keyboard and port forwarding (`wait_for_console_text`, `send_chars`, `forward_port`). */
  console?: NodeConsole;
}

/** Options of {@link attach}. */
export interface AttachOptions {
  /** Composition name (default: the most recently started deployment's). */
  composition?: string;
  /** Flavour name (default: the most recently started deployment's). */
  flavour?: string;
  /** Default timeout of commands and waits in seconds (default 900). */
  timeoutS?: number;
  /** Receives one line per action (default: nothing is printed). */
  log?: (line: string) => void;
  /** Aborts running commands and waits. */
  signal?: AbortSignal;
  /** Where `copyFromVm` puts files. */
  outDir?: string;
  /** Private key to reach the nodes (`-i`), default: the project identity. */
  identityFile?: string;
}

/** An attached deployment. */
export interface AttachedDeployment {
  /** The deployment document. */
  readonly deployment: DeploymentDocument;
  /** Every node, in deployment order. */
  readonly nodes: Machine[];
  /** The node with that hostname; throws NXC_NODE_UNKNOWN naming the known hosts. */
  node(host: string): Machine;
  /** The nodes of a role (throws NXC_NODE_UNKNOWN when the role has none). */
  role(name: string): Machine[];
  /** Waits until every node answers. */
  startAll(): Promise<void>;
  /** Sets the default timeout (seconds) of later commands and waits. */
  setDefaultTimeout(seconds: number): void;
  /** Cuts every node of `a` off from every node of `b` (hostnames, `@role`, `all`). */
  partition(a: string[], b: string[]): Promise<void>;
  /** Removes the network conditions nxc put in force (those touching `targets` when given). */
  heal(targets?: string[]): Promise<void>;
  /** Adds latency (ms, each way; optional jitter) between every node of `a` and every node of `b`. */
  delay(a: string[], b: string[], delayMs: number, jitterMs?: number): Promise<void>;
  /** Drops `percent` % of the packets each way between `a` and `b`. */
  loss(a: string[], b: string[], percent: number): Promise<void>;
  /** Limits the bandwidth each way between `a` and `b` (kbit/s). */
  rate(a: string[], b: string[], kbitPerSecond: number): Promise<void>;
  /** Releases the transport (connections). */
  close(): Promise<void>;
}

/**
 * Attaches to a running deployment. Give either a project directory (the deployment is
 * found in `deploy/`, the transport comes from the flavour), or a `{ deployment,
 * transport }` pair you already have.
 *
 * @example
 * ```ts
 * const d = await attach('examples/demo', { flavour: 'docker' });
 * expect(await d.node('server').succeed('cat /etc/hostname')).toBe('server\n');
 * await d.close();
 * ```
 */
export async function attach(
  target: string | AttachTarget,
  options: AttachOptions = {},
): Promise<AttachedDeployment> {
  const opened = typeof target === 'string' ? await openProjectDeployment(target, options) : target;
  const session: MachineSession = {
    transport: opened.transport,
    flavour: opened.deployment.flavour,
    control: opened.control,
    network: opened.network,
    console: opened.console,
    hosts: core.nodeIdentities(opened.deployment).map((n) => n.host),
    defaultTimeoutS: options.timeoutS ?? DEFAULT_TIMEOUT_S,
    log: options.log,
    outDir: options.outDir,
    signal: options.signal,
  };
  const nodes = core.nodeIdentities(opened.deployment).map((n) => new Machine(n, session));
  const byHost = new Map(nodes.map((m) => [m.host, m]));
  let closed = false;
  return {
    deployment: opened.deployment,
    nodes,
    node(host) {
      const m = byHost.get(host);
      if (!m) {
        throw new NxcError(
          'NXC_NODE_UNKNOWN',
          `no node "${host}" in the ${describe(opened.deployment)} deployment`,
          {
            hint: `known nodes: ${nodes.map((n) => n.host).join(', ')}`,
          },
        );
      }
      return m;
    },
    role(name) {
      const ms = nodes.filter((m) => m.role === name);
      if (ms.length === 0) {
        const roles = [...new Set(nodes.map((n) => n.role))].join(', ');
        throw new NxcError(
          'NXC_NODE_UNKNOWN',
          `no node of role "${name}" in the ${describe(opened.deployment)} deployment`,
          {
            hint: `roles: ${roles}`,
          },
        );
      }
      return ms;
    },
    async partition(a, b) {
      if (!opened.network) throw unsupportedNetwork(opened.deployment);
      await opened.network.partition(a, b);
    },
    async heal(targets = []) {
      if (!opened.network) throw unsupportedNetwork(opened.deployment);
      await opened.network.heal(targets);
    },
    async delay(a, b, delayMs, jitterMs) {
      if (!opened.network?.shape) throw unsupportedNetwork(opened.deployment);
      await opened.network.shape(a, b, {
        kind: 'delay',
        delayMs,
        ...(jitterMs !== undefined ? { jitterMs } : {}),
      });
    },
    async loss(a, b, percent) {
      if (!opened.network?.shape) throw unsupportedNetwork(opened.deployment);
      await opened.network.shape(a, b, { kind: 'loss', percent });
    },
    async rate(a, b, kbitPerSecond) {
      if (!opened.network?.shape) throw unsupportedNetwork(opened.deployment);
      await opened.network.shape(a, b, { kind: 'rate', kbitPerSecond });
    },
    async startAll() {
      await Promise.all(nodes.map((m) => m.start()));
    },
    setDefaultTimeout(seconds) {
      if (!(seconds > 0))
        throw new NxcError('NXC_USAGE', `timeout must be a positive number of seconds, got ${seconds}`);
      session.defaultTimeoutS = seconds;
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await opened.console?.close?.();
      } finally {
        await opened.transport.close();
      }
    },
  };
}

function unsupportedNetwork(doc: DeploymentDocument): NxcError {
  return new NxcError(
    'NXC_USAGE',
    'network conditions need a project deployment (attach by project folder)',
    {
      hint: `attach(projectDir) instead of a ready transport for ${describe(doc)}`,
    },
  );
}

/** Core's `nxc net` on the selected deployment, as the driver calls it. */
export function projectNetwork(
  project: core.Project,
  selection: { composition?: string; flavour?: string; signal?: AbortSignal },
): NetworkHandle {
  const sel = {
    ...(selection.composition ? { composition: selection.composition } : {}),
    ...(selection.flavour ? { flavour: selection.flavour } : {}),
    ...(selection.signal ? { signal: selection.signal } : {}),
  };
  let restoring: Promise<unknown> = Promise.resolve();
  return {
    async partition(a, b) {
      await core.netApply(project, a, b, { kind: 'partition' }, sel);
    },
    async heal(targets = []) {
      await core.netHeal(project, targets, sel);
    },
    async shape(a, b, request) {
      await core.netApply(project, a, b, request, sel);
    },
    restore(hosts) {
      // one at a time: start_all() starts every node at once, and each restore takes the
      // project lock when the node has conditions
      const next = restoring.then(() => core.netRestore(project, hosts, sel));
      restoring = next.catch(() => undefined);
      return next.then(() => undefined);
    },
  };
}

function describe(doc: DeploymentDocument): string {
  return `${doc.composition}::${doc.flavour}`;
}

/**
 * Loads the running deployment of a project with core's `openDeployment` (the same
 * selection as `nxc status`: `-C`/`-f`, else the most recent deployment) and asks its
 * flavour for a transport.
 */
export async function openProjectDeployment(
  projectDir: string,
  options: Pick<AttachOptions, 'composition' | 'flavour' | 'identityFile' | 'signal'>,
): Promise<AttachTarget & { project: core.Project; composition: string; flavour: string }> {
  const project = await core.loadProject(path.resolve(projectDir));
  const { ctx, deployer } = await core.openDeployment(project, {
    composition: options.composition,
    flavour: options.flavour,
    identityFile: options.identityFile,
    signal: options.signal,
  });
  const transport = await deployer.transport(ctx);
  const control = await nodeControlOf(deployer, ctx);
  const console = await consoleOf(deployer, ctx);
  return {
    deployment: ctx.deployment,
    transport,
    ...(control ? { control } : {}),
    console,
    network: projectNetwork(project, {
      composition: ctx.composition,
      flavour: ctx.flavour,
      ...(options.signal ? { signal: options.signal } : {}),
    }),
    project,
    composition: ctx.composition,
    flavour: ctx.flavour,
  };
}

/**
 * The flavour's per-node control (shutdown/crash), when its deployer offers one as an
 * optional `nodeControl(ctx)` member (a proposed addition to core's FlavourDeployer).
 */
export async function nodeControlOf(
  deployer: FlavourDeployer,
  ctx: RunningContext,
): Promise<NodeControl | undefined> {
  const fn = (deployer as { nodeControl?: (ctx: RunningContext) => Promise<NodeControl> | NodeControl })
    .nodeControl;
  return typeof fn === 'function' ? await fn.call(deployer, ctx) : undefined;
}

/**
 * A node's console for the driver, from the flavour's optional capabilities: `logs` (the
 * console lines: QEMU serial console, container output) and `monitor` (keyboard, port
 * forwarding). Members the flavour lacks stay absent, and the driver's calls that need them
 * fail in one line naming the flavour.
 */
export async function consoleOf(deployer: FlavourDeployer, ctx: RunningContext): Promise<NodeConsole> {
  const monitor = deployer.monitor ? await deployer.monitor(ctx) : undefined;
  const out: NodeConsole = {};
  const logs = deployer.logs;
  if (logs) {
    out.consoleLines = async (host, signal) => {
      const lines: string[] = [];
      for await (const l of logs.call(deployer, ctx, {
        follow: false,
        hosts: [host],
        ...(signal ? { signal } : {}),
      })) {
        if (l.host === host) lines.push(l.line);
      }
      return lines;
    };
  }
  if (monitor?.sendKey) out.sendKey = monitor.sendKey.bind(monitor);
  if (monitor?.sendConsole) out.sendConsole = monitor.sendConsole.bind(monitor);
  if (monitor?.forwardPort) out.forwardPort = monitor.forwardPort.bind(monitor);
  if (monitor?.close) out.close = monitor.close.bind(monitor);
  return out;
}
