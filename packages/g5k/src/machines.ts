/**
 * Which Grid'5000 machines to deploy onto: the machine file given with `-m`, else the OAR
 * job's node file (`$OAR_NODEFILE`, or `$OAR_NODE_FILE`), optionally waited for (`-W`, the
 * file appears when the job starts). OAR lists a host once per core: duplicates collapse,
 * first-seen order is kept.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NxcError, pathExists, readMachineFile } from '@nxc/core/flavour';

/** Where the machine list comes from. */
export interface MachineSource {
  /** `-m FILE`. */
  machineFile?: string;
  /** `-W`: wait until the file exists. */
  wait?: boolean;
  /** Give up waiting after this many ms (default: wait until aborted). */
  waitTimeoutMs?: number;
  /** Environment to read `OAR_NODEFILE` / `OAR_NODE_FILE` from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Called once when waiting starts (progress display). */
  onWait?: (file: string) => void;
}

/** The machines and the file they came from. */
export interface MachineList {
  file: string;
  /** Hostnames, duplicates collapsed, file order kept. */
  machines: string[];
}

/** The machine file to use: `-m FILE`, else `$OAR_NODEFILE`, else `$OAR_NODE_FILE`; undefined when none. */
export function machineFileFrom(source: Pick<MachineSource, 'machineFile' | 'env'>): string | undefined {
  const env = source.env ?? process.env;
  return source.machineFile || env.OAR_NODEFILE || env.OAR_NODE_FILE || undefined;
}

/**
 * Reads the machine list (see {@link MachineSource}). NxcError `NXC_MACHINES` when no file is
 * named, it does not exist (without `wait`), or it lists no host.
 */
export async function readMachines(source: MachineSource = {}): Promise<MachineList> {
  const file = machineFileFrom(source);
  if (!file) {
    throw new NxcError('NXC_MACHINES', 'no machine file: -m was not given and $OAR_NODEFILE is not set', {
      hint: 'reserve nodes with `oarsub -I -l nodes=N` (or pass `-m FILE` listing one host per line)',
    });
  }
  if (!(await pathExists(file))) {
    if (!source.wait) {
      throw new NxcError('NXC_MACHINES', `machine file ${file} does not exist`, {
        hint: 'check the path given to -m, or add -W to wait until the OAR job creates it',
      });
    }
    source.onWait?.(file);
    const deadline =
      source.waitTimeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + source.waitTimeoutMs;
    while (!(await pathExists(file))) {
      if (source.signal?.aborted)
        throw new NxcError('NXC_INTERRUPTED', `interrupted while waiting for machine file ${file}`);
      if (Date.now() > deadline) {
        throw new NxcError(
          'NXC_TIMEOUT',
          `machine file ${file} did not appear within ${Math.round((source.waitTimeoutMs ?? 0) / 1000)} s`,
          {
            hint: 'check that the OAR job is running (`oarstat -u`)',
          },
        );
      }
      await sleep(200, undefined, source.signal ? { signal: source.signal } : {}).catch(() => undefined);
    }
  }
  return { file, machines: await readMachineFile(file) };
}
