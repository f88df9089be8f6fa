/**
 * User parameters (`-p/-P`) per role and per node: `rate=5` is global, `client.rate=10` is for
 * the nodes of role client, `client2.rate=20` for node client2. A node sees the global values,
 * overridden by its role's, overridden by its own. The original nxc only had global keys (any
 * string, dots included), so a dotted key whose prefix names no role or node stays global; one
 * that looks like a misspelt role or node is refused, so a typo never silently becomes global.
 */
import { NxcError } from './errors.js';
import { closest } from './validation.js';

/** A node as the routing needs it. */
export interface ParameterTarget {
  role: string;
  host: string;
}

/** Parameters split by {@link routeParameters}. */
export interface RoutedParameters {
  /** Keys every node sees (no prefix, or a prefix that is neither a role nor a node). */
  global: Record<string, unknown>;
  /**
   * By hostname: the values that node has on top of `global` (its role's, then its own),
   * prefix removed. Nodes without such values are absent.
   */
  byHost: Record<string, Record<string, unknown>>;
}

function parameterError(key: string, message: string, hint: string): NxcError {
  return new NxcError('NXC_USAGE', `parameter "${key}": ${message}`, { hint, exitCode: 2 });
}

/**
 * Splits the user's parameters into global ones and per-node overrides. Rule for a key
 * `PREFIX.NAME` (split at the first dot): PREFIX is a node's hostname -> that node's NAME;
 * PREFIX is a role -> NAME for every node of the role; PREFIX is both a node and another
 * role -> refused (ambiguous); PREFIX is close to a role or node name (a typo, or a node
 * that the distribution does not have) -> refused; otherwise the key is global, dots and all.
 *
 * @throws NxcError `NXC_USAGE` (exit 2) for an ambiguous or misspelt prefix, or an empty NAME.
 *   With `onProblem`, each such key is passed there and left out instead.
 */
export function routeParameters(
  parameters: Record<string, unknown>,
  nodes: readonly ParameterTarget[],
  onProblem?: (problem: NxcError) => void,
): RoutedParameters {
  const roles = new Set(nodes.map((n) => n.role));
  const roleOf = new Map(nodes.map((n) => [n.host, n.role]));
  const global: Record<string, unknown> = {};
  const byRole = new Map<string, Record<string, unknown>>();
  const ownByHost = new Map<string, Record<string, unknown>>();
  const add = (map: Map<string, Record<string, unknown>>, name: string, key: string, value: unknown) => {
    const values = map.get(name) ?? {};
    values[key] = value;
    map.set(name, values);
  };
  const fail = (problem: NxcError): void => {
    if (!onProblem) throw problem;
    onProblem(problem);
  };
  for (const [key, value] of Object.entries(parameters)) {
    const dot = key.indexOf('.');
    if (dot < 0) {
      global[key] = value;
      continue;
    }
    const prefix = key.slice(0, dot);
    const name = key.slice(dot + 1);
    const hostRole = roleOf.get(prefix);
    const isRole = roles.has(prefix);
    if (hostRole === undefined && !isRole) {
      const guess = closest(prefix, [...roles, ...roleOf.keys()]);
      if (guess !== undefined && prefix !== '') {
        fail(
          parameterError(
            key,
            `"${prefix}" is neither a role nor a node of this deployment (roles: ${[...roles].join(', ')}; nodes: ${[...roleOf.keys()].join(', ')})`,
            `did you mean "${guess}.${name}"? (a dotted key that looks like a role or node is refused rather than made global: rename it)`,
          ),
        );
        continue;
      }
      global[key] = value;
      continue;
    }
    if (name === '') {
      fail(
        parameterError(key, `no parameter name after "${prefix}."`, `write it like \`-p ${prefix}.rate=10\``),
      );
      continue;
    }
    if (hostRole !== undefined && isRole && hostRole !== prefix) {
      fail(
        parameterError(
          key,
          `"${prefix}" is both a node (of role ${hostRole}) and a role`,
          'rename the node or the role so that per-node and per-role parameters cannot be confused',
        ),
      );
      continue;
    }
    if (hostRole !== undefined) add(ownByHost, prefix, name, value);
    else add(byRole, prefix, name, value);
  }
  const byHost: Record<string, Record<string, unknown>> = {};
  for (const node of nodes) {
    const values = { ...byRole.get(node.role), ...ownByHost.get(node.host) };
    if (Object.keys(values).length > 0) byHost[node.host] = values;
  }
  return { global, byHost };
}
