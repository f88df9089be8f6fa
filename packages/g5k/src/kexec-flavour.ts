/**
 * The deploy side common to the kexec flavours (g5k-ramdisk, g5k-nfs-store): start = machine
 * list -> addresses -> kexec engine -> state; then status / transport / stop over SSH with the
 * deployment's identity and the host keys learnt at start. A plugin adds only its kernel
 * parameters.
 */
import type {
  FlavourDeployer,
  NetworkControl,
  NodeStatus,
  RunningContext,
  StartContext,
  StartResult,
  Transport,
} from '@nxc/core/flavour';
import { NxcError, guestNetwork } from '@nxc/core/flavour';
import { HostKeyStore, SshTransport, probeSshBanner } from '@nxc/ssh';
import { z } from 'zod';
import { assignMachines } from './assign-machines.js';
import { planNodeDisks } from './disks.js';
import { type KexecNodeResult, kexecDeploy } from './kexec-deploy.js';
import type { KexecOptions } from './options.js';
import type { Lookup } from './resolve.js';

/** Schema of what a kexec flavour (and g5k-image) saves with `saveState`. */
export const kexecStateSchema = z
  .object({
    kind: z.literal('g5k-kexec'),
    /** Deployment hostname -> machine, address, host key, outcome. */
    nodes: z.record(
      z.object({
        machine: z.string(),
        address: z.string(),
        role: z.string(),
        hostKey: z.string().optional(),
        status: z.enum(['up', 'failed', 'unreachable']),
        reason: z.string().optional(),
      }),
    ),
    /** Seconds since epoch of the start. */
    startedAt: z.number(),
  })
  .strict();

/** What a kexec flavour saves with `saveState`. */
export type KexecState = z.infer<typeof kexecStateSchema>;

/** Options of {@link kexecFlavourDeployer}. */
export interface KexecFlavourOptions<Options extends KexecOptions = KexecOptions> {
  /** Flavour name, for messages. */
  flavour: string;
  /** Kernel parameters the flavour adds (e.g. `nfs_store=...`), computed at start. */
  flavourParams?: (
    ctx: StartContext<Options, KexecState>,
  ) => string | undefined | Promise<string | undefined>;
  /** Resolver override (tests). */
  lookup?: Lookup;
}

function stateOf(ctx: RunningContext<unknown, KexecState>): KexecState {
  const s = ctx.state;
  if (!s) {
    throw new NxcError('NXC_DEPLOYMENT', `no runtime state for ${ctx.composition}::${ctx.flavour}`, {
      hint: 'start it again with `nxc start`',
    });
  }
  return s;
}

/** Builds the FlavourDeployer of a kexec flavour. */
export function kexecFlavourDeployer<Options extends KexecOptions = KexecOptions>(
  flavourOptions: KexecFlavourOptions<Options>,
): FlavourDeployer<Options, KexecState> {
  const name = flavourOptions.flavour;
  return {
    stateSchema: kexecStateSchema,
    ...kexecRunning(name),
    async start(ctx: StartContext<Options, KexecState>): Promise<StartResult> {
      const o = ctx.options;
      const { kernel, initrd } = ctx.composeInfo.all;
      if (!kernel || !initrd) {
        throw new NxcError('NXC_COMPOSE_INFO', `${ctx.composeInfo.source} has no all.kernel / all.initrd`, {
          hint: `build it for this flavour: \`nxc build -f ${name}\``,
        });
      }
      const targets = await assignMachines({
        nodes: ctx.nodes,
        ...(ctx.machines ? { machines: ctx.machines } : {}),
        reporter: ctx.reporter,
        signal: ctx.signal,
        ...(flavourOptions.lookup ? { lookup: flavourOptions.lookup } : {}),
      });
      // nxc.disks: each node's declared disks onto its machine's reserved spare disks (checked
      // here for the count, on the machines for the sizes, before any machine is touched)
      const nodeDisks = await planNodeDisks(ctx.composeInfo.roles, targets, { flavour: name });
      // the image's own parameters (e.g. `init=` of an all-in-one ramdisk), then the flavour's
      const flavourParams = [ctx.composeInfo.all.cmdline, await flavourOptions.flavourParams?.(ctx)]
        .filter(Boolean)
        .join(' ');
      ctx.reporter.emit({
        type: 'step',
        message: `kexec ${targets.length} machine(s): ${targets.map((t) => `${t.machine}=${t.host}`).join(', ')}`,
      });
      const { pushPath, nodeKeys, knownHosts } = o;
      const result = await kexecDeploy({
        targets: targets.map((t) => {
          const disks = nodeDisks.get(t.host);
          return disks ? { ...t, disks } : t;
        }),
        kernel,
        initrd,
        identity: ctx.identity,
        writeDeployment: (nodes) => ctx.writeDeployment(nodes),
        reporter: ctx.reporter,
        signal: ctx.signal,
        bootTimeoutMs: ctx.timeoutMs,
        ...(flavourParams ? { flavourParams } : {}),
        ...(ctx.kernelParams ? { kernelParams: ctx.kernelParams } : {}),
        ...(pushPath ? { pushPath } : {}),
        ...(nodeKeys ? { nodeKeys: Array.isArray(nodeKeys) ? nodeKeys : [nodeKeys] } : {}),
        ...(knownHosts
          ? { knownHostsFiles: Array.isArray(knownHosts) ? knownHosts : String(knownHosts).split(',') }
          : {}),
        ...(o.reuse ? { reuse: true } : {}),
        ...(o.remoteDeploymentInfo ? { remoteDeploymentInfo: true } : {}),
        ...(o.port !== undefined ? { httpPort: o.port } : {}),
        ...(o.reachTimeoutMs !== undefined ? { reachTimeoutMs: o.reachTimeoutMs } : {}),
        ...(o.distribution ? { distribution: o.distribution } : {}),
      });
      const state: KexecState = { kind: 'g5k-kexec', nodes: {}, startedAt: Math.floor(Date.now() / 1000) };
      for (const n of result.nodes) {
        state.nodes[n.host] = {
          machine: n.machine,
          address: n.address,
          role: n.role,
          status: n.status,
          ...(n.hostKey ? { hostKey: n.hostKey } : {}),
          ...(n.reason ? { reason: `${n.step}: ${n.reason}` } : {}),
        };
      }
      const failed = result.nodes.filter((n) => n.status !== 'up');
      if (failed.length === result.nodes.length) {
        throw new NxcError('NXC_NODE_FAILED', `no node came up: ${failed.map(describe).join('; ')}`, {
          hint: 'check that the machines run the standard environment and accept root SSH with your key',
        });
      }
      await ctx.saveState(state);
      for (const n of failed) ctx.reporter.emit({ type: 'warn', message: describe(n) });
      const jobId = process.env.OAR_JOB_ID;
      const sources: Record<string, number> = {};
      for (const n of result.nodes) if (n.source) sources[n.source] = (sources[n.source] ?? 0) + 1;
      return {
        // for the deployment record: the machines, the OAR job they belong to when known, and
        // what the frontend sent
        platform: {
          ...(jobId ? { oarJobId: jobId } : {}),
          artifacts: {
            frontendBytes: result.frontendBytes,
            artifactBytes: result.artifactBytes,
            sources,
            ...(result.nodes.some((n) => n.fallback)
              ? {
                  fallbacks: Object.fromEntries(
                    result.nodes.filter((n) => n.fallback).map((n) => [n.machine, n.fallback]),
                  ),
                }
              : {}),
          },
        },
        nodes: result.nodes.map((n) => ({
          host: n.host,
          role: n.role,
          address: n.address,
          machine: n.machine,
          state: n.status === 'up' ? 'running' : n.status === 'unreachable' ? 'unreachable' : 'exited',
          detail:
            n.status === 'up'
              ? `${n.machine}, kernel + initrd: ${n.source}${n.from ? ` from ${n.from}` : ''}${n.fallback ? ` (fallback: ${n.fallback})` : ''}, pushed ${n.pushedBytes} bytes`
              : `${n.machine}: ${n.step}: ${n.reason}`,
        })),
      };
    },
  };
}

/**
 * stop / status / transport / network of a deployment whose state is a {@link KexecState}
 * (the kexec flavours and g5k-image): they read the state, never the options. Network
 * conditions are applied on the nodes themselves over SSH (core's guestNetwork).
 */
export function kexecRunning(
  name: string,
): Pick<FlavourDeployer<unknown, KexecState>, 'stop' | 'status' | 'transport' | 'network'> {
  const running = {
    async stop(ctx: RunningContext<unknown, KexecState>): Promise<void> {
      // Nothing runs on our side: the machines belong to the OAR job until it ends.
      ctx.reporter.emit({
        type: 'step',
        message: `forgetting ${ctx.composition}::${name}; the machines stay in your OAR job (release them with oardel)`,
      });
    },

    async status(ctx: RunningContext<unknown, KexecState>): Promise<NodeStatus[]> {
      const state = ctx.state;
      const nodes = Object.entries(ctx.deployment.deployment).map(([address, n]) => ({ address, ...n }));
      return Promise.all(
        nodes.map(async (n): Promise<NodeStatus> => {
          const s = state?.nodes?.[n.host];
          if (s && s.status !== 'up') {
            return {
              host: n.host,
              role: n.role,
              address: n.address,
              state: 'exited',
              detail: `${s.machine}: ${s.reason ?? s.status}`,
            };
          }
          const banner = await probeSshBanner(n.address, 22, 2000);
          return {
            host: n.host,
            role: n.role,
            address: n.address,
            state: banner ? 'running' : 'unreachable',
            ...(state?.startedAt ? { uptimeSeconds: Math.floor(Date.now() / 1000) - state.startedAt } : {}),
            ...(s ? { detail: s.machine } : {}),
          };
        }),
      );
    },

    async transport(ctx: RunningContext<unknown, KexecState>): Promise<Transport> {
      const state = stateOf(ctx);
      const nodes: Record<string, { address: string }> = {};
      const keys: Record<string, string> = {};
      for (const [host, n] of Object.entries(state.nodes)) {
        if (n.status !== 'up') continue;
        nodes[host] = { address: n.address };
        if (n.hostKey) keys[host] = n.hostKey;
      }
      return new SshTransport({
        nodes,
        privateKey: ctx.identity.privateKeyPath,
        hostKeys: new HostKeyStore(keys),
      });
    },

    network(ctx: RunningContext<unknown, KexecState>): NetworkControl {
      return guestNetwork(() => running.transport(ctx), "Grid'5000 node");
    },
  };
  return running;
}

function describe(n: KexecNodeResult): string {
  return `${n.host} (${n.machine}, ${n.address}): ${n.status.toUpperCase()} at ${n.step}: ${n.reason}`;
}
