/** `nxc logs [NODE...] [-f]`: node output (container logs, serial consoles) through the flavour. */
import { NxcError } from '../errors.js';
import type { Project } from '../project.js';
import type { LogLine } from '../transposition.js';
import { type RunningOptions, openDeployment } from './running.js';
import { resolveTargets } from './targets.js';

/** Options of {@link logs}. */
export interface LogsCommandOptions extends RunningOptions {
  /** Keep streaming new lines until aborted. */
  follow?: boolean;
  /** Last N lines per node. */
  tail?: number;
}

/** Streams log lines of the given nodes (hostnames, `@role`, `all`; none = all). */
export async function* logs(
  project: Project,
  targets: string[],
  opts: LogsCommandOptions = {},
): AsyncGenerator<LogLine> {
  const { ctx, deployer } = await openDeployment(project, opts);
  const hosts = resolveTargets(ctx.deployment, targets).map((n) => n.host);
  if (!deployer.logs) {
    throw new NxcError('NXC_USAGE', `flavour ${ctx.flavour} does not provide logs`, {
      hint: `look under artifact/${ctx.composition}/${ctx.flavour}/, or run \`nxc exec NODE -- journalctl\``,
    });
  }
  yield* deployer.logs(ctx, {
    follow: opts.follow ?? false,
    hosts,
    ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
    signal: ctx.signal,
  });
}
