/**
 * The reserved disks checked on the machines over SSH, in the environment they run before
 * nxc deploys (Grid'5000's standard environment), for flavours that do not log into the
 * machines themselves before deploying (g5k-image: Kadeploy does). The kexec flavours run the
 * same probe ({@link diskProbeCommand}) on their own connection (./kexec-deploy.ts).
 */
import { NxcError } from '@nxc/core/flavour';
import {
  HostKeyStore,
  SshTransport,
  defaultKnownHostsFiles,
  lookupKnownHosts,
  readKnownHosts,
} from '@nxc/ssh';
import { type AssignedDisk, diskProbeCommand, diskProbeProblems, disksError } from './disks.js';

/** A machine to check: its node and the reserved disks that node gets. */
export interface DiskCheckTarget {
  host: string;
  machine: string;
  address: string;
  disks: AssignedDisk[];
}

/** Options of {@link checkReservedDisks}. */
export interface DiskCheckOptions {
  /** Private key files tried in turn for root's login (e.g. the kexec flavours' `nodeKeys`). */
  loginKeys: string[];
  /** known_hosts files vouching for the machines' keys (default: the system's and the user's). */
  knownHostsFiles?: string[];
  /** Bound on each machine's connection and probe, in ms (default 60 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const PATH_PREFIX = 'PATH=$PATH:/sbin:/usr/sbin; ';

/**
 * Logs into every machine as root (the keys in turn; its key checked against known_hosts
 * when they list it, else trusted on first contact) and checks its reserved disks: each a
 * whole disk, at least the declared size, nothing of it mounted.
 *
 * @throws NxcError `NXC_MACHINES` with one `error:` line per problem (a machine that cannot
 * be checked is one), before anything is deployed.
 */
export async function checkReservedDisks(
  targets: DiskCheckTarget[],
  options: DiskCheckOptions,
): Promise<void> {
  const wanting = targets.filter((t) => t.disks.length > 0);
  if (wanting.length === 0) return;
  const knownHosts = await readKnownHosts(options.knownHostsFiles ?? defaultKnownHostsFiles());
  const timeoutMs = options.timeoutMs ?? 60_000;
  const answers = await Promise.all(
    wanting.map(async (t): Promise<string[]> => {
      const where = `node ${t.host} (${t.machine})`;
      if (options.signal?.aborted) throw new NxcError('NXC_INTERRUPTED', 'interrupted');
      const listed = lookupKnownHosts(knownHosts, [t.machine, t.address]);
      let last = 'no login key (give nodeKeys)';
      for (const key of options.loginKeys) {
        const hostKeys = new HostKeyStore({}, { learn: listed.keys.length === 0 });
        hostKeys.revoke(listed.revoked);
        if (listed.keys.length > 0) {
          hostKeys.trust(
            t.machine,
            listed.keys.map((k) => k.record),
            `the keys in ${[...new Set(listed.keys.map((k) => k.source))].join(', ')}`,
          );
        }
        const transport = new SshTransport({
          nodes: { [t.machine]: { address: t.address } },
          privateKey: key,
          hostKeys,
          connectTimeoutMs: Math.min(timeoutMs, 20_000),
        });
        try {
          const r = await transport.exec(
            t.machine,
            PATH_PREFIX + diskProbeCommand(t.disks.map((d) => d.diskpath)),
            { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) },
          );
          if (r.exitCode !== 0) {
            return [
              `${where}: cannot check its reserved disks: the probe exited ${r.exitCode}: ${(r.stderr.trim() || r.stdout.trim()).split('\n').pop() ?? ''}`,
            ];
          }
          return diskProbeProblems(t.host, t.machine, t.disks, r.stdout);
        } catch (e) {
          last = (e as Error).message.split('\n')[0] ?? String(e);
          // a key nothing vouches for: no other login key changes that
          if (hostKeys.mismatch(t.machine)) break;
        } finally {
          await transport.close().catch(() => undefined);
        }
      }
      return [`${where}: cannot check its reserved disks over SSH as root: ${last}`];
    }),
  );
  const problems = answers.flat();
  if (problems.length > 0) throw disksError(problems);
}
