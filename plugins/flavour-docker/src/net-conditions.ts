/**
 * Network conditions on docker, applied from the host without the nodes' cooperation: in each
 * container's network namespace (entered with `nsenter -t <pid> -n`, the container's init pid
 * from the engine), nxc adds a `prohibit` route to each peer's address, marked with its own
 * route protocol number so that heal deletes exactly the routes nxc added. A `prohibit` route
 * makes connections fail at once (EACCES / ICMP administratively prohibited) rather than
 * hang, and needs no iptables on the host nor any tool in the node's image. The network
 * namespace goes with the container, so `nxc stop` leaves nothing behind.
 *
 * Delay, loss and rate need the `sch_netem` qdisc in the docker host's kernel: it is probed in
 * a throw-away network namespace before anything is applied.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type NetworkCondition, type NetworkControl, NxcError } from '@nxc/core/flavour';

const run = promisify(execFile);

/** Route protocol number marking nxc's routes (`ip route ... proto 208`). */
export const NXC_ROUTE_PROTO = '208';

/** One command in a node's network namespace. */
type NsRun = (host: string, argv: string[]) => Promise<void>;

async function ns(pid: number, argv: string[]): Promise<void> {
  await run('nsenter', ['-t', String(pid), '-n', ...argv], { timeout: 10_000 });
}

const stderrOf = (error: unknown): string =>
  ((error as { stderr?: string }).stderr ?? (error instanceof Error ? error.message : String(error)))
    .trim()
    .split('\n')[0] ?? '';

/**
 * Whether the kernel nxc runs on offers `sch_netem`: adds a netem qdisc on the loopback of a
 * throw-away network namespace (`unshare -n`). Returns the reason when it does not.
 */
export async function probeNetem(): Promise<string | undefined> {
  try {
    await run('unshare', ['-n', 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], {
      timeout: 10_000,
    });
    return undefined;
  } catch (error) {
    return stderrOf(error) || 'tc failed';
  }
}

function routeArgs(verb: 'add' | 'del' | 'replace', address: string): string[] {
  return ['ip', 'route', verb, 'prohibit', `${address}/32`, 'proto', NXC_ROUTE_PROTO];
}

/**
 * The docker flavour's {@link NetworkControl}. `pidOf` gives a node's container init pid
 * (the engine must run on this machine, and nxc must be allowed to enter namespaces: root).
 */
export function dockerNetwork(pidOf: (host: string) => Promise<number>): NetworkControl {
  /** The peers `host` must not reach under `conditions`, by address. */
  const blockedBy = (host: string, conditions: NetworkCondition[]): Map<string, string> =>
    new Map(
      conditions
        .filter((c) => c.kind === 'partition' && (c.a.host === host || c.b.host === host))
        .map((c) => (c.a.host === host ? [c.b.address, c.b.host] : [c.a.address, c.a.host])),
    );
  const inNs: NsRun = async (host, argv) => {
    const pid = await pidOf(host);
    try {
      await ns(pid, argv);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new NxcError('NXC_FLAVOUR_UNUSABLE', 'nsenter or ip is not installed on the docker host', {
          hint: 'install util-linux and iproute2 on this machine',
          exitCode: 3,
        });
      }
      throw new NxcError(
        'NXC_FLAVOUR_UNUSABLE',
        `cannot change routes in ${host}'s network namespace: ${stderrOf(error)}`,
        {
          hint: "nxc net on docker enters containers' namespaces: run it as root on the docker host",
          exitCode: 3,
        },
      );
    }
  };
  const routes = (c: NetworkCondition): Array<[string, string]> => [
    [c.a.host, c.b.address],
    [c.b.host, c.a.address],
  ];
  return {
    async restore(hosts, inForce) {
      for (const host of hosts) {
        // replace: a container that kept its namespace still has them
        for (const address of blockedBy(host, inForce).keys())
          await inNs(host, routeArgs('replace', address));
      }
    },
    async inspect(hosts, inForce) {
      const out: Record<string, string[]> = {};
      for (const host of hosts) {
        try {
          const { stdout } = await run(
            'nsenter',
            ['-t', String(await pidOf(host)), '-n', 'ip', 'route', 'show', 'proto', NXC_ROUTE_PROTO],
            { timeout: 10_000 },
          );
          const routes = new Set(
            stdout
              .split('\n')
              .map((l) => /^prohibit (\S+)/.exec(l)?.[1]?.replace(/\/32$/, ''))
              .filter((a): a is string => a !== undefined),
          );
          const want = blockedBy(host, inForce);
          out[host] = [
            ...[...want]
              .filter(([address]) => !routes.has(address))
              .map(
                ([address, peer]) => `partition from ${peer} (${address}) not in force (no prohibit route)`,
              ),
            ...[...routes]
              .filter((address) => !want.has(address))
              .map((address) => `a prohibit route to ${address} nxc does not list`),
          ];
        } catch (error) {
          out[host] = [`cannot read its routes: ${stderrOf(error)}`];
        }
      }
      return out;
    },
    async apply(conditions) {
      const shaping = conditions.filter((c) => c.kind !== 'partition');
      if (shaping.length > 0) {
        const missing = await probeNetem();
        const kinds = [...new Set(shaping.map((c) => c.kind))].join('/');
        if (missing !== undefined) {
          throw new NxcError(
            'NXC_FLAVOUR_UNUSABLE',
            `cannot apply ${kinds}: the kernel module sch_netem is missing on the docker host (tc: ${missing})`,
            {
              hint: 'load it on the docker host (`modprobe sch_netem`) or use a kernel that has it',
              exitCode: 3,
            },
          );
        }
        throw new NxcError(
          'NXC_FLAVOUR_UNUSABLE',
          `${kinds} is not supported by the docker flavour yet (partitions are)`,
          { hint: 'see docs/network.md', exitCode: 3 },
        );
      }
      const done: Array<[string, string]> = [];
      try {
        for (const c of conditions) {
          for (const [host, address] of routes(c)) {
            await inNs(host, routeArgs('add', address));
            done.push([host, address]);
          }
        }
      } catch (error) {
        // all or nothing: remove the routes this call added
        for (const [host, address] of done.reverse()) {
          await inNs(host, routeArgs('del', address)).catch(() => undefined);
        }
        throw error;
      }
    },
    async clear(conditions) {
      for (const c of conditions) {
        if (c.kind !== 'partition') continue;
        for (const [host, address] of routes(c)) {
          // gone already (container restarted, route removed by hand): nothing to undo
          await inNs(host, routeArgs('del', address)).catch((error: unknown) => {
            if (error instanceof NxcError && /No such process|Cannot find/i.test(error.message)) return;
            throw error;
          });
        }
      }
    },
  };
}
