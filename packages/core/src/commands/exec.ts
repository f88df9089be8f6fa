/** `nxc exec TARGET... -- CMD`: one command on many nodes, in parallel, through the flavour's transport. */
import pLimit from 'p-limit';
import type { Project } from '../project.js';
import { type RunningOptions, openDeployment } from './running.js';
import { resolveTargets } from './targets.js';

/** Options of {@link exec}. */
export interface ExecCommandOptions extends RunningOptions {
  /** Run as this user (default root). */
  user?: string;
  /** Per-node timeout in ms. */
  timeoutMs?: number;
  /** Nodes run at the same time (default 16). */
  concurrency?: number;
  /** Called with each chunk of a node's output, as it arrives. */
  onOutput?: (host: string, stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Called when a node finishes. */
  onResult?: (result: NodeExecResult) => void;
}

/** One node's outcome. */
export interface NodeExecResult {
  host: string;
  role: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when the command could not run at all (node unreachable...). */
  error?: string;
}

/**
 * Runs `command` (a shell string, or an argv) on every target (`all`, `@role`, hostnames).
 * Never throws for a failing node: each result says how it went.
 */
export async function exec(
  project: Project,
  targets: string[],
  command: string | string[],
  opts: ExecCommandOptions = {},
): Promise<NodeExecResult[]> {
  const { ctx, deployer } = await openDeployment(project, opts);
  const nodes = resolveTargets(ctx.deployment, targets);
  const transport = await deployer.transport(ctx);
  const limit = pLimit(opts.concurrency ?? 16);
  try {
    return await Promise.all(
      nodes.map((node) =>
        limit(async (): Promise<NodeExecResult> => {
          let result: NodeExecResult;
          try {
            const r = await transport.exec(node.host, command, {
              ...(opts.user ? { user: opts.user } : {}),
              ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
              signal: ctx.signal,
              onStdout: (chunk) => opts.onOutput?.(node.host, 'stdout', chunk),
              onStderr: (chunk) => opts.onOutput?.(node.host, 'stderr', chunk),
            });
            result = { host: node.host, role: node.role, ...r };
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            result = {
              host: node.host,
              role: node.role,
              exitCode: 255,
              stdout: '',
              stderr: '',
              error: message,
            };
          }
          opts.onResult?.(result);
          return result;
        }),
      ),
    );
  } finally {
    await transport.close();
  }
}
