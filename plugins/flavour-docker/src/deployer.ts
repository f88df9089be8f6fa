/**
 * Deploy side of the docker flavour: start, stop, status, logs and the transport, on the
 * Engine API through dockerode. Loaded only when a command deploys (index.ts imports it
 * lazily), so dockerode never slows `nxc --help` down.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  type DeployedNode,
  type FlavourDeployer,
  type LeftoversContext,
  type LogLine,
  type LogsOptions,
  type NodeControl,
  type NodeMonitor,
  type NodeStatus,
  NxcError,
  type RemovedLeftovers,
  type RunningContext,
  type StartContext,
  type StartResult,
  type Transport,
  isNxcError,
  launchNodes,
  nodeIdentities,
  writeFileAtomic,
  z,
} from '@nxc/core/flavour';
import type Docker from 'dockerode';
import pLimit from 'p-limit';
import { engineClient } from './client.js';
import { COMPOSE_FILE_NAME, writeComposeFile } from './compose-file.js';
import {
  type SystemdCgroups,
  checkPorts,
  chooseSystemdCgroups,
  extraVolumeNames,
  extrasFromOriginalComposeFile,
  nodeRuntime,
  readDockerExtras,
  removeCgroupParent,
  toCreateOptions,
} from './containers.js';
import {
  type AttachedDisk,
  type WantedDisk,
  attachDisks,
  detachDisks,
  detachProjectDisks,
  loopProblem,
  probeLoop,
} from './disks.js';
import { engineEndpoint } from './engine.js';
import { ensureImage } from './image.js';
import {
  LABEL,
  type Scope,
  containerName,
  networkName,
  newDeploymentId,
  projectHash,
  scopeFilter,
  scopeLabels,
  stableDeploymentId,
  volumeName,
} from './labels.js';
import { dockerNetwork } from './net-conditions.js';
import { createDeploymentNetwork } from './network.js';
import { nodeLogs } from './node-logs.js';
import { DEFAULT_CONCURRENCY, type DockerOptions, configuredDockerOptions } from './options.js';
import { PortRelays } from './port-relay.js';
import {
  LineSplitter,
  NodeFailed,
  type OutputStream,
  attachOutput,
  initMayBeSystemd,
  waitReady,
} from './readiness.js';
import { DockerTransport } from './transport.js';

export { DEFAULT_CONCURRENCY };
/** Lines of a failed node's log shown in the error. */
const TAIL_LINES = 15;

/** What start saves next to the deployment (deploy/<comp>::docker.state.json). */
export const dockerStateSchema = z
  .object({
    deploymentId: z.string(),
    network: z.object({ id: z.string(), name: z.string(), subnet: z.string(), gateway: z.string() }),
    volumes: z.array(z.string()),
    containers: z.record(z.object({ id: z.string(), name: z.string(), address: z.string() })),
    composeFile: z.string(),
  })
  .strict();

/** What start saves next to the deployment (deploy/<comp>::docker.state.json). */
export type DockerState = z.infer<typeof dockerStateSchema>;

type Start = StartContext<DockerOptions, DockerState>;
type Running = RunningContext<DockerOptions, DockerState>;

function scopeOf(ctx: { project: { root: string }; composition: string; flavour: string }): Scope {
  return { projectRoot: ctx.project.root, composition: ctx.composition, flavour: ctx.flavour };
}

/** Turns engine connection failures into the one-line error `usable()` would give. */
function engineError(error: unknown): unknown {
  if (isNxcError(error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const where = engineEndpoint().display;
  if (code === 'EACCES' || code === 'EPERM') {
    return new NxcError('NXC_FLAVOUR_UNUSABLE', `no permission to use the Docker daemon socket ${where}`, {
      hint: 'add yourself to the `docker` group (`sudo usermod -aG docker $USER`, then log in again) or run nxc as root',
      cause: error,
    });
  }
  if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ECONNRESET' || code === 'EHOSTUNREACH') {
    return new NxcError('NXC_FLAVOUR_UNUSABLE', `cannot reach the Docker daemon at ${where} (${code})`, {
      hint: 'start the daemon (e.g. `sudo systemctl start docker`) or point DOCKER_HOST at a running engine',
      cause: error,
    });
  }
  return error;
}

/** Message of an engine error without dockerode's "(HTTP code 409) conflict -" prefix noise. */
function engineMessage(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string };
  return (e.json?.message ?? e.message ?? String(error)).split('\n')[0]!;
}

function ignoreMissing(error: unknown): void {
  const status = (error as { statusCode?: number }).statusCode;
  // 404: already gone; 409: removal already in progress (another stop running).
  if (status !== 404 && status !== 409) throw error;
}

/**
 * Removes a network; returns false when the engine keeps refusing because it still counts
 * endpoints on it although no container is attached (seen with Docker 20.10 under heavy
 * load after many concurrent removals; only a daemon restart clears that count). Attached
 * endpoints it lists are force-disconnected between attempts.
 */
async function removeNetwork(docker: Docker, id: string, attempts = 20): Promise<boolean> {
  const network = docker.getNetwork(id);
  for (let i = 1; ; i++) {
    try {
      await network.remove();
      return true;
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404) return true;
      if (status !== 403 || !/active endpoints/.test(engineMessage(error))) throw error;
      if (i >= attempts) return false;
    }
    const info = (await network.inspect().catch(() => ({ Containers: {} }))) as {
      Containers?: Record<string, unknown>;
    };
    await Promise.all(
      Object.keys(info.Containers ?? {}).map((container) =>
        network.disconnect({ Container: container, Force: true }).catch(() => {}),
      ),
    );
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** One engine object removed, with the deployment it belonged to (its labels). */
export interface RemovedObject {
  kind: 'container' | 'network' | 'volume';
  name: string;
  composition: string;
  flavour: string;
}

/** What {@link removeScope} removed, and the networks the engine would not let go. */
export interface RemovedScope {
  containers: number;
  /** Every object removed. */
  objects: RemovedObject[];
  /** Networks left because of the engine's stale endpoint count (see removeNetwork). */
  staleNetworks: string[];
}

/**
 * Removes every container, network and volume matching label `filters` (containers first,
 * in parallel, then networks, then volumes). Idempotent.
 */
export async function removeLabelled(
  docker: Docker,
  filters: { label: string[] },
  concurrency = DEFAULT_CONCURRENCY,
): Promise<RemovedScope> {
  const json = JSON.stringify(filters);
  const limit = pLimit(concurrency);
  const owner = (labels: Record<string, string> | undefined) => ({
    composition: labels?.[LABEL.composition] ?? '',
    flavour: labels?.[LABEL.flavour] ?? '',
  });
  const objects: RemovedObject[] = [];
  const containers = await docker.listContainers({ all: true, filters: json });
  // force removal kills (SIGKILL) and removes in one call; `v` drops anonymous volumes.
  await Promise.all(
    containers.map((c) =>
      limit(() => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreMissing)),
    ),
  );
  for (const c of containers) {
    objects.push({ kind: 'container', name: (c.Names[0] ?? c.Id).replace(/^\//, ''), ...owner(c.Labels) });
  }
  const networks = await docker.listNetworks({ filters: json });
  const removed = await Promise.all(networks.map((n) => removeNetwork(docker, n.Id)));
  networks.forEach((n, i) => {
    if (removed[i]) objects.push({ kind: 'network', name: n.Name, ...owner(n.Labels) });
  });
  const volumes = (await docker.listVolumes({ filters: json })).Volumes ?? [];
  await Promise.all(volumes.map((v) => docker.getVolume(v.Name).remove().catch(ignoreMissing)));
  for (const v of volumes) objects.push({ kind: 'volume', name: v.Name, ...owner(v.Labels ?? undefined) });
  return {
    containers: containers.length,
    objects,
    staleNetworks: networks.filter((_, i) => !removed[i]).map((n) => n.Name),
  };
}

/** Removes every container, network and volume of a scope (labels). Idempotent. */
export function removeScope(
  docker: Docker,
  scope: Scope,
  concurrency = DEFAULT_CONCURRENCY,
): Promise<RemovedScope> {
  return removeLabelled(docker, scopeFilter(scope), concurrency);
}

/** The warning for networks the engine would not remove. */
function staleWarning(names: string[]): string {
  return `the Docker engine refuses to remove network ${names.join(', ')}: it still counts endpoints although no container uses it (a Docker bug); it holds no node, \`docker network rm ${names.join(' ')}\` after a dockerd restart removes it`;
}

function deploymentFilePath(ctx: Start): string {
  return join(ctx.project.deployDir, `${ctx.composition}::${ctx.flavour}.json`);
}

function artifactDir(ctx: {
  project: { artifactDir: string };
  composition: string;
  flavour: string;
}): string {
  return join(ctx.project.artifactDir, ctx.composition, ctx.flavour);
}

/** The client for commands on a running deployment (their options come from the config). */
function clientFor(ctx: Running | LeftoversContext): Docker {
  const options =
    'options' in ctx ? ctx.options : configuredDockerOptions(ctx.project.config.flavourOptions[ctx.flavour]);
  return engineClient(options.apiTimeoutMs);
}

const firstLineOf = (error: unknown): string =>
  ((error as { message?: string })?.message ?? String(error)).split('\n')[0]!;

/**
 * The error of a start that failed and whose cleanup failed too (the daemon died or hung):
 * both causes on one line, and how to finish the cleanup. Never swallowed: what is left runs.
 */
function cleanupFailed(failure: unknown, cleanup: unknown, ctx: Start): NxcError {
  const key = `${ctx.composition}::${ctx.flavour}`;
  const cause = firstLineOf(engineError(cleanup));
  const hint = `once the Docker daemon answers, \`nxc stop -C ${key}\` removes what is left`;
  if (isNxcError(failure)) {
    const what = failure.code === 'NXC_INTERRUPTED' ? 'start interrupted' : failure.message;
    return new NxcError(failure.code, `${what}; removing its containers failed: ${cause}`, {
      ...(failure.details ? { details: failure.details } : {}),
      hint,
      exitCode: failure.exitCode,
      cause: failure,
    });
  }
  return new NxcError(
    'NXC_NODE_FAILED',
    `start of ${key} failed (${firstLineOf(failure)}); removing its containers failed: ${cause}`,
    {
      hint,
      cause: failure,
    },
  );
}

function interrupted(): NxcError {
  return new NxcError(
    'NXC_INTERRUPTED',
    'start interrupted: every container, network and volume it created was removed',
  );
}

/**
 * `extra` of the compose info; for the original nxc's docker dialect, whose extraVolumes and
 * dockerPorts live only in its generated docker-compose file, derived from that file.
 */
async function originalExtras(info: StartContext['composeInfo']): Promise<Record<string, unknown>> {
  const file = info.all['docker-compose-file'];
  if (info.format !== 'nxc-python-docker' || info.extra.docker !== undefined || !file) return info.extra;
  let compose: Parameters<typeof extrasFromOriginalComposeFile>[0];
  try {
    compose = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new NxcError(
      'NXC_COMPOSE_INFO',
      `${info.source}: cannot read docker-compose-file ${file} (${(error as Error).message.split('\n')[0]})`,
      {
        hint: 'rebuild it with the original nxc, or build the composition with `nxc build -f docker`',
      },
    );
  }
  return { ...info.extra, docker: extrasFromOriginalComposeFile(compose, Object.keys(info.roles)) };
}

async function start(ctx: Start): Promise<StartResult> {
  const docker = engineClient(ctx.options.apiTimeoutMs);
  const scope = scopeOf(ctx);
  const info = ctx.composeInfo;
  const source = info.source;

  // Validate everything before creating anything.
  if (ctx.nodes.length === 0) {
    throw new NxcError('NXC_DISTRIBUTION', 'no node to start (empty role distribution)', {
      hint: 'give at least one node, e.g. `-r server=1`',
    });
  }
  const tarball = info.all.docker_image;
  if (!tarball) {
    throw new NxcError(
      'NXC_COMPOSE_INFO',
      `${source}: no all.docker_image (the base image of the docker flavour)`,
      {
        hint: 'rebuild with `nxc build -f docker`',
      },
    );
  }
  for (const node of ctx.nodes) {
    if (!info.roles[node.role]?.init) {
      throw new NxcError(
        'NXC_COMPOSE_INFO',
        `${source}: role "${node.role}" of node ${node.host} has no init`,
        {
          hint: `roles built: ${Object.keys(info.roles).join(', ') || 'none'}; rebuild with \`nxc build -f docker\``,
        },
      );
    }
  }
  const extras = readDockerExtras(await originalExtras(info), {
    source,
    projectRoot: ctx.project.root,
    // the original nxc's docker containers always ran NixOS's systemd
    defaultSystemd: info.format === 'nxc-python-docker',
  });
  checkPorts(ctx.nodes, extras, source);
  const wantedDisks: WantedDisk[] = ctx.nodes.flatMap((n) =>
    (info.roles[n.role]?.disks ?? []).map((d) => ({ host: n.host, id: d.id, size: d.size, bytes: d.bytes })),
  );
  if (wantedDisks.length > 0) {
    const role = ctx.nodes.find((n) => n.host === wantedDisks[0]!.host)!.role;
    const problem = loopProblem(probeLoop(engineEndpoint()), role);
    if (problem) throw problem;
  }
  const publishAddress = ctx.options.publishAddress;
  let systemdCgroups: SystemdCgroups | undefined;
  if (extras.systemd) {
    const engine = await docker.info().catch((error: unknown) => {
      throw engineError(error);
    });
    const chosen = chooseSystemdCgroups(engine, scope, ctx.options);
    systemdCgroups = chosen.cgroups;
    if (chosen.warning) ctx.reporter.emit({ type: 'warn', message: chosen.warning });
  }
  const concurrency = ctx.options.concurrency;
  if (ctx.signal.aborted) throw interrupted();

  // The same nodes in the same scope: the same id, hence the same names, labels and compose
  // file at every start; a fresh one when a network of that name is stale (see below).
  let deploymentId = stableDeploymentId(scope, ctx.nodes);
  let labels = scopeLabels(scope, deploymentId);
  const outDir = artifactDir(ctx);
  let ownDeploymentFile: string | undefined;
  let composeFile: string | undefined;

  try {
    const leftovers = await removeScope(docker, scope, concurrency);
    if (leftovers.staleNetworks.includes(networkName(scope, deploymentId))) {
      deploymentId = newDeploymentId();
      labels = scopeLabels(scope, deploymentId);
    }
    if (leftovers.containers > 0) {
      ctx.reporter.emit({
        type: 'warn',
        message: `removed ${leftovers.containers} container(s) left by a previous start of ${ctx.composition}`,
      });
    }
    if (leftovers.staleNetworks.length > 0) {
      ctx.reporter.emit({ type: 'warn', message: staleWarning(leftovers.staleNetworks) });
    }
    // loop devices a crashed start left, then this start's
    await detachDisks(scope);
    const disks: AttachedDisk[] = await attachDisks(scope, wantedDisks, (message) =>
      ctx.reporter.emit({ type: 'step', message }),
    );
    if (ctx.signal.aborted) throw interrupted();
    const image = await ensureImage(docker, tarball, {
      source,
      onImport: () => ctx.reporter.emit({ type: 'step', message: `importing base image ${tarball}` }),
    });
    if (ctx.signal.aborted) throw interrupted();

    // Named by the deployment id: a network the engine failed to release never blocks the next start.
    const network = await createDeploymentNetwork(
      docker,
      networkName(scope, deploymentId),
      labels,
      ctx.nodes.length,
    );
    const sharedVolume = volumeName(scope, 'shared');
    const volumes = [sharedVolume, ...extraVolumeNames(scope, extras).values()];
    await Promise.all(volumes.map((Name) => docker.createVolume({ Name, Labels: labels })));

    const deployed: DeployedNode[] = ctx.nodes.map((n, i) => ({
      role: n.role,
      host: n.host,
      address: network.addresses[i]!,
      init: info.roles[n.role]!.init,
    }));
    const document = await ctx.writeDeployment(deployed);
    let deploymentFile = deploymentFilePath(ctx);
    if (!existsSync(deploymentFile)) {
      // The orchestrator wrote it elsewhere (or not at all): mount our own copy.
      await mkdir(outDir, { recursive: true });
      ownDeploymentFile = join(outDir, 'deployment.json');
      await writeFileAtomic(ownDeploymentFile, `${JSON.stringify(document, null, 2)}\n`);
      deploymentFile = ownDeploymentFile;
    }

    const runtimes = deployed.map((node) =>
      nodeRuntime({
        scope,
        deploymentId,
        node: {
          host: node.host,
          role: node.role,
          address: node.address,
          init: node.init!,
          ...(info.roles[node.role]?.toplevel ? { toplevel: info.roles[node.role]!.toplevel } : {}),
        },
        image,
        network: network.name,
        deploymentFile,
        sharedVolume,
        extras,
        publishAddress,
        ...(systemdCgroups ? { systemdCgroups } : {}),
        devices: disks
          .filter((d) => d.host === node.host)
          .map((d) => ({ host: d.loop, container: d.device })),
      }),
    );
    composeFile = await writeComposeFile(outDir, {
      name: network.name,
      network: { name: network.name, subnet: network.subnet, gateway: network.gateway, labels },
      volumes: volumes.map((name) => ({ name, labels })),
      nodes: runtimes,
    });

    // per role: the nodes whose ready line cannot reach their output (systemd as init)
    const polled = new Map(
      Object.entries(info.roles).map(([role, r]) => [role, initMayBeSystemd(r.toplevel)] as const),
    );
    const pollsReadyFile = (role: string): boolean => polled.get(role) ?? true;
    const launch = await launchNodes({
      nodes: runtimes,
      concurrency,
      signal: ctx.signal,
      reporter: ctx.reporter,
      progressTask: 'nodes ready',
      isCancellation: (error) => error instanceof NodeFailed && error.failure.kind === 'aborted',
      launch: async (rt) => {
        let container: Docker.Container;
        let output: OutputStream | undefined;
        try {
          container = await docker.createContainer(toCreateOptions(rt));
          if (ctx.wait) output = await attachOutput(container);
          await container.start();
        } catch (error) {
          output?.destroy();
          if (isNxcError(engineError(error))) throw engineError(error);
          throw new NodeFailed({
            host: rt.host,
            kind: 'exited',
            reason: `the engine refused its container: ${engineMessage(error)}`,
            lines: [],
          });
        }
        ctx.reporter.emit({ type: 'node', host: rt.host, state: 'started', detail: rt.name });
        return { container, output };
      },
      ready: ctx.wait
        ? async (rt, created, signal) => {
            await waitReady(docker, created.container, rt.host, {
              timeoutMs: ctx.timeoutMs,
              signal,
              // attached before the start whenever the deployer waits
              stream: created.output!,
              pollReadyFile: pollsReadyFile(rt.role),
            });
          }
        : undefined,
    });
    if (launch.interrupted) throw interrupted();
    // Report the root cause, not the nodes we stopped waiting for because of it.
    const failures = launch.failures.sort((a, b) => a.index - b.index);
    const root = failures.find((f) => !f.cancellation) ?? failures[0];
    if (root) throw await nodeError(root.error, outDir);
    const idOf = (host: string): string => launch.launched.get(host)!.container.id;

    const state: DockerState = {
      deploymentId,
      network: { id: network.id, name: network.name, subnet: network.subnet, gateway: network.gateway },
      volumes,
      containers: Object.fromEntries(
        runtimes.map((rt) => [rt.host, { id: idOf(rt.host), name: rt.name, address: rt.address }]),
      ),
      composeFile,
    };
    await ctx.saveState(state);
    return {
      nodes: runtimes.map((rt) => ({
        host: rt.host,
        role: rt.role,
        address: rt.address,
        state: ctx.wait ? 'running' : 'starting',
        detail: `${rt.name} ${idOf(rt.host).slice(0, 12)}`,
      })),
    };
  } catch (error) {
    let cleanupError: unknown;
    try {
      const removed = await removeScope(docker, scope, concurrency);
      if (removed.staleNetworks.length > 0) {
        ctx.reporter.emit({ type: 'warn', message: staleWarning(removed.staleNetworks) });
      }
    } catch (e) {
      cleanupError = e;
    }
    // after the containers: a loop device in use is only marked for detaching
    await detachDisks(scope).catch((e: unknown) => {
      cleanupError ??= e;
    });
    if (ownDeploymentFile) await rm(ownDeploymentFile, { force: true });
    if (composeFile) await rm(composeFile, { force: true });
    const failure =
      ctx.signal.aborted && !(isNxcError(error) && error.code !== 'NXC_INTERRUPTED')
        ? interrupted()
        : engineError(error);
    throw cleanupError === undefined ? failure : cleanupFailed(failure, cleanupError, ctx);
  }
}

/** The error for a node that failed: names it, shows its log tail, keeps its full log. */
async function nodeError(error: unknown, outDir: string): Promise<unknown> {
  if (!(error instanceof NodeFailed)) return error;
  const { host, kind, reason, lines } = error.failure;
  let logFile: string | undefined;
  if (lines.length > 0) {
    logFile = join(outDir, 'logs', `${host}.log`);
    await mkdir(join(outDir, 'logs'), { recursive: true });
    await writeFile(logFile, `${lines.join('\n')}\n`);
  }
  const tail = lines.slice(-TAIL_LINES);
  return new NxcError(kind === 'timeout' ? 'NXC_TIMEOUT' : 'NXC_NODE_FAILED', `node ${host}: ${reason}`, {
    details: tail.length > 0 ? tail.map((l) => `  ${host}| ${l}`).join('\n') : `  (${host} printed nothing)`,
    hint: logFile
      ? `its full log is in ${logFile}; everything started was removed`
      : 'check the role and the docker flavour options; everything started was removed',
  });
}

async function stop(ctx: Running): Promise<void> {
  const docker = clientFor(ctx);
  try {
    const removed = await removeScope(docker, scopeOf(ctx));
    removeCgroupParent(scopeOf(ctx));
    const loops = await detachDisks(scopeOf(ctx));
    if (removed.staleNetworks.length > 0) {
      ctx.reporter.emit({ type: 'warn', message: staleWarning(removed.staleNetworks) });
    }
    ctx.reporter.emit({
      type: 'done',
      message: `removed ${removed.containers} container(s) of ${ctx.composition}${loops.length > 0 ? ` and detached ${loops.length} loop device(s)` : ''}`,
    });
  } catch (error) {
    throw engineError(error);
  }
}

/**
 * Everything labelled with the project (and the composition, when given) on this engine,
 * removed without the deployment document or state: leftovers of crashed or killed starts,
 * deployments whose deploy/ files were deleted or corrupted.
 */
async function removeLeftovers(ctx: LeftoversContext): Promise<RemovedLeftovers[]> {
  const docker = clientFor(ctx);
  const label = [`${LABEL.project}=${projectHash(ctx.project.root)}`, `${LABEL.flavour}=${ctx.flavour}`];
  if (ctx.composition !== undefined) label.push(`${LABEL.composition}=${ctx.composition}`);
  let removed: RemovedScope;
  try {
    removed = await removeLabelled(docker, { label });
  } catch (error) {
    throw engineError(error);
  }
  if (removed.staleNetworks.length > 0) {
    ctx.reporter.emit({ type: 'warn', message: staleWarning(removed.staleNetworks) });
  }
  const byDeployment = new Map<string, RemovedLeftovers>();
  const add = (composition: string, flavour: string, what: string): void => {
    const key = `${composition}::${flavour}`;
    let entry = byDeployment.get(key);
    if (!entry) {
      entry = { composition, flavour, removed: [] };
      byDeployment.set(key, entry);
    }
    entry.removed.push(what);
  };
  for (const o of removed.objects) add(o.composition, o.flavour, `${o.kind} ${o.name}`);
  // after the containers, which held them
  for (const d of await detachProjectDisks(ctx.project.root, ctx.flavour, ctx.composition)) {
    for (const what of d.removed) add(d.composition, ctx.flavour, what);
  }
  return [...byDeployment.values()];
}

/** Containers of the scope by deployment hostname. */
async function scopeContainers(docker: Docker, scope: Scope): Promise<Map<string, Docker.ContainerInfo>> {
  const list = await docker.listContainers({ all: true, filters: JSON.stringify(scopeFilter(scope)) });
  const byHost = new Map<string, Docker.ContainerInfo>();
  for (const c of list) {
    const host = c.Labels[LABEL.host];
    if (host) byHost.set(host, c);
  }
  return byHost;
}

function stateOf(engineState: string): NodeStatus['state'] {
  switch (engineState) {
    case 'running':
      return 'running';
    case 'created':
    case 'restarting':
      return 'starting';
    case 'exited':
    case 'dead':
    case 'removing':
      return 'exited';
    default:
      return 'unknown';
  }
}

async function status(ctx: Running): Promise<NodeStatus[]> {
  const docker = clientFor(ctx);
  try {
    const scope = scopeOf(ctx);
    const byHost = await scopeContainers(docker, scope);
    const now = Date.now();
    return await Promise.all(
      Object.entries(ctx.deployment.deployment).map(async ([address, node]): Promise<NodeStatus> => {
        const c = byHost.get(node.host);
        if (!c) return { host: node.host, role: node.role, address, state: 'stopped' };
        const base: NodeStatus = { host: node.host, role: node.role, address, state: stateOf(c.State) };
        try {
          const info = await docker.getContainer(c.Id).inspect();
          const name = info.Name.replace(/^\//, '');
          if (info.State.Running) {
            base.uptimeSeconds = Math.max(0, Math.round((now - Date.parse(info.State.StartedAt)) / 1000));
            base.detail = name;
          } else {
            base.detail = `${name} exit code ${info.State.ExitCode}`;
          }
        } catch (error) {
          ignoreMissing(error);
          base.state = 'stopped';
        }
        return base;
      }),
    );
  } catch (error) {
    throw engineError(error);
  }
}

async function transport(ctx: Running): Promise<Transport> {
  const docker = clientFor(ctx);
  const scope = scopeOf(ctx);
  let byHost: Map<string, Docker.ContainerInfo>;
  try {
    byHost = await scopeContainers(docker, scope);
  } catch (error) {
    throw engineError(error);
  }
  const map = new Map<string, string>();
  for (const node of Object.values(ctx.deployment.deployment)) {
    map.set(node.host, byHost.get(node.host)?.Id ?? containerName(scope, node.host));
  }
  return new DockerTransport(docker, map);
}

/** Merged, per-node prefixed log lines of the deployment's containers. */
async function* logs(ctx: Running, options: LogsOptions): AsyncGenerator<LogLine> {
  const docker = clientFor(ctx);
  const scope = scopeOf(ctx);
  const byHost = await scopeContainers(docker, scope).catch((error) => {
    throw engineError(error);
  });
  const wanted = options.hosts?.length ? options.hosts : [...byHost.keys()].sort();
  for (const host of wanted) {
    if (!byHost.has(host)) {
      throw new NxcError(
        'NXC_NODE_UNKNOWN',
        `no running container for node "${host}" of ${ctx.composition}`,
        {
          hint: `nodes: ${[...byHost.keys()].sort().join(', ') || 'none (is the deployment started?)'}`,
        },
      );
    }
  }
  const containers = new Map(wanted.map((host) => [host, byHost.get(host)!.Id] as const));
  try {
    yield* nodeLogs(docker, containers, options);
  } catch (error) {
    throw engineError(error);
  }
}

/** The docker flavour's deploy side. */
/** Per-node power control for test scripts: stop (shutdown), kill (crash), start again. */
function nodeControl(ctx: Running): NodeControl {
  const docker = clientFor(ctx);
  const scope = scopeOf(ctx);
  const container = async (host: string): Promise<Docker.Container> => {
    const byHost = await scopeContainers(docker, scope).catch((error) => {
      throw engineError(error);
    });
    const c = byHost.get(host);
    if (!c) {
      throw new NxcError(
        'NXC_NODE_UNKNOWN',
        `node "${host}" has no container in this deployment (nodes: ${[...byHost.keys()].join(', ')})`,
      );
    }
    return docker.getContainer(c.Id);
  };
  // 304: already stopped / started; 409: not running (kill)
  const ignoreState = (error: unknown): void => {
    const code = (error as { statusCode?: number }).statusCode;
    if (code !== 304 && code !== 409) throw engineError(error);
  };
  return {
    async shutdown(host) {
      await (await container(host)).stop({ t: 10 }).catch(ignoreState);
    },
    async crash(host) {
      await (await container(host)).kill().catch(ignoreState);
    },
    async start(host, signal) {
      const c = await container(host);
      if ((await c.inspect()).State.Running) return;
      // attach before starting so that the ready line cannot be missed
      const stream = await attachOutput(c);
      await c.start().catch(ignoreState);
      try {
        await waitReady(docker, c, host, {
          timeoutMs: 120_000,
          signal: signal ?? new AbortController().signal,
          stream,
        });
      } catch (error) {
        if (error instanceof NodeFailed) {
          throw new NxcError('NXC_NODE_FAILED', `node ${host}: ${error.failure.reason}`, {
            details: error.failure.lines.slice(-TAIL_LINES).join('\n'),
          });
        }
        throw error;
      }
    },
  };
}

/**
 * `forward_port` for test scripts: a relay in the nxc process to the container's address
 * (see port-relay.ts). Containers have no keyboard: no `sendKey`.
 */
function monitor(ctx: Running): NodeMonitor {
  const relays = new PortRelays();
  const nodes = nodeIdentities(ctx.deployment);
  return {
    async forwardPort(host, hostPort, guestPort) {
      const node = nodes.find((n) => n.host === host);
      if (!node)
        throw new NxcError(
          'NXC_NODE_UNKNOWN',
          `node "${host}" is not in this deployment (nodes: ${nodes.map((n) => n.host).join(', ')})`,
        );
      await relays.open(host, node.address, hostPort, guestPort);
    },
    close: () => relays.close(),
  };
}

/** Network conditions from the host, in the containers' network namespaces. */
function network(ctx: Running) {
  const docker = clientFor(ctx);
  const scope = scopeOf(ctx);
  return dockerNetwork(async (host) => {
    const byHost = await scopeContainers(docker, scope).catch((error) => {
      throw engineError(error);
    });
    const c = byHost.get(host);
    const info = c ? await docker.getContainer(c.Id).inspect() : undefined;
    if (!info?.State.Running || !info.State.Pid) {
      throw new NxcError('NXC_NODE_UNKNOWN', `node "${host}" has no running container in this deployment`, {
        hint: 'start it again (`nxc start`) or leave it out',
      });
    }
    return info.State.Pid;
  });
}

export const deployer: FlavourDeployer<DockerOptions, DockerState> & { nodeControl: typeof nodeControl } = {
  stateSchema: dockerStateSchema,
  start,
  stop,
  status,
  transport,
  logs,
  nodeControl,
  monitor,
  network,
  removeLeftovers,
};
export default deployer;
export { COMPOSE_FILE_NAME };
