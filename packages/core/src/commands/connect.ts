/** `nxc connect`: which hosts, and an interactive shell on one (several panes: the CLI lays them out with tmux). */
import { NxcError } from '../errors.js';
import type { Project } from '../project.js';
import type { ShellSession } from '../transposition.js';
import { type RunningOptions, openDeployment } from './running.js';
import { type DeploymentNode, resolveTargets } from './targets.js';

/** Resolves `nxc connect` arguments (hostnames, `@role`; none = every node) to nodes. */
export async function resolveConnectHosts(
  project: Project,
  hosts: string[],
  opts: RunningOptions = {},
): Promise<{ composition: string; flavour: string; nodes: DeploymentNode[] }> {
  const { entry, ctx } = await openDeployment(project, opts);
  return {
    composition: entry.composition,
    flavour: entry.flavour,
    nodes: resolveTargets(ctx.deployment, hosts),
  };
}

/** Options of {@link connect}. */
export interface ConnectOptions extends RunningOptions {
  /** `-l`: remote user (default root). */
  user?: string;
  /** Command to run instead of a login shell. */
  command?: string;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  columns?: number;
  rows?: number;
}

/**
 * Opens an interactive shell on ONE node through the flavour's transport. The caller puts its
 * terminal in raw mode, forwards resizes to `session.resize`, and awaits `session.exited`
 * (the remote exit code); connections are released when the shell exits.
 */
export async function connect(project: Project, host: string, opts: ConnectOptions): Promise<ShellSession> {
  const { ctx, deployer } = await openDeployment(project, opts);
  const [node] = resolveTargets(ctx.deployment, [host]);
  const nodes = resolveTargets(ctx.deployment, [host]);
  if (nodes.length !== 1 || !node) {
    throw new NxcError('NXC_USAGE', `${host} names ${nodes.length} nodes; a shell needs one`, {
      hint: 'give several hosts to open one tmux pane each',
    });
  }
  const transport = await deployer.transport(ctx);
  let session: ShellSession;
  try {
    session = await transport.shell(node.host, {
      ...(opts.user ? { user: opts.user } : {}),
      ...(opts.command ? { command: opts.command } : {}),
      stdin: opts.stdin,
      stdout: opts.stdout,
      ...(opts.columns ? { columns: opts.columns } : {}),
      ...(opts.rows ? { rows: opts.rows } : {}),
    });
  } catch (error) {
    await transport.close();
    throw error;
  }
  const exited = session.exited.finally(() => transport.close());
  return { resize: (c, r) => session.resize(c, r), exited };
}
