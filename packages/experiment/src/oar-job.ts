/**
 * The OAR job of an experiment on Grid'5000: reuse the running job of that name, else
 * reserve one and wait until it runs; release it afterwards when the experiment reserved it.
 */
import { NxcError } from '@nxc/core';
import type { CommandRunner, Oar, OarJob } from '@nxc/g5k';

/** Which OAR job an experiment runs in (see {@link ExperimentOptions.oar}). */
export interface OarJobSpec {
  /**
   * Job name (`oarsub -n`): an active job of yours with this name is reused (the newest one),
   * else a job of that name is reserved.
   */
  name: string;
  /** Nodes to reserve (`-l nodes=N`); needed only when no job of that name is active. */
  nodes?: number;
  /** Walltime of a new job, `H`, `H:MM` or `H:MM:SS` (default `1:00`). */
  walltime?: string;
  /** Job types of a new job (default `['deploy']`: the kexec flavours need root on the nodes). */
  types?: string[];
  /** Resource properties of a new job (`-p "cluster='gros'"`). */
  properties?: string;
  /** Queue of a new job (`-q`). */
  queue?: string;
  /** How long a new job may wait to be scheduled, in ms (default 10 min). */
  waitTimeoutMs?: number;
  /**
   * Release (`oardel`) the job when the experiment ends. Default: a job this experiment
   * reserved is released, a reused one is kept. `keep: true` of the experiment keeps it anyway.
   */
  release?: boolean;
  /** How OAR commands run (default: on this machine); e.g. through `ssh frontend`. */
  runner?: CommandRunner;
}

/** The job an experiment ran in, as its results manifest records it. */
export interface ExperimentOarJob {
  id: number;
  name: string;
  /** True when an active job of that name was found and reused. */
  reused: boolean;
  /** Its machines, in OAR's order (the machine file given to the flavour). */
  hosts: string[];
  /** True once the experiment released it with `oardel`. */
  released: boolean;
}

/**
 * Finds the active job named `spec.name` or reserves one, and waits until it runs with hosts.
 * `NXC_USAGE` (exit 2) when a job must be reserved and `spec.nodes` is missing.
 */
export async function acquireJob(
  oar: Oar,
  spec: OarJobSpec,
  options: { signal?: AbortSignal; onStep?: (message: string) => void } = {},
): Promise<{ job: OarJob; reused: boolean }> {
  const active = (await oar.activeJobs()).find((j) => j.name === spec.name);
  if (active) {
    options.onStep?.(`reusing OAR job ${active.id} (${spec.name}, ${active.state})`);
    const job = await oar.waitRunning(active.id, {
      timeoutMs: spec.waitTimeoutMs ?? 600_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { job, reused: true };
  }
  if (spec.nodes === undefined) {
    throw new NxcError(
      'NXC_USAGE',
      `no active OAR job named "${spec.name}" and no node count to reserve one`,
      {
        hint: 'give oar.nodes (how many machines to reserve), or reserve the job yourself with `oarsub -n`',
        exitCode: 2,
      },
    );
  }
  const id = await oar.submit({
    nodes: spec.nodes,
    walltime: spec.walltime ?? '1:00',
    types: spec.types ?? ['deploy'],
    name: spec.name,
    ...(spec.properties ? { properties: spec.properties } : {}),
    ...(spec.queue ? { queue: spec.queue } : {}),
  });
  options.onStep?.(`reserved OAR job ${id} (${spec.name}, ${spec.nodes} nodes); waiting for it to run`);
  try {
    const job = await oar.waitRunning(id, {
      timeoutMs: spec.waitTimeoutMs ?? 600_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { job, reused: false };
  } catch (error) {
    // never leave a job we reserved behind when it cannot be used
    await oar.del(id).catch(() => undefined);
    throw error;
  }
}
