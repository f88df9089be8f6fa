/**
 * The launch phase every local deployer shares: launch nodes with bounded concurrency, wait
 * each one ready, and let the first failure (or the caller's abort) cancel the rest, so the
 * flavour can roll back once everything launched has settled.
 */
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import type { Reporter } from './reporter.js';

/** One node that failed to launch or to become ready. */
export interface NodeFailure<N> {
  node: N;
  /** Position of the node in {@link LaunchNodesOptions.nodes}. */
  index: number;
  error: unknown;
  /** The error only says the node stopped because of the cancellation (see `isCancellation`). */
  cancellation: boolean;
}

/** What {@link launchNodes} does with each node. */
export interface LaunchNodesOptions<N extends { host: string }, L> {
  nodes: readonly N[];
  /** Launches in flight at most (waits for readiness are not bounded). Default: all at once. */
  concurrency?: number;
  /** The caller's abort (Ctrl-C): cancels every pending launch and wait. */
  signal?: AbortSignal;
  /**
   * Launches one node; resolves with what the flavour needs to wait on it and roll it back.
   * `signal` aborts on the first failure of any node or on the caller's abort.
   */
  launch(node: N, signal: AbortSignal): Promise<L>;
  /**
   * Resolves once the launched node is ready; throws if it will never be. Absent: nodes are
   * not waited on (start without `--wait`) and no ready event is emitted.
   */
  ready?: ((node: N, launched: L, signal: AbortSignal) => Promise<unknown>) | undefined;
  /** Receives `node … ready` and `progress` events as nodes become ready. */
  reporter?: Reporter;
  /** The task named by the progress events. Default: `nodes ready`. */
  progressTask?: string;
  /** Tells the errors a node throws because it was cancelled from the root causes. */
  isCancellation?(error: unknown): boolean;
}

/** The outcome of {@link launchNodes}; it never throws for a node's failure. */
export interface LaunchNodesResult<N, L> {
  /** What `launch` returned, by host, for every node it launched (to roll back). */
  launched: Map<string, L>;
  /** Every failure, in the order they happened. Empty: every node launched (and is ready). */
  failures: NodeFailure<N>[];
  /** The caller's signal aborted. */
  interrupted: boolean;
}

/**
 * Launches `nodes` (at most `concurrency` at a time) and waits each ready, emitting a `node`
 * `ready` event and a `progress` event per ready node. The first failure cancels the rest:
 * launches not yet started are skipped, and the `signal` given to running launches and waits
 * aborts. Resolves once every launch and wait has settled, so that nothing is still being
 * created when the caller rolls back.
 */
export async function launchNodes<N extends { host: string }, L>(
  options: LaunchNodesOptions<N, L>,
): Promise<LaunchNodesResult<N, L>> {
  const { nodes, signal, launch, ready, reporter } = options;
  const concurrency = options.concurrency ?? Math.max(1, nodes.length);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`launchNodes: concurrency must be an integer of at least 1, got ${concurrency}`);
  }
  const cancel = new AbortController();
  // one listener per node waiting on it: not a leak
  setMaxListeners(0, cancel.signal);
  const onAbort = (): void => cancel.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) cancel.abort();

  const launched = new Map<string, L>();
  const failures: NodeFailure<N>[] = [];
  const limit = pLimit(concurrency);
  const task = options.progressTask ?? 'nodes ready';
  let readyCount = 0;
  try {
    await Promise.all(
      nodes.map(async (node, index) => {
        try {
          const result = await limit(async () => {
            if (cancel.signal.aborted) return { skipped: true as const };
            // aborted before the limiter frees the slot, so no queued launch starts after a failure
            const value = await launch(node, cancel.signal).catch((error: unknown) => {
              cancel.abort();
              throw error;
            });
            launched.set(node.host, value);
            return { skipped: false as const, value };
          });
          if (result.skipped || !ready) return;
          await ready(node, result.value, cancel.signal);
          readyCount++;
          reporter?.emit({ type: 'node', host: node.host, state: 'ready' });
          reporter?.emit({ type: 'progress', task, current: readyCount, total: nodes.length });
        } catch (error) {
          failures.push({ node, index, error, cancellation: options.isCancellation?.(error) ?? false });
          cancel.abort();
        }
      }),
    );
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return { launched, failures, interrupted: signal?.aborted ?? false };
}
