import { NxcError, isNxcError } from '@nxc/core/flavour';
import type { ExecOptions, ExecResult } from '@nxc/core/flavour';
/**
 * Bounded parallel work on many nodes with one verdict per node: OK, FAILED (the node
 * answered but the work failed) or UNREACHABLE (no usable SSH connection), each with its
 * reason. Never one opaque failure for the whole set.
 */
import pLimit from 'p-limit';
import type { SshTransport } from './transport.js';

/** Per-node result of {@link fanOut}. */
export type NodeOutcome<T> =
  | { host: string; status: 'OK'; value: T; ms: number }
  | { host: string; status: 'FAILED' | 'UNREACHABLE'; reason: string; error: unknown; ms: number };

export interface FanOutOptions {
  /** Nodes worked on at once (default 16). */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called as each node finishes (progress display). */
  onResult?: (outcome: NodeOutcome<unknown>) => void;
}

/** Runs `work` on every host, at most `concurrency` at a time; never rejects. */
export async function fanOut<T>(
  hosts: string[],
  work: (host: string) => Promise<T>,
  options: FanOutOptions = {},
): Promise<NodeOutcome<T>[]> {
  const limit = pLimit(Math.max(1, options.concurrency ?? 16));
  return Promise.all(
    hosts.map((host) =>
      limit(async (): Promise<NodeOutcome<T>> => {
        const t0 = Date.now();
        let outcome: NodeOutcome<T>;
        if (options.signal?.aborted) {
          outcome = {
            host,
            status: 'FAILED',
            reason: 'interrupted',
            error: new NxcError('NXC_INTERRUPTED', 'interrupted'),
            ms: 0,
          };
        } else {
          try {
            outcome = { host, status: 'OK', value: await work(host), ms: Date.now() - t0 };
          } catch (error) {
            const unreachable = isNxcError(error) && error.code === 'NXC_NODE_UNREACHABLE';
            outcome = {
              host,
              status: unreachable ? 'UNREACHABLE' : 'FAILED',
              reason: reasonOf(error),
              error,
              ms: Date.now() - t0,
            };
          }
        }
        options.onResult?.(outcome as NodeOutcome<unknown>);
        return outcome;
      }),
    ),
  );
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Runs one command on many nodes; a non-zero exit is FAILED with the exit code and the last
 * line of stderr as reason.
 */
export function execAll(
  transport: SshTransport,
  hosts: string[],
  command: string | string[],
  options: ExecOptions & FanOutOptions = {},
): Promise<NodeOutcome<ExecResult>[]> {
  return fanOut(
    hosts,
    async (host) => {
      const r = await transport.exec(host, command, options);
      if (r.exitCode !== 0) {
        const last = r.stderr.trim().split('\n').pop() || r.stdout.trim().split('\n').pop() || '';
        throw new NxcError('NXC_NODE_FAILED', `exit ${r.exitCode}${last ? `: ${last}` : ''}`);
      }
      return r;
    },
    options,
  );
}

/** One line per node that is not OK, e.g. `client2: UNREACHABLE (connect timeout)`. */
export function describeFailures(outcomes: NodeOutcome<unknown>[]): string[] {
  return outcomes.flatMap((o) => (o.status === 'OK' ? [] : [`${o.host}: ${o.status} (${o.reason})`]));
}
