/**
 * OAR (Grid'5000's batch scheduler) from the frontend: submit a job, wait until it runs,
 * read its hosts, find a job to reuse by id or name, delete it. Every call goes through a
 * {@link CommandRunner} so scripts can run OAR elsewhere (e.g. as another user or inside a
 * network namespace, as the test stand-in does).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NxcError } from '@nxc/core/flavour';

/**
 * Runs a command (argv) and reports its outcome without throwing on a non-zero exit. With
 * `timeoutMs`, a runner that can should kill the command then and report `timedOut`.
 */
export type CommandRunner = (
  argv: string[],
  options?: { timeoutMs?: number },
) => Promise<{ exitCode: number; stdout: string; stderr: string; timedOut?: boolean }>;

/** Default bound on one OAR command (`timeoutMs` of {@link Oar}). */
export const DEFAULT_OAR_TIMEOUT_MS = 60_000;

/** Runs commands on this machine (the default runner); kills them at `timeoutMs`. */
export const localRunner: CommandRunner = async (argv, options = {}) => {
  const [cmd, ...args] = argv;
  if (!cmd) throw new TypeError('empty argv');
  // execa loads in ~100 ms: imported on the first OAR command, not with the flavour
  const { execa } = await import('execa');
  try {
    const r = await execa(cmd, args, {
      reject: false,
      stdin: 'ignore',
      ...(options.timeoutMs ? { timeout: options.timeoutMs, forceKillAfterDelay: 2000 } : {}),
    });
    if (r.timedOut) return { exitCode: 124, stdout: '', stderr: '', timedOut: true };
    if (r.failed && r.exitCode === undefined) {
      const code = (r as unknown as { code?: string }).code;
      return {
        exitCode: 127,
        stdout: '',
        stderr: code === 'ENOENT' ? `${cmd}: command not found` : String(r.message),
      };
    }
    return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  } catch (e) {
    return { exitCode: 127, stdout: '', stderr: (e as Error).message };
  }
};

/** One OAR job as `oarstat -J` shows it. */
export interface OarJob {
  id: number;
  state: string;
  name?: string;
  owner?: string;
  types: string[];
  /** Assigned hosts (empty until the job is scheduled), duplicates collapsed. */
  hosts: string[];
}

/** What to reserve. */
export interface OarSubmitOptions {
  /** Number of nodes (`-l nodes=N`). */
  nodes: number;
  /** Walltime `H`, `H:MM` or `H:MM:SS` (default `1:00:00`). */
  walltime?: string;
  /** Job types (`-t deploy`, `-t allow_classic_ssh`...). */
  types?: string[];
  /** Job name (`-n`), used to find the job again. */
  name?: string;
  /** Resource properties (`-p "cluster='gros'"`). */
  properties?: string;
  /** Queue (`-q`). */
  queue?: string;
  /** Job script (default: `sleep infinity`, the reservation lives until its walltime or oardel). */
  command?: string;
}

const ACTIVE = new Set([
  'Waiting',
  'Hold',
  'toLaunch',
  'toAckReservation',
  'Launching',
  'Running',
  'Suspended',
  'Resuming',
]);
const ENDED = new Set(['Terminated', 'Error', 'Finishing']);

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '';
}

/** OAR client bound to a runner. */
export class Oar {
  private readonly runner: CommandRunner;
  private readonly timeoutMs: number;

  /**
   * `timeoutMs` bounds every OAR command (default {@link DEFAULT_OAR_TIMEOUT_MS}): a frontend
   * whose OAR server does not answer fails with `NXC_TIMEOUT` naming the command.
   */
  constructor(options: { runner?: CommandRunner; timeoutMs?: number } = {}) {
    this.runner = options.runner ?? localRunner;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_OAR_TIMEOUT_MS;
  }

  /** Runs argv within the bound, whatever the runner does with it. */
  private async run(argv: string[]): Promise<Awaited<ReturnType<CommandRunner>>> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      // a runner that cannot kill its command still gets a little more than the bound
      timer = setTimeout(() => reject(this.timeoutError(argv)), this.timeoutMs + 3000);
    });
    try {
      const r = await Promise.race([this.runner(argv, { timeoutMs: this.timeoutMs }), late]);
      if (r.timedOut) throw this.timeoutError(argv);
      return r;
    } finally {
      clearTimeout(timer);
    }
  }

  private timeoutError(argv: string[]): NxcError {
    return new NxcError(
      'NXC_TIMEOUT',
      `\`${argv.join(' ')}\` did not answer within ${Math.round(this.timeoutMs / 100) / 10} s`,
      { hint: 'the OAR server may be overloaded or unreachable: try again later, or run it by hand to see' },
    );
  }

  private async call(argv: string[], what: string): Promise<string> {
    const r = await this.run(argv);
    if (r.exitCode === 127) {
      throw new NxcError(
        'NXC_FLAVOUR_UNUSABLE',
        `${argv[0]} not found: OAR's user tools are not installed here`,
        {
          hint: "run nxc on a Grid'5000 frontend (or install oar-user)",
        },
      );
    }
    if (r.exitCode !== 0) {
      throw new NxcError(
        'NXC_DEPLOYMENT',
        `${what} failed (exit ${r.exitCode}): ${lastLine(r.stderr) || lastLine(r.stdout)}`,
        {
          hint: `run \`${argv.join(' ')}\` by hand to see OAR's full answer`,
        },
      );
    }
    return r.stdout;
  }

  /** Submits a job and returns its id (`oarsub -l nodes=N,walltime=W [-t T] [-n NAME] CMD`). */
  async submit(options: OarSubmitOptions): Promise<number> {
    if (!Number.isInteger(options.nodes) || options.nodes < 1) {
      throw new NxcError('NXC_USAGE', `cannot reserve ${options.nodes} nodes`, {
        hint: 'ask for at least one node',
      });
    }
    const walltime = options.walltime ?? '1:00:00';
    if (!/^\d+(:\d{1,2}){0,2}$/.test(walltime)) {
      throw new NxcError('NXC_USAGE', `walltime "${walltime}" is not H, H:MM or H:MM:SS`, {
        hint: 'e.g. 1:30 for 90 minutes',
      });
    }
    const argv = ['oarsub', '-l', `nodes=${options.nodes},walltime=${walltime}`];
    for (const t of options.types ?? []) argv.push('-t', t);
    if (options.name) argv.push('-n', options.name);
    if (options.properties) argv.push('-p', options.properties);
    if (options.queue) argv.push('-q', options.queue);
    argv.push(options.command ?? 'sleep infinity');
    const out = await this.call(argv, 'oarsub');
    // oarsub prints admission-rule notes and other lines around it
    const m = /^OAR_JOB_ID=(\d+)/m.exec(out);
    if (!m?.[1]) {
      throw new NxcError('NXC_DEPLOYMENT', `oarsub gave no job id: ${lastLine(out)}`, {
        hint: 'check the resources requested (`oarnodes`)',
      });
    }
    return Number(m[1]);
  }

  /** The job with this id (`oarstat -J -j ID`). */
  async job(id: number): Promise<OarJob> {
    const out = await this.call(['oarstat', '-J', '-j', String(id)], `oarstat for job ${id}`);
    const jobs = parseOarstat(out);
    const job = jobs.find((j) => j.id === id);
    if (!job)
      throw new NxcError('NXC_DEPLOYMENT', `OAR job ${id} does not exist`, {
        hint: 'list your jobs with `oarstat -u`',
      });
    return job;
  }

  /** The user's jobs that are not over (`oarstat -J -u`), newest first. */
  async activeJobs(): Promise<OarJob[]> {
    const out = await this.call(['oarstat', '-J', '-u'], 'oarstat');
    return parseOarstat(out)
      .filter((j) => ACTIVE.has(j.state))
      .sort((a, b) => b.id - a.id);
  }

  /**
   * Finds a job to reuse: a number is a job id, anything else a job name (the newest active
   * job with that name). NxcError when there is none or it is over.
   */
  async find(ref: string | number): Promise<OarJob> {
    if (typeof ref === 'number' || /^\d+$/.test(ref)) {
      const job = await this.job(Number(ref));
      if (!ACTIVE.has(job.state)) {
        throw new NxcError('NXC_DEPLOYMENT', `OAR job ${job.id} is ${job.state}, not running`, {
          hint: 'reserve nodes again with oarsub',
        });
      }
      return job;
    }
    const job = (await this.activeJobs()).find((j) => j.name === ref);
    if (!job) {
      throw new NxcError('NXC_DEPLOYMENT', `no active OAR job named "${ref}"`, {
        hint: 'list your jobs with `oarstat -u`',
      });
    }
    return job;
  }

  /** Polls until the job runs; NxcError if it ends first or the timeout passes. */
  async waitRunning(
    id: number,
    options: {
      timeoutMs?: number;
      intervalMs?: number;
      signal?: AbortSignal;
      onState?: (state: string) => void;
    } = {},
  ): Promise<OarJob> {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    let last = '';
    for (;;) {
      if (options.signal?.aborted)
        throw new NxcError('NXC_INTERRUPTED', `interrupted while waiting for OAR job ${id}`);
      const job = await this.job(id);
      if (job.state !== last) {
        last = job.state;
        options.onState?.(job.state);
      }
      if (job.state === 'Running' && job.hosts.length > 0) return job;
      if (ENDED.has(job.state)) {
        throw new NxcError('NXC_DEPLOYMENT', `OAR job ${id} ended (${job.state}) before running`, {
          hint: `see \`oarstat -fj ${id}\` and the job's OAR.${id}.stderr`,
        });
      }
      if (Date.now() > deadline) {
        throw new NxcError(
          'NXC_TIMEOUT',
          `OAR job ${id} is still ${job.state} after ${Math.round((options.timeoutMs ?? 600_000) / 1000)} s`,
          {
            hint: 'the resources may be busy: check `oarstat` and the Gantt, or ask for fewer nodes',
          },
        );
      }
      await sleep(options.intervalMs ?? 500);
    }
  }

  /**
   * Deletes the job (`oardel ID`); a job already over is fine. OAR ends jobs asynchronously:
   * with `wait`, returns once the job is no longer active (NxcError after `timeoutMs`).
   */
  async del(
    id: number,
    options: { wait?: boolean; timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<void> {
    const r = await this.run(['oardel', String(id)]);
    if (r.exitCode === 0) {
      if (!options.wait) return;
      const deadline = Date.now() + (options.timeoutMs ?? 60_000);
      for (;;) {
        const job = await this.job(id);
        if (!ACTIVE.has(job.state)) return;
        if (Date.now() > deadline) {
          throw new NxcError(
            'NXC_TIMEOUT',
            `OAR job ${id} is still ${job.state} ${Math.round((options.timeoutMs ?? 60_000) / 1000)} s after oardel`,
            {
              hint: `check \`oarstat -fj ${id}\``,
            },
          );
        }
        await sleep(options.intervalMs ?? 500);
      }
    }
    const job = await this.job(id).catch(() => undefined);
    if (job && !ACTIVE.has(job.state)) return;
    throw new NxcError(
      'NXC_DEPLOYMENT',
      `oardel ${id} failed (exit ${r.exitCode}): ${lastLine(r.stderr) || lastLine(r.stdout)}`,
      {
        hint: `run \`oardel ${id}\` by hand`,
      },
    );
  }
}

/** Parses `oarstat -J` output: an object keyed by job id (OAR 2.5), or an array. */
export function parseOarstat(text: string): OarJob[] {
  const start = text.search(/[[{]/);
  if (start < 0) return [];
  let data: unknown;
  try {
    data = JSON.parse(text.slice(start));
  } catch {
    throw new NxcError(
      'NXC_DEPLOYMENT',
      `oarstat -J printed something that is not JSON: ${text.slice(0, 80)}`,
      {
        hint: 'check the OAR version (2.5 or later expected)',
      },
    );
  }
  const entries = Array.isArray(data) ? data : Object.values(data as Record<string, unknown>);
  return entries
    .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
    .map((e) => {
      const hosts = Array.isArray(e.assigned_network_address)
        ? (e.assigned_network_address as unknown[]).map(String)
        : [];
      const job: OarJob = {
        id: Number(e.Job_Id ?? e.id ?? e.job_id),
        state: String(e.state ?? 'unknown'),
        types: Array.isArray(e.types) ? (e.types as unknown[]).map(String) : [],
        hosts: [...new Set(hosts)],
      };
      if (typeof e.name === 'string') job.name = e.name;
      if (typeof e.owner === 'string') job.owner = e.owner;
      return job;
    });
}
