/** `nxc stop` and `nxc status`: act on a recorded deployment through its flavour. */
import { rm } from 'node:fs/promises';
import type { Project } from '../project.js';
import { deploymentPath, statePath } from '../state.js';
import type { NodeStatus } from '../transposition.js';
import { type RunningOptions, openDeployment, openEntry } from './running.js';
import { listDeployments, parseSelector } from './select.js';

/** What {@link stop} returns. */
export interface StopSummary {
  composition: string;
  flavour: string;
  /** Hosts that were in the deployment. */
  hosts: string[];
}

/**
 * Stops the selected deployment (the only one, or `-C comp::flavour`): the flavour removes
 * every node and network, then the deploy/ files go.
 */
export async function stop(project: Project, opts: RunningOptions = {}): Promise<StopSummary> {
  const { entry, ctx, deployer } = await openDeployment(project, opts);
  ctx.reporter.emit({ type: 'step', message: `stopping ${entry.composition}::${entry.flavour}` });
  await deployer.stop(ctx);
  await rm(deploymentPath(project, entry.composition, entry.flavour), { force: true });
  await rm(statePath(project, entry.composition, entry.flavour), { force: true });
  const hosts = Object.values(ctx.deployment.deployment).map((n) => n.host);
  ctx.reporter.emit({ type: 'done', message: `${entry.composition}::${entry.flavour} stopped` });
  return { composition: entry.composition, flavour: entry.flavour, hosts };
}

/** One deployment as {@link status} reports it. */
export interface DeploymentStatus {
  composition: string;
  flavour: string;
  nodes: NodeStatus[];
}

/**
 * Status of every recorded deployment (or those matching `-C`/`-f`), asking each flavour
 * for its nodes' states. An empty list when nothing is deployed.
 */
export async function status(project: Project, opts: RunningOptions = {}): Promise<DeploymentStatus[]> {
  const sel = parseSelector(opts);
  const entries = (await listDeployments(project)).filter(
    (e) =>
      (!sel.flavour || e.flavour === sel.flavour) && (!sel.composition || e.composition === sel.composition),
  );
  const out: DeploymentStatus[] = [];
  for (const entry of entries) {
    const { ctx, deployer } = await openEntry(project, entry, opts);
    out.push({ composition: entry.composition, flavour: entry.flavour, nodes: await deployer.status(ctx) });
  }
  return out;
}
