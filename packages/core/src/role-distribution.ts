/**
 * Role distribution: how many nodes of each role, and their hostnames.
 *
 * Sources, by precedence per role: `-r` flags, then a YAML/JSON file, then the composition's
 * `rolesDistribution`, then one node per role. Hostnames: count 1 -> the role name; count
 * n > 1 -> `role1..rolen`; a list -> those names; `!DefaultRole n` -> every machine left
 * over (at least n). We follow the paper here, not the Python nxc (which names `server: 1`
 * "server1" and crashes on lists).
 */
import { extname } from 'node:path';
import type { PlannedNode } from './deployment.js';
import { NxcError } from './errors.js';
import { closest, displayPath, errnoCode, firstLine, jsonSyntaxError, readUserFile } from './validation.js';

/** `!DefaultRole n`: this role takes every machine left over, at least `min`. */
export interface DefaultRoleQuantity {
  readonly kind: 'default';
  /** Minimum number of nodes (without a machine count, exactly this many). */
  readonly min: number;
}

/** How many nodes a role gets: a count, explicit hostnames, or the left-over machines. */
export type RoleQuantity = number | readonly string[] | DefaultRoleQuantity;

/**
 * A role distribution as written by the user, validated for shape (counts are positive
 * integers, hostnames are valid) but not yet against the composition's roles.
 *
 * In JSON (which has no tags) the default role is written `{"defaultRole": 2}`; YAML
 * accepts both that and `!DefaultRole 2`.
 */
export type RoleDistributionSpec = Record<string, RoleQuantity>;

/** Input of {@link resolveNodes}. */
export interface ResolveNodesInput {
  /** The composition's roles, in the order nodes should be listed. */
  roles: string[];
  /** User distribution (file and/or flags, merged with {@link mergeRoleDistributions}). */
  spec?: RoleDistributionSpec;
  /** The composition's `rolesDistribution` (raw from the compose info; validated here). */
  defaults?: Record<string, unknown>;
  /** Number of machines available (`-m` file); absent for local flavours (unlimited). */
  machineCount?: number;
  /** Where `spec` came from, for messages (default: where each entry was read). */
  source?: string;
  /**
   * Collects every problem instead of throwing the first: each is passed here, the entry at
   * fault is left out (an unknown role, a bad default) or kept as given (too few machines,
   * a hostname used twice), and the nodes that could be planned are returned.
   */
  onProblem?: (problem: NxcError) => void;
}

/** Where each role's entry of a spec was read (file path, `-r`), for messages. */
const sources = new WeakMap<RoleDistributionSpec, Map<string, string>>();

function recordSource(
  spec: RoleDistributionSpec,
  source: string | Map<string, string>,
): RoleDistributionSpec {
  sources.set(
    spec,
    typeof source === 'string' ? new Map(Object.keys(spec).map((role) => [role, source])) : source,
  );
  return spec;
}

function sourceOf(spec: RoleDistributionSpec | undefined, role: string, fallback: string): string {
  return (spec && sources.get(spec)?.get(role)) ?? fallback;
}

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** True when `name` is a valid hostname label (RFC 1123: letters, digits, inner dashes, 1-63 chars). */
export function isValidHostname(name: string): boolean {
  return HOSTNAME.test(name);
}

function distributionError(where: string, message: string, hint: string): NxcError {
  return new NxcError('NXC_DISTRIBUTION', `${where}: ${message}`, { hint });
}

const FILE_HINT = 'write one `role: count`, `role: [host1, host2]` or `role: !DefaultRole min` per line';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** Validates one entry's value (from a file, flags or defaults) into a {@link RoleQuantity}. */
function toQuantity(value: unknown, role: string, where: string): RoleQuantity {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1) {
      throw distributionError(
        where,
        `role "${role}": count ${value} is not a positive integer`,
        'give a count of at least 1, or leave the role out to get one node',
      );
    }
    return value;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw distributionError(
        where,
        `role "${role}": the hostname list is empty`,
        'list at least one hostname',
      );
    }
    const seen = new Set<string>();
    for (const host of value) {
      if (typeof host !== 'string' || !isValidHostname(host)) {
        throw distributionError(
          where,
          `role "${role}": ${describe(host)} is not a valid hostname`,
          'use letters, digits and inner dashes, at most 63 characters',
        );
      }
      if (seen.has(host.toLowerCase())) {
        throw distributionError(
          where,
          `role "${role}": hostname "${host}" is listed twice`,
          'give each node its own hostname',
        );
      }
      seen.add(host.toLowerCase());
    }
    return Object.freeze([...value] as string[]);
  }
  if (value instanceof DefaultRoleTag) return { kind: 'default', min: value.min };
  if (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    'defaultRole' in value
  ) {
    const min = (value as { defaultRole: unknown }).defaultRole;
    if (typeof min !== 'number' || !Number.isInteger(min) || min < 0) {
      throw distributionError(
        where,
        `role "${role}": defaultRole ${describe(min)} is not a non-negative integer`,
        'write {"defaultRole": 2} (at least 2 nodes)',
      );
    }
    return { kind: 'default', min };
  }
  throw distributionError(
    where,
    `role "${role}": ${describe(value)} is not a count, a list of hostnames or !DefaultRole`,
    FILE_HINT,
  );
}

/** Marker produced by the YAML `!DefaultRole` tag while parsing. */
class DefaultRoleTag {
  constructor(readonly min: number) {}
}

/**
 * Reads a role distribution file: YAML (with the `!DefaultRole n` tag of the original nxc)
 * or JSON (by extension `.json`). With `onProblem`, a bad entry is passed there and left
 * out instead of thrown (a file that cannot be read or parsed still throws).
 *
 * @throws NxcError `NXC_DISTRIBUTION` when the file is missing, unreadable, empty, not a
 *   mapping, or an entry is not a positive count, a list of valid distinct hostnames or a
 *   default role.
 */
export async function readRoleDistributionFile(
  file: string,
  opts: { onProblem?: (problem: NxcError) => void } = {},
): Promise<RoleDistributionSpec> {
  const where = displayPath(file);
  const text = await readUserFile(file, {
    code: 'NXC_DISTRIBUTION',
    what: 'role distribution file',
    hint: 'pass an existing YAML or JSON file, or use -r role=count',
  });
  if (text.trim() === '') {
    throw distributionError(where, 'the file is empty', FILE_HINT);
  }
  let data: unknown;
  if (extname(file).toLowerCase() === '.json') {
    try {
      data = JSON.parse(text);
    } catch (error) {
      const { at, reason } = jsonSyntaxError(text, error);
      throw distributionError(`${where}${at}`, `not valid JSON (${reason})`, 'fix the JSON syntax');
    }
  } else {
    const { parseDocument } = await import('yaml');
    const doc = parseDocument(text, {
      customTags: [
        {
          tag: '!DefaultRole',
          resolve(value: string, onError: (message: string) => void) {
            const trimmed = value.trim();
            const min = trimmed === '' ? 1 : Number(trimmed);
            if (!Number.isInteger(min) || min < 0) {
              onError(`!DefaultRole ${trimmed} is not a non-negative integer`);
              return undefined;
            }
            return new DefaultRoleTag(min);
          },
        },
      ],
    });
    const problem = doc.errors[0];
    if (problem) {
      const line = problem.linePos?.[0]?.line;
      throw distributionError(
        line === undefined ? where : `${where}:${line}`,
        firstLine(problem.message.replace(/ at line \d+, column \d+:?/, '')),
        FILE_HINT,
      );
    }
    data = doc.toJS();
  }
  if (data === null || data === undefined) throw distributionError(where, 'the file is empty', FILE_HINT);
  if (typeof data !== 'object' || Array.isArray(data) || data instanceof DefaultRoleTag) {
    throw distributionError(where, `expected a mapping of role names, got ${describe(data)}`, FILE_HINT);
  }
  const spec: RoleDistributionSpec = {};
  for (const [role, value] of Object.entries(data)) {
    try {
      spec[role] = toQuantity(value, role, where);
    } catch (error) {
      if (!opts.onProblem) throw error;
      opts.onProblem(error as NxcError);
    }
  }
  return recordSource(spec, where);
}

/**
 * Parses `-r` flags: `role=N` (a count) or `role=h1,h2` (hostnames; one name is a list of
 * one). A role given twice is an error.
 *
 * @throws NxcError `NXC_DISTRIBUTION` on bad syntax, a count < 1, an invalid hostname.
 *   With `onProblem`, each bad flag is passed there and left out instead.
 */
export function parseRoleFlags(
  flags: string[],
  onProblem?: (problem: NxcError) => void,
): RoleDistributionSpec {
  const spec: RoleDistributionSpec = {};
  const from = new Map<string, string>();
  for (const flag of flags) {
    try {
      parseRoleFlag(flag, spec, from);
    } catch (error) {
      if (!onProblem) throw error;
      onProblem(error as NxcError);
    }
  }
  return recordSource(spec, from);
}

function parseRoleFlag(flag: string, spec: RoleDistributionSpec, from: Map<string, string>): void {
  const where = `-r ${flag}`;
  const eq = flag.indexOf('=');
  const role = eq > 0 ? flag.slice(0, eq).trim() : '';
  const value = eq > 0 ? flag.slice(eq + 1).trim() : '';
  if (role === '' || value === '') {
    throw new NxcError('NXC_USAGE', `${where}: expected ROLE=COUNT or ROLE=HOST1,HOST2`, {
      hint: 'e.g. -r agent=3 or -r server=foo,bar',
    });
  }
  if (role in spec) {
    throw new NxcError('NXC_USAGE', `${where}: role "${role}" is given twice`, {
      hint: 'give each role once',
    });
  }
  // Anything that looks like a number is a count (so `0`, `-1`, `1.5` are rejected, not hostnames).
  spec[role] = /^[+-]?\d+(\.\d*)?$/.test(value)
    ? toQuantity(Number(value), role, where)
    : toQuantity(
        value.split(',').map((h) => h.trim()),
        role,
        where,
      );
  from.set(role, where);
}

/**
 * Merges specs; later ones override earlier ones role by role (pass file first, flags last).
 * Keeps, for messages, where each role's entry came from.
 */
export function mergeRoleDistributions(
  ...specs: Array<RoleDistributionSpec | undefined>
): RoleDistributionSpec {
  const merged: RoleDistributionSpec = {};
  const from = new Map<string, string>();
  for (const spec of specs) {
    if (!spec) continue;
    for (const [role, quantity] of Object.entries(spec)) {
      merged[role] = quantity;
      const source = sources.get(spec)?.get(role);
      if (source !== undefined) from.set(role, source);
      else from.delete(role);
    }
  }
  sources.set(merged, from);
  return merged;
}

function generatedNames(role: string, count: number, where: string): string[] {
  const names = count === 1 ? [role] : Array.from({ length: count }, (_, i) => `${role}${i + 1}`);
  for (const name of names) {
    if (!isValidHostname(name)) {
      throw distributionError(
        where,
        `role "${role}" cannot name its nodes: "${name}" is not a valid hostname`,
        `give the hostnames explicitly, e.g. -r ${role}=node-a,node-b`,
      );
    }
  }
  return names;
}

function hintFor(role: string, roles: string[]): string {
  const guess = closest(role, roles);
  return guess ? `did you mean "${guess}"?` : "use one of the composition's roles";
}

/**
 * Turns a distribution into the list of nodes to run, in the composition's role order.
 *
 * @throws NxcError `NXC_DISTRIBUTION` for a role not in the composition (lists the known
 *   ones), duplicated hostnames, two default roles; `NXC_MACHINES` when `machineCount` is too
 *   small for the requested nodes.
 */
export function resolveNodes(input: ResolveNodesInput): PlannedNode[] {
  const { roles, spec = {}, defaults = {}, machineCount } = input;
  const fail = (problem: NxcError): void => {
    if (!input.onProblem) throw problem;
    input.onProblem(problem);
  };
  const known = new Set(roles);
  const knownList = roles.join(', ');
  const fallback = input.source ?? 'role distribution';
  for (const role of Object.keys(spec)) {
    if (!known.has(role)) {
      fail(
        distributionError(
          input.source ?? sourceOf(spec, role, fallback),
          `role "${role}" is not in the composition (roles: ${knownList})`,
          hintFor(role, roles),
        ),
      );
    }
  }
  const defaultsWhere = "the composition's rolesDistribution";
  const quantities = new Map<string, { quantity: RoleQuantity; where: string }>();
  for (const role of roles) {
    if (role in spec) {
      quantities.set(role, { quantity: spec[role]!, where: input.source ?? sourceOf(spec, role, fallback) });
    } else if (role in defaults) {
      let quantity: RoleQuantity = 1;
      try {
        quantity = toQuantity(defaults[role], role, defaultsWhere);
      } catch (error) {
        fail(error as NxcError);
      }
      quantities.set(role, { quantity, where: defaultsWhere });
    } else {
      quantities.set(role, { quantity: 1, where: fallback });
    }
  }

  let defaultRole: string | undefined;
  let fixed = 0;
  for (const [role, { quantity, where }] of quantities) {
    if (typeof quantity === 'number') fixed += quantity;
    else if (Array.isArray(quantity)) fixed += quantity.length;
    else {
      if (defaultRole !== undefined) {
        fail(
          distributionError(
            where,
            `roles "${defaultRole}" and "${role}" are both !DefaultRole`,
            'only one role can take the machines left over',
          ),
        );
        // collecting: the second default role gets its minimum, as a count
        const { min } = quantity as DefaultRoleQuantity;
        quantities.set(role, { quantity: min, where });
        fixed += min;
        continue;
      }
      defaultRole = role;
    }
  }

  let leftover = 0;
  if (defaultRole !== undefined) {
    const { min } = quantities.get(defaultRole)!.quantity as DefaultRoleQuantity;
    leftover = machineCount === undefined ? min : machineCount - fixed;
    if (leftover < min) {
      fail(
        new NxcError(
          'NXC_MACHINES',
          `${quantities.get(defaultRole)!.where}: role "${defaultRole}" needs at least ${min} machine${min === 1 ? '' : 's'} left over, but ${machineCount} machine${machineCount === 1 ? '' : 's'} minus ${fixed} for the other roles leaves ${Math.max(leftover, 0)}`,
          { hint: "reserve more machines or lower the other roles' counts" },
        ),
      );
      leftover = Math.max(leftover, min);
    }
  } else if (machineCount !== undefined && fixed > machineCount) {
    fail(
      new NxcError(
        'NXC_MACHINES',
        `the role distribution needs ${fixed} machines but only ${machineCount} ${machineCount === 1 ? 'is' : 'are'} available`,
        { hint: 'reserve more machines or lower the role counts (-r role=N)' },
      ),
    );
  }

  const nodes: PlannedNode[] = [];
  const owner = new Map<string, string>();
  for (const [role, { quantity, where }] of quantities) {
    let hosts: string[];
    try {
      hosts =
        typeof quantity === 'number'
          ? generatedNames(role, quantity, where)
          : Array.isArray(quantity)
            ? (quantity as string[])
            : leftover === 0
              ? []
              : generatedNames(role, leftover, where);
    } catch (error) {
      fail(error as NxcError);
      continue;
    }
    for (const host of hosts) {
      const previous = owner.get(host.toLowerCase());
      if (previous !== undefined) {
        fail(
          distributionError(
            where,
            `hostname "${host}" is used by roles "${previous}" and "${role}"`,
            'give each node its own hostname (role names with a count, or explicit lists)',
          ),
        );
        continue;
      }
      owner.set(host.toLowerCase(), role);
      nodes.push({ role, host });
    }
  }
  return nodes;
}
