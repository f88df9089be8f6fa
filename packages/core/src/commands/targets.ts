import type { DeploymentDocument } from '../deployment.js';
/** Node targets of exec/connect/logs: hostnames, `@role`, `all`. */
import { NxcError } from '../errors.js';

/** One node of a deployment. */
export interface DeploymentNode {
  host: string;
  role: string;
  address: string;
}

/** Nodes of a deployment document, in document order. */
export function deploymentNodes(doc: DeploymentDocument): DeploymentNode[] {
  return Object.entries(doc.deployment).map(([address, n]) => ({ host: n.host, role: n.role, address }));
}

/**
 * Resolves targets to hosts (deduplicated, in the order given). `all` = every node, `@role` =
 * every node of that role, anything else must be a hostname (or an address) of the deployment.
 */
export function resolveTargets(
  doc: DeploymentDocument,
  targets: string[],
  where = 'deployment',
): DeploymentNode[] {
  const nodes = deploymentNodes(doc);
  const out: DeploymentNode[] = [];
  const add = (n: DeploymentNode) => {
    if (!out.includes(n)) out.push(n);
  };
  const hosts = () => nodes.map((n) => n.host).join(', ');
  for (const target of targets.length === 0 ? ['all'] : targets) {
    if (target === 'all') {
      nodes.forEach(add);
    } else if (target.startsWith('@')) {
      const role = target.slice(1);
      const ofRole = nodes.filter((n) => n.role === role);
      if (ofRole.length === 0) {
        const roles = [...new Set(nodes.map((n) => n.role))].join(', ');
        throw new NxcError(
          'NXC_NODE_UNKNOWN',
          `no node has role "${role}" in the ${where} (roles: ${roles})`,
          {
            hint: 'use @ROLE with one of the roles listed',
          },
        );
      }
      ofRole.forEach(add);
    } else {
      const node = nodes.find((n) => n.host === target) ?? nodes.find((n) => n.address === target);
      if (!node) {
        throw new NxcError('NXC_NODE_UNKNOWN', `no node "${target}" in the ${where} (nodes: ${hosts()})`, {
          hint: 'use a hostname listed, @ROLE, or all',
        });
      }
      add(node);
    }
  }
  return out;
}
