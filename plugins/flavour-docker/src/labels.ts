/**
 * Labels marking every Docker object nxc creates (containers, network, volumes), so that
 * status and stop find them from the engine alone, even after nxc crashed mid-start.
 */
import { createHash } from 'node:crypto';

/** Label keys. Values are plain strings (Docker labels). */
export const LABEL = {
  /** Hash of the project's root path: two checkouts of one project do not collide. */
  project: 'nxc.project',
  composition: 'nxc.composition',
  flavour: 'nxc.flavour',
  /** Unique id of one `nxc start` (differs between two starts of the same composition). */
  deployment: 'nxc.deployment',
  /** Deployment hostname of the node a container runs. */
  host: 'nxc.host',
  role: 'nxc.role',
  /** Absolute project root, for humans reading `docker inspect`. */
  projectRoot: 'nxc.project.root',
} as const;

/** What identifies one deployment scope: a project's composition on a flavour. */
export interface Scope {
  projectRoot: string;
  composition: string;
  flavour: string;
}

/** Stable hash of a project root (16 hex chars). */
export function projectHash(projectRoot: string): string {
  return createHash('sha256').update(projectRoot).digest('hex').slice(0, 16);
}

/** Short form of {@link projectHash} used in object names. */
export function shortProjectHash(projectRoot: string): string {
  return projectHash(projectRoot).slice(0, 8);
}

/** Labels common to every object of a deployment. */
export function scopeLabels(scope: Scope, deploymentId?: string): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL.project]: projectHash(scope.projectRoot),
    [LABEL.projectRoot]: scope.projectRoot,
    [LABEL.composition]: scope.composition,
    [LABEL.flavour]: scope.flavour,
  };
  if (deploymentId !== undefined) labels[LABEL.deployment] = deploymentId;
  return labels;
}

/** Labels of one node's container. */
export function nodeLabels(
  scope: Scope,
  deploymentId: string,
  node: { host: string; role: string },
): Record<string, string> {
  return { ...scopeLabels(scope, deploymentId), [LABEL.host]: node.host, [LABEL.role]: node.role };
}

/**
 * Engine list filter matching every object of a scope, whatever the deployment id
 * (so leftovers of a crashed start are found too).
 */
export function scopeFilter(scope: Scope): { label: string[] } {
  return {
    label: [
      `${LABEL.project}=${projectHash(scope.projectRoot)}`,
      `${LABEL.composition}=${scope.composition}`,
      `${LABEL.flavour}=${scope.flavour}`,
    ],
  };
}

/** Filter matching every object nxc created on this engine, all projects included. */
export const anyNxcFilter = { label: [LABEL.project] };

/**
 * The deployment id of a start of these nodes (hosts and roles, in order) in this scope: the
 * same at every start with the same inputs, so what a start writes (network name, labels,
 * docker-compose.json) is byte-identical from one start to the next. A start whose network of
 * that name is stale (the engine did not release it) takes {@link newDeploymentId} instead.
 */
export function stableDeploymentId(
  scope: Scope,
  nodes: ReadonlyArray<{ host: string; role: string }>,
): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        scope.projectRoot,
        scope.composition,
        scope.flavour,
        nodes.map((n) => [n.host, n.role]),
      ]),
    )
    .digest('hex')
    .slice(0, 12);
}

/** A fresh deployment id: time-ordered, unique enough for one engine. */
export function newDeploymentId(now = Date.now()): string {
  return `${now.toString(36)}-${createHash('sha256').update(`${now}${Math.random()}`).digest('hex').slice(0, 6)}`;
}

/** Turns any string into a valid Docker object name fragment ([a-zA-Z0-9][a-zA-Z0-9_.-]*). */
export function nameFragment(value: string): string {
  const cleaned = value.replace(/[^a-zA-Z0-9_.-]+/g, '-').replace(/^[^a-zA-Z0-9]+/, '');
  return cleaned === '' ? 'x' : cleaned;
}

/** Container name of a node: `nxc-<composition>-<host>-<short project hash>`. */
export function containerName(scope: Scope, host: string): string {
  return `nxc-${nameFragment(scope.composition)}-${nameFragment(host)}-${shortProjectHash(scope.projectRoot)}`;
}

/** Network name of one start: `nxc-<composition>-<short project hash>-<deployment id suffix>`. */
export function networkName(scope: Scope, deploymentId: string): string {
  const suffix = nameFragment(deploymentId.split('-').at(-1) ?? deploymentId);
  return `nxc-${nameFragment(scope.composition)}-${shortProjectHash(scope.projectRoot)}-${suffix}`;
}

/** Name of a deployment volume (`shared`, or an `extraVolumes` named volume). */
export function volumeName(scope: Scope, name: string): string {
  return `nxc-${nameFragment(scope.composition)}-${shortProjectHash(scope.projectRoot)}-${nameFragment(name)}`;
}
