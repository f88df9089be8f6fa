/**
 * `nxc stop` and `nxc status`. Stop acts on the recorded deployment through its flavour, then
 * asks the flavours for anything of the project left on the platform without a usable
 * document (crashed starts, deleted or corrupt deploy/ files), so that whatever runs can
 * always be removed.
 */
import { rm } from 'node:fs/promises';
import { readDeploymentDocument } from '../deployment.js';
import type { DeploymentDocument } from '../deployment.js';
import { NxcError, isNxcError } from '../errors.js';
import { type LoadedFlavour, loadFlavours } from '../plugins.js';
import { withProjectLock } from '../project-lock.js';
import type { Project } from '../project.js';
import { removeRunningRecord } from '../records.js';
import { silentReporter } from '../reporter.js';
import { ensureProjectIdentity, readIdentity } from '../ssh-identity.js';
import { deploymentKey, deploymentPath, statePath } from '../state.js';
import type { NetworkCondition, NodeStatus, RemovedLeftovers, RunningContext } from '../transposition.js';
import { netDrift, netPath, readNetConditions } from './net.js';
import { type RunningOptions, loadDeployer, openEntry, readState, runningOptions } from './running.js';
import {
  type Selector,
  type StateEntry,
  listDeployments,
  parseSelector,
  selectDeployment,
} from './select.js';

/** What {@link stop} returns. */
export interface StopSummary {
  /** The deployment stopped through its document (absent when only leftovers were found). */
  composition?: string;
  flavour?: string;
  /** Hosts that were in that deployment (empty when its document was unreadable). */
  hosts: string[];
  /**
   * What the flavours found and removed from the platform alone, per deployment: leftovers
   * of crashed starts, deployments whose documents are missing or corrupt. Absent when none.
   */
  recovered?: RemovedLeftovers[];
  /** Problems worked around (e.g. an unreadable document). Absent when none. */
  warnings?: string[];
}

function matches(entry: { composition: string; flavour: string }, sel: Selector): boolean {
  return (
    (sel.flavour === undefined || entry.flavour === sel.flavour) &&
    (sel.composition === undefined || entry.composition === sel.composition || entry.composition === '')
  );
}

/** ` comp::flavour`, ` comp`, ` -f flavour` or nothing: what a command was asked to act on. */
function selectorLabel(sel: Selector): string {
  if (sel.composition && sel.flavour) return ` ${deploymentKey(sel.composition, sel.flavour)}`;
  if (sel.composition) return ` ${sel.composition}`;
  return sel.flavour ? ` -f ${sel.flavour}` : '';
}

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';

/**
 * Stops the selected deployment (the only one, or `-C comp::flavour`): the flavour removes
 * every node and network, then the deploy/ files go, even when the document or the state
 * is unreadable. Then every flavour that can (see `removeLeftovers`) removes what it still
 * finds of the project (restricted to `-C`/`-f`). Fails with "no deployment" only when there
 * was neither a document nor anything left over. Holds the project lock.
 */
export async function stop(project: Project, opts: RunningOptions = {}): Promise<StopSummary> {
  const sel = parseSelector(opts);
  return withProjectLock(project, `stop${selectorLabel(sel)}`, async () => {
    const reporter = opts.reporter ?? silentReporter;
    const documents = (await listDeployments(project)).filter((e) => matches(e, sel));
    // several candidates: never guess which one to stop (this throws, naming them)
    if (documents.length > 1) await selectDeployment(project, sel);
    const warnings: string[] = [];
    const summary: StopSummary = { hosts: [] };
    const entry = documents[0];
    if (entry) {
      const stopped = await stopDocumented(project, entry, opts, warnings);
      summary.composition = entry.composition;
      summary.flavour = entry.flavour;
      summary.hosts = stopped.hosts;
    }
    const { recovered, looked } = await removeLeftovers(project, sel, opts);
    if (!entry && recovered.length === 0) {
      // "no deployment", and where nxc looked for one without documents
      const error = await selectDeployment(project, sel).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (error === undefined) return summary;
      if (isNxcError(error) && looked.length > 0) {
        throw new NxcError(error.code, error.message, {
          hint: `${error.hint ?? 'start one with `nxc start`'}; nothing of the project runs on ${looked.join(', ')}`,
          exitCode: error.exitCode,
        });
      }
      throw error;
    }
    for (const r of recovered) {
      reporter.emit({
        type: 'warn',
        message: `removed leftovers of ${deploymentKey(r.composition, r.flavour)}: ${r.removed.join(', ')}`,
      });
    }
    if (recovered.length > 0) summary.recovered = recovered;
    if (warnings.length > 0) summary.warnings = warnings;
    return summary;
  });
}

/** Stops one documented deployment; unreadable document or state are worked around, not fatal. */
async function stopDocumented(
  project: Project,
  entry: StateEntry,
  opts: RunningOptions,
  warnings: string[],
): Promise<{ hosts: string[] }> {
  const reporter = opts.reporter ?? silentReporter;
  const key = deploymentKey(entry.composition, entry.flavour);
  let ctx: RunningContext;
  let deployer: Awaited<ReturnType<typeof openEntry>>['deployer'];
  try {
    ({ ctx, deployer } = await openEntry(project, entry, { ...opts, lenientOptions: true }));
  } catch (error) {
    if (!isNxcError(error) || error.code !== 'NXC_DEPLOYMENT') throw error;
    // the document or the state is unreadable: the flavour finds its objects without them
    const warning = `${firstLine(error)}; stopping ${key} without it`;
    warnings.push(warning);
    reporter.emit({ type: 'warn', message: warning });
    const flavour = (await loadFlavours(project)).get(entry.flavour);
    deployer = await loadDeployer(flavour);
    let deployment: DeploymentDocument;
    try {
      deployment = await readDeploymentDocument(project, entry.composition, entry.flavour);
    } catch {
      deployment = {
        deployment: {},
        'ssh_key.pub': '',
        composition: entry.composition,
        flavour: entry.flavour,
        user: '',
      };
    }
    ctx = {
      project,
      composition: entry.composition,
      flavour: entry.flavour,
      reporter,
      signal: opts.signal ?? new AbortController().signal,
      options: runningOptions(project, flavour, reporter, true),
      deployment,
      state: await readState(project, entry.composition, entry.flavour, deployer.stateSchema).catch(
        () => undefined,
      ),
      identity: opts.identityFile
        ? await readIdentity(opts.identityFile)
        : await ensureProjectIdentity(project),
    };
  }
  reporter.emit({ type: 'step', message: `stopping ${key}` });
  await deployer.stop(ctx);
  await rm(deploymentPath(project, entry.composition, entry.flavour), { force: true });
  await rm(statePath(project, entry.composition, entry.flavour), { force: true });
  // the conditions went with the nodes
  await rm(netPath(project, entry.composition, entry.flavour), { force: true });
  // its kept copy in artifact/…/records/ stays: the account outlives the deployment
  await removeRunningRecord(project, entry.composition, entry.flavour);
  reporter.emit({ type: 'done', message: `${key} stopped` });
  return { hosts: Object.values(ctx.deployment.deployment).map((n) => n.host) };
}

/**
 * Asks every flavour matching the selector that can (`removeLeftovers`) and is usable here
 * (an engine that is not running has nothing running) to remove what it finds of the project.
 */
async function removeLeftovers(
  project: Project,
  sel: Selector,
  opts: RunningOptions,
): Promise<{ recovered: RemovedLeftovers[]; looked: string[] }> {
  const reporter = opts.reporter ?? silentReporter;
  const signal = opts.signal ?? new AbortController().signal;
  const flavours: LoadedFlavour[] = (await loadFlavours(project))
    .list()
    .filter((f) => sel.flavour === undefined || f.name === sel.flavour);
  const out: RemovedLeftovers[] = [];
  const looked: string[] = [];
  for (const flavour of flavours) {
    if (flavour.usable) {
      // an engine that is not running here runs nothing of ours
      const problem = await flavour.usable({ project }).catch((error: unknown) => ({
        reason: firstLine(error),
        hint: '',
      }));
      if (problem) continue;
    }
    const deployer = await flavour.deployer();
    if (!deployer.removeLeftovers) continue;
    looked.push(flavour.name);
    const found = await deployer.removeLeftovers({
      project,
      flavour: flavour.name,
      ...(sel.composition ? { composition: sel.composition } : {}),
      reporter,
      signal,
    });
    out.push(...found.filter((r) => r.removed.length > 0));
  }
  return { recovered: out, looked };
}

/** One deployment as {@link status} reports it. */
export interface DeploymentStatus {
  composition: string;
  flavour: string;
  nodes: NodeStatus[];
  /** Network conditions nxc put in force (`nxc net`); absent when none. */
  network?: NetworkCondition[];
  /**
   * Nodes that do not have their part of {@link network} in force (a node that rebooted lost
   * it: `nxc net restore` puts it back), one line per difference; absent when every node has
   * it, or when the flavour cannot tell.
   */
  networkNotInForce?: Array<{ host: string; problems: string[] }>;
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
    const network = await readNetConditions(project, entry.composition, entry.flavour);
    const nodes = await deployer.status(ctx);
    // only the running nodes can be asked what they have in force
    const running = new Set(nodes.filter((n) => n.state === 'running').map((n) => n.host));
    const drift =
      network.length > 0
        ? await netDrift({ deployer, ctx }, network, running).catch(() => undefined)
        : undefined;
    const notInForce = Object.entries(drift ?? {})
      .filter(([host]) => running.has(host))
      .map(([host, problems]) => ({ host, problems }));
    out.push({
      composition: entry.composition,
      flavour: entry.flavour,
      nodes,
      ...(network.length > 0 ? { network } : {}),
      ...(notInForce.length > 0 ? { networkNotInForce: notInForce } : {}),
    });
  }
  return out;
}
