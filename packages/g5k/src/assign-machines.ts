/**
 * Gives each planned node a machine of the reservation: the machine list (`-m`, else
 * `$OAR_NODEFILE`), in order, one machine per node, each resolved to the address the node
 * will find itself by. Shared by every Grid'5000 flavour.
 */
import type { PlannedNode, Reporter } from '@nxc/core/flavour';
import { NxcError } from '@nxc/core/flavour';
import { readMachines } from './machines.js';
import { type Lookup, resolveMachines } from './resolve.js';

/** A planned node with the machine it runs on. */
export interface AssignedNode extends PlannedNode {
  /** Machine name from the list (e.g. `dahu-3.grenoble.grid5000.fr`). */
  machine: string;
  /** Its address, as the deploying host resolves it. */
  address: string;
}

export interface AssignMachinesOptions {
  nodes: PlannedNode[];
  /** Machines from `-m` (already read by core); when empty, `$OAR_NODEFILE` is read. */
  machines?: string[];
  reporter: Reporter;
  signal?: AbortSignal;
  lookup?: Lookup;
  /** How to reserve more nodes, for the "not enough machines" hint. */
  reserveHint?: string;
  /** Environment for `$OAR_NODEFILE` (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** One machine per node, in order; extra machines stay unused (with a warning). */
export async function assignMachines(options: AssignMachinesOptions): Promise<AssignedNode[]> {
  const { nodes, reporter } = options;
  const list: { file?: string; machines: string[] } =
    options.machines && options.machines.length > 0
      ? { machines: options.machines }
      : await readMachines({
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.env ? { env: options.env } : {}),
        });
  const listName = list.file ? `machine file ${list.file}` : 'the machine list';
  if (list.machines.length < nodes.length) {
    throw new NxcError(
      'NXC_MACHINES',
      `${nodes.length} nodes to deploy but ${listName} has ${list.machines.length} machine(s)`,
      { hint: options.reserveHint ?? 'reserve more nodes (oarsub -l nodes=N) or lower the role counts' },
    );
  }
  const used = list.machines.slice(0, nodes.length);
  if (list.machines.length > used.length) {
    reporter.emit({
      type: 'warn',
      message: `${list.machines.length - used.length} machine(s) left unused: ${list.machines.slice(used.length).join(', ')}`,
    });
  }
  const resolved = await resolveMachines(used, {
    ...(list.file ? { source: list.file } : {}),
    ...(options.lookup ? { lookup: options.lookup } : {}),
  });
  return nodes.map((n, i) => ({ ...n, machine: resolved[i]!.host, address: resolved[i]!.address }));
}
