/**
 * TypeScript handle on the kexec scale simulation (scale-sim.sh) for end-to-end tests and the
 * bench: bring N simulated machines up (some with injected faults), run the real `nxc` CLI on
 * the simulated frontend, read the bytes the frontend sent and what each machine's kexec
 * stand-in was given, and tear everything down (no namespace, veth or process left). Needs
 * root (network, mount, UTS and PID namespaces).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const repo = join(here, '..', '..');
const script = join(here, 'scale-sim.sh');
/** The built CLI. */
export const NXC_BIN = join(repo, 'apps/cli/dist/cli.js');

/** What a command did (never rejects: look at `code`). */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time in ms. */
  ms: number;
}

/** Runs a command, never rejects. */
export function run(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        env: { ...process.env, ...options.env },
        ...(options.cwd ? { cwd: options.cwd } : {}),
        timeout: options.timeoutMs ?? 900_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error
          ? typeof (error as NodeJS.ErrnoException).code === 'number'
            ? Number((error as NodeJS.ErrnoException).code)
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - t0 });
      },
    );
  });
}

/** A fault injected into one machine. */
export type Fault = 'unreachable' | 'push-cut' | 'push-stall' | 'no-boot';

/** One line of a machine's kexec stand-in log. */
export interface KexecCall {
  at: number;
  op?: 'load' | 'exec' | 'unload';
  error?: string;
  kernelSha256?: string;
  initrdSize?: number;
  /** The initrd file's permission bits at load time, in octal ("600"). */
  initrdMode?: string;
  append?: string;
  appendedFiles?: string[];
}

/** A running simulation. */
export interface ScaleSim {
  /** Settings printed by `scale-sim.sh env` (SCALESIM_STATE, SCALESIM_ROOT_KEY, ...). */
  env: Record<string, string>;
  /** Machine names, in machine-file order (m-001...). */
  machines: string[];
  /** The machine file listing them. */
  machineFile: string;
  /** `-O` flags telling a kexec flavour the machines' root key and known_hosts. */
  flavourOptions: string[];
  /** A command (argv) in the frontend's network namespace (machine names resolve there). */
  fe(
    argv: string[],
    options?: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number },
  ): Promise<RunResult>;
  /** `nxc ARGS` (the built CLI) on the frontend, in `cwd`. */
  nxc(
    args: string[],
    cwd: string,
    options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<RunResult>;
  /** Bytes the frontend has sent on its link since the simulation started. */
  txBytes(): Promise<number>;
  /** What machine `name`'s kexec stand-in was given, in order. */
  kexecCalls(name: string): Promise<KexecCall[]>;
  /** Machine `name`'s console (its init's log: STD_UP, REBOOT, UP <host>, faults, boot errors). */
  console(name: string): Promise<string>;
  /** Kills every process of the simulation and deletes its namespaces (idempotent). */
  down(): Promise<void>;
}

/** Machine name of the K-th machine (1-based). */
export function machineName(k: number): string {
  return `m-${String(k).padStart(3, '0')}`;
}

/** Namespaces and processes of a simulation still present (empty when cleanup was complete). */
export async function leftovers(prefix = 'nxs'): Promise<string[]> {
  const list = await run('ip', ['netns', 'list']);
  const ours = list.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
  return ours;
}

/** Brings `machines` simulated machines up (after taking down any previous simulation). */
export async function startScaleSim(options: {
  machines: number;
  faults?: Record<string, Fault>;
  env?: Record<string, string>;
}): Promise<ScaleSim> {
  if (process.getuid?.() !== 0) throw new Error('the scale simulation needs root (network namespaces)');
  const envVars = { ...options.env };
  const sim = (...args: string[]): Promise<RunResult> => run(script, args, { env: envVars });
  const down = async (): Promise<void> => {
    const r = await sim('down');
    if (r.code !== 0) throw new Error(`scale-sim.sh down failed:\n${r.stderr}`);
  };
  await down();
  const faults = Object.entries(options.faults ?? {}).flatMap(([m, f]) => ['--fault', `${m}=${f}`]);
  const up = await sim('up', String(options.machines), ...faults);
  if (up.code !== 0) {
    await down();
    throw new Error(`scale-sim.sh up failed:\n${up.stderr.slice(-3000)}`);
  }
  const env = Object.fromEntries(
    (await sim('env')).stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  ) as Record<string, string>;
  const state = env.SCALESIM_STATE ?? '';
  const fe: ScaleSim['fe'] = (argv, o = {}) =>
    run('ip', ['netns', 'exec', env.SCALESIM_FE_NS ?? 'nxs-fe', ...argv], o);
  return {
    env,
    machines: Array.from({ length: options.machines }, (_, i) => machineName(i + 1)),
    machineFile: env.SCALESIM_MACHINE_FILE ?? '',
    flavourOptions: [
      '-O',
      `nodeKeys=${env.SCALESIM_ROOT_KEY}`,
      '-O',
      `knownHosts=${env.SCALESIM_KNOWN_HOSTS}`,
    ],
    fe,
    // as inside an OAR job on the frontend: $OAR_NODEFILE lists the job's machines (the kexec
    // flavours run only there or where `oarstat` is; no test may rely on another one installing OAR)
    nxc: (args, cwd, o = {}) =>
      fe([process.execPath, NXC_BIN, ...args], {
        cwd,
        ...o,
        env: { OAR_NODEFILE: env.SCALESIM_MACHINE_FILE ?? '', ...o.env },
      }),
    async txBytes() {
      const r = await sim('tx');
      const n = Number(r.stdout.trim());
      if (r.code !== 0 || !Number.isFinite(n))
        throw new Error(`cannot read the frontend's counters: ${r.stderr}`);
      return n;
    },
    async kexecCalls(name) {
      const text = await readFile(join(state, 'machines', name, 'kexec.log'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as KexecCall);
    },
    console: (name) => readFile(join(state, 'machines', name, 'console'), 'utf8').catch(() => ''),
    down,
  };
}
