/**
 * `nxc start --replay RECORD`: what a replay takes from a deployment record, and what the
 * user may still change. Pure logic (no I/O): the start reads the record, the machine file
 * and the rebuilt compose info, and asks this module what to deploy and what to say.
 *
 * A replay deploys the recorded composition::flavour with the recorded nodes (same names, in
 * the same order, hence the same indexes), the same per-node UUIDs, parameters, kernel
 * parameters, flavour options and identity. `-p`/`-P` values over the recorded parameters
 * make it a replication (the new record lists the changed keys); flags that would deploy
 * something else (another flavour, distribution, compose info, kernel parameters or flavour
 * options) are refused.
 */
import type { ComposeInfo } from './compose-info.js';
import type { PlannedNode } from './deployment.js';
import { NxcError } from './errors.js';
import type { DeploymentRecord, LockedInput, RecordedIdentity } from './records.js';

/** What the user gave besides `--replay` (the flags of `nxc start` that matter to a replay). */
export interface ReplayRequest {
  composition?: string;
  flavour?: string;
  composeInfoFile?: string;
  roleDistributionFile?: string;
  roleFlags?: string[];
  retryFailed?: boolean;
  kernelParams?: string;
  /** `-p`/`-P`, parsed. */
  parameters?: Record<string, unknown>;
  /** The machines of the `-m` file, in order, when one was given. */
  machines?: string[];
  /** `-i`. */
  identityFile?: string;
}

/** What {@link planReplay} settled. */
export interface ReplayPlan {
  composition: string;
  flavour: string;
  /** The recorded nodes, in the recorded document's order. */
  nodes: PlannedNode[];
  /** Recorded UUID per host (hosts recorded without one get a new one). */
  uuids: Record<string, string>;
  /** Recorded parameters with the `-p`/`-P` values over them (undefined: none at all). */
  parameters?: Record<string, unknown>;
  /** Parameter keys whose value `-p`/`-P` changed or added, sorted. */
  changedParameters: string[];
  /** True when parameters changed: a replication rather than a repetition. */
  replication: boolean;
  kernelParams?: string;
  /** The machines to deploy onto: the recorded ones still given first, in recorded order. */
  machines?: string[];
  /** The identity to use: `-i` when given, else the recorded choice. */
  identity: RecordedIdentity;
  /** One line per thing that differs from the record (machines, identity); not refusals. */
  changes: string[];
}

function usage(message: string, hint: string): NxcError {
  return new NxcError('NXC_USAGE', message, { hint, exitCode: 2 });
}

/** JSON with object keys sorted, for comparing values. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/**
 * What a replay of `record` deploys, given the user's other flags.
 * @throws NxcError `NXC_USAGE` (exit 2), one line, for a flag that conflicts with the record,
 *   and when the record deployed onto machines and no `-m` file names any of them.
 */
export function planReplay(record: DeploymentRecord, req: ReplayRequest): ReplayPlan {
  const key = `${record.composition}::${record.flavour}`;
  const from = `record ${record.id} deployed ${key}`;
  if (req.flavour && req.flavour !== record.flavour) {
    throw usage(
      `--replay: -f ${req.flavour} conflicts with the record (${from})`,
      'drop -f: a replay uses the recorded flavour',
    );
  }
  if (req.composition) {
    const [composition, flavour] = req.composition.includes('::')
      ? [
          req.composition.slice(0, req.composition.indexOf('::')),
          req.composition.slice(req.composition.indexOf('::') + 2),
        ]
      : [req.composition, ''];
    if ((composition && composition !== record.composition) || (flavour && flavour !== record.flavour)) {
      throw usage(
        `--replay: -C ${req.composition} conflicts with the record (${from})`,
        'drop -C: a replay uses the recorded composition',
      );
    }
  }
  if (req.composeInfoFile) {
    throw usage(
      '--replay: --compose-info conflicts with the record (a replay uses the recorded compose info)',
      'drop --compose-info',
    );
  }
  if (req.roleDistributionFile || (req.roleFlags && req.roleFlags.length > 0)) {
    throw usage(
      `--replay: ${req.roleDistributionFile ? `role distribution file ${req.roleDistributionFile}` : `-r ${req.roleFlags?.join(' -r ')}`} conflicts with the record (a replay deploys the recorded nodes: ${record.nodes.map((n) => n.host).join(', ')})`,
      'drop the role distribution; start without --replay to deploy other nodes',
    );
  }
  if (req.retryFailed) {
    throw usage(
      '--replay and --retry-failed cannot be combined',
      'use one: --retry-failed redeploys the failed nodes of the running deployment',
    );
  }
  if (req.kernelParams !== undefined && req.kernelParams !== (record.kernelParams ?? '')) {
    throw usage(
      `--replay: -k ${JSON.stringify(req.kernelParams)} conflicts with the record (${record.kernelParams ? `-k ${JSON.stringify(record.kernelParams)}` : 'no -k'})`,
      'drop -k: a replay uses the recorded kernel parameters',
    );
  }

  const ordered = [...record.nodes].sort((a, b) => (a.globalIndex ?? 0) - (b.globalIndex ?? 0));
  const nodes = ordered.map((n) => ({ role: n.role, host: n.host }));
  const uuids: Record<string, string> = {};
  for (const n of ordered) if (n.uuid) uuids[n.host] = n.uuid;

  const recordedParams = record.parameters ?? {};
  const changedParameters = Object.entries(req.parameters ?? {})
    .filter(
      ([k, v]) => !Object.hasOwn(recordedParams, k) || canonicalJson(recordedParams[k]) !== canonicalJson(v),
    )
    .map(([k]) => k)
    .sort();
  const merged = { ...recordedParams, ...req.parameters };

  const changes: string[] = [];
  const machines = planMachines(record, req.machines, changes);
  if (machines && machines.length < nodes.length) {
    throw new NxcError(
      'NXC_MACHINES',
      `--replay: the machine file lists ${machines.length} machine(s) for the ${nodes.length} recorded nodes${changes.length > 0 ? ` (${changes.join('; ')})` : ''}`,
      { hint: 'give a machine file with one machine per recorded node', exitCode: 2 },
    );
  }

  const recordedIdentity: RecordedIdentity = record.identity ?? { kind: 'project' };
  let identity = recordedIdentity;
  if (req.identityFile !== undefined) {
    identity = { kind: 'file', file: req.identityFile };
    if (recordedIdentity.kind !== 'file' || recordedIdentity.file !== req.identityFile) {
      changes.push(
        `identity: ${req.identityFile} instead of ${recordedIdentity.kind === 'file' ? recordedIdentity.file : 'the project identity'}`,
      );
    }
  }

  return {
    composition: record.composition,
    flavour: record.flavour,
    nodes,
    uuids,
    ...(Object.keys(merged).length > 0 ? { parameters: merged } : {}),
    changedParameters,
    replication: changedParameters.length > 0,
    ...(record.kernelParams ? { kernelParams: record.kernelParams } : {}),
    ...(machines ? { machines } : {}),
    identity,
    changes,
  };
}

/**
 * The machines of a replay: the recorded ones that are given again keep their recorded order
 * (so the flavour maps them to the same nodes), the new ones follow. A recorded machine that
 * is missing, a node moved to another machine and a new machine are each one line of `changes`.
 */
function planMachines(
  record: DeploymentRecord,
  given: string[] | undefined,
  changes: string[],
): string[] | undefined {
  const recorded = record.machines;
  if (!recorded || recorded.length === 0) return given;
  if (!given) {
    throw usage(
      `--replay: record ${record.id} deployed onto ${recorded.length} machine(s) (${recorded.join(', ')}) and no -m file is given`,
      'give the machines with -m FILE (the same ones repeat the mapping)',
    );
  }
  const givenSet = new Set(given);
  const recordedSet = new Set(recorded);
  const kept = recorded.filter((m) => givenSet.has(m));
  const added = given.filter((m) => !recordedSet.has(m));
  const machines = [...kept, ...added];
  const byMachine = new Map(record.nodes.filter((n) => n.machine).map((n) => [n.machine as string, n.host]));
  for (const m of recorded) {
    if (!givenSet.has(m)) {
      const host = byMachine.get(m);
      changes.push(`machine ${m} is not in the machine file${host ? ` (it ran ${host})` : ''}`);
    }
  }
  for (const m of added) changes.push(`machine ${m} is new (not in the record)`);
  return machines;
}

/** A locked flake reference for a lock entry (`github:o/r/REV`, `path:/p?narHash=...`...), when one can be made. */
export function lockedRef(locked: LockedInput): string | undefined {
  const q = (params: Record<string, string | undefined>): string => {
    const parts = Object.entries(params)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${encodeURIComponent(v as string)}`);
    return parts.length > 0 ? `?${parts.join('&')}` : '';
  };
  switch (locked.type) {
    case 'github':
    case 'gitlab':
    case 'sourcehut':
      if (!locked.owner || !locked.repo || !locked.rev) return undefined;
      return `${locked.type}:${locked.owner}/${locked.repo}/${locked.rev}`;
    case 'git':
      if (!locked.url || !locked.rev) return undefined;
      return `git+${locked.url}${q({ ref: locked.ref, rev: locked.rev })}`;
    case 'path':
      if (!locked.path) return undefined;
      return `path:${locked.path}${q({ narHash: locked.narHash })}`;
    case 'tarball':
    case 'file':
      if (!locked.url) return undefined;
      return `${locked.type}+${locked.url}${q({ narHash: locked.narHash })}`;
    default:
      return undefined;
  }
}

const INPUT_FIELDS = ['type', 'owner', 'repo', 'url', 'path', 'ref', 'rev', 'narHash'] as const;

function describeInput(i: LockedInput | undefined): string {
  if (!i) return 'absent';
  if (i.follows) return `follows ${i.follows.join('/')}`;
  return INPUT_FIELDS.filter((f) => i[f] !== undefined)
    .map((f) => `${f}=${f === 'rev' ? (i.rev as string).slice(0, 12) : i[f]}`)
    .join(' ');
}

/**
 * The root inputs whose lock differs between the record and the project's current lock, one
 * line each (`input nixpkgs: rev=abc -> rev=def`).
 */
export function diffLockedInputs(
  recorded: Record<string, LockedInput>,
  current: Record<string, LockedInput>,
): string[] {
  const names = [...new Set([...Object.keys(recorded), ...Object.keys(current)])].sort();
  return names
    .filter((n) => canonicalJson(recorded[n]) !== canonicalJson(current[n]))
    .map((n) => `input ${n}: ${describeInput(recorded[n])} (recorded) -> ${describeInput(current[n])} (now)`);
}

/**
 * The `--override-input` values that pin the project's flake back to the recorded lock: for
 * each root input whose current lock differs from the recorded one (and that the config does
 * not override), its recorded locked reference. Inputs that follow another one are left to it.
 * Returns the pins and the inputs that could not be pinned (no locked reference for them).
 */
export function lockPins(
  recorded: Record<string, LockedInput>,
  current: Record<string, LockedInput>,
  overridden: Iterable<string>,
): { pins: Record<string, string>; unpinnable: string[] } {
  const skip = new Set(overridden);
  const pins: Record<string, string> = {};
  const unpinnable: string[] = [];
  for (const [name, locked] of Object.entries(recorded)) {
    if (skip.has(name) || locked.follows) continue;
    if (canonicalJson(locked) === canonicalJson(current[name])) continue;
    const ref = lockedRef(locked);
    if (ref) pins[name] = ref;
    else unpinnable.push(name);
  }
  return { pins, unpinnable: unpinnable.sort() };
}

function isPathReference(value: string): boolean {
  return (
    value.startsWith('./') ||
    value.startsWith('../') ||
    value === '.' ||
    value === '..' ||
    value.startsWith('/') ||
    value.startsWith('path:')
  );
}

/**
 * The recorded `nix.overrideInputs` against the config's now: one line per input that differs
 * (the rebuild uses the recorded one), and one per recorded path override, which no lock pins
 * (what is at the path now is what the rebuild used).
 */
export function diffOverrides(recorded: Record<string, string>, now: Record<string, string>): string[] {
  const names = [...new Set([...Object.keys(recorded), ...Object.keys(now)])].sort();
  const lines: string[] = [];
  for (const n of names) {
    if (recorded[n] !== now[n]) {
      lines.push(
        `override ${n}: ${recorded[n] ?? '(none)'} (recorded) -> ${now[n] ?? '(none)'} (config now); the rebuild used the recorded one`,
      );
    }
    const value = recorded[n];
    if (value !== undefined && isPathReference(value)) {
      lines.push(`override ${n}: ${value} is a path, not locked: the rebuild used what it holds now`);
    }
  }
  return lines;
}

/**
 * How a rebuilt compose info differs from the recorded one: one line per changed store path
 * (the compose info itself, each role's init and system, each shared artifact).
 */
export function diffComposeInfo(
  recorded: DeploymentRecord['composeInfo'],
  rebuilt: ComposeInfo,
  rebuiltStorePath: string | undefined,
): string[] {
  const lines: string[] = [];
  if (recorded.storePath !== rebuiltStorePath) {
    lines.push(
      `compose info: ${recorded.storePath ?? '(none)'} (recorded) -> ${rebuiltStorePath ?? '(none)'} (rebuilt)`,
    );
  }
  const roles = [...new Set([...Object.keys(recorded.roles), ...Object.keys(rebuilt.roles)])].sort();
  for (const role of roles) {
    const a = recorded.roles[role];
    const b = rebuilt.roles[role];
    if (!a) lines.push(`role ${role}: new in the rebuild`);
    else if (!b) lines.push(`role ${role}: missing from the rebuild`);
    else {
      if (a.init !== b.init) lines.push(`role ${role} init: ${a.init} -> ${b.init}`);
      if ((a.toplevel ?? '') !== (b.toplevel ?? '')) {
        lines.push(`role ${role} system: ${a.toplevel ?? '(none)'} -> ${b.toplevel ?? '(none)'}`);
      }
    }
  }
  const all = [...new Set([...Object.keys(recorded.all), ...Object.keys(rebuilt.all)])].sort();
  for (const k of all) {
    if (recorded.all[k] !== rebuilt.all[k]) {
      lines.push(`all.${k}: ${recorded.all[k] ?? '(none)'} -> ${rebuilt.all[k] ?? '(none)'}`);
    }
  }
  return lines;
}
