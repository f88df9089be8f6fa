/**
 * TypeScript handle on the Grid'5000 stand-in (g5k-sim.sh) for end-to-end tests: bring N
 * nodes (+ OAR) up, run commands inside the namespace (as root or as the OAR submitter),
 * run a flavour's deploy side there (deploy-child.mjs), power-cycle or kill nodes, and tear
 * everything down. Needs root (network namespaces, taps).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const repo = join(here, '..', '..');
const script = join(here, 'g5k-sim.sh');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command, never rejects (look at `code`). */
export function run(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 600_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error
          ? typeof (error as NodeJS.ErrnoException).code === 'number'
            ? Number((error as NodeJS.ErrnoException).code)
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

export interface G5kSim {
  /** Settings printed by `g5k-sim.sh env` (G5KSIM_STATE, G5KSIM_NS, G5KSIM_JOB_USER, ...). */
  env: Record<string, string>;
  /** `g5k-sim.sh <args>`. */
  sim(...args: string[]): Promise<RunResult>;
  /** A command (argv) as root inside the namespace. */
  inNs(argv: string[], timeoutMs?: number): Promise<RunResult>;
  /** A shell command as the OAR submitter (login shell) inside the namespace. */
  asUser(command: string): Promise<RunResult>;
  /** Runs deploy-child.mjs with `request` inside the namespace; returns its parsed answer and the reporter events. */
  deploy(
    request: Record<string, unknown>,
    timeoutMs?: number,
    /** Called with each reporter event as it arrives (e.g. to break a node mid-deployment). */
    onEvent?: (event: Record<string, unknown>) => void,
  ): Promise<{
    answer: { ok: boolean; result?: unknown; error?: { code?: string; message: string } };
    events: Array<Record<string, unknown>>;
    stderr: string;
  }>;
  down(): Promise<void>;
}

/** Brings the stand-in up (fails with the script's output when it cannot). */
export async function startG5kSim(options: {
  nodes: number;
  oar?: boolean;
  env?: Record<string, string>;
}): Promise<G5kSim> {
  if (process.getuid?.() !== 0)
    throw new Error("the Grid'5000 stand-in needs root (network namespaces, taps, OAR)");
  const envVars = { ...options.env };
  const sim = (...args: string[]): Promise<RunResult> => run(script, args, { env: envVars });
  await sim('down');
  const up = await sim('up', String(options.nodes), ...(options.oar ? ['--oar'] : []));
  if (up.code !== 0) {
    await sim('down');
    throw new Error(`g5k-sim.sh up failed:\n${up.stderr.slice(-3000)}`);
  }
  const env = Object.fromEntries(
    (await sim('env')).stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  ) as Record<string, string>;
  const ns = env.G5KSIM_NS ?? 'nxcsim';
  const inNs = (argv: string[], timeoutMs?: number): Promise<RunResult> =>
    run('ip', ['netns', 'exec', ns, ...argv], timeoutMs ? { timeoutMs } : {});
  return {
    env,
    sim,
    inNs,
    asUser: (command) => inNs(['su', '-', env.G5KSIM_JOB_USER ?? 'g5kuser', '-c', command]),
    async deploy(request, timeout, onEvent) {
      const timeoutMs = timeout ?? 900_000;
      const dir = await mkdtemp(join(tmpdir(), 'nxc-g5k-req-'));
      try {
        const file = join(dir, 'request.json');
        await writeFile(file, JSON.stringify({ repo, ...request }));
        const child = spawn(
          'ip',
          ['netns', 'exec', ns, process.execPath, join(here, 'deploy-child.mjs'), file],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => {
          stdout += d;
        });
        let pending = '';
        child.stderr.on('data', (d) => {
          stderr += d;
          if (!onEvent) return;
          pending += d;
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const l of lines) {
            if (!l.startsWith('{')) continue;
            try {
              onEvent(JSON.parse(l) as Record<string, unknown>);
            } catch {
              /* not an event */
            }
          }
        });
        const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
        await new Promise((resolve) => child.on('close', resolve));
        clearTimeout(timer);
        const events = stderr
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        const last = stdout.trim().split('\n').pop() ?? '';
        let answer: { ok: boolean; result?: unknown; error?: { code?: string; message: string } };
        try {
          answer = JSON.parse(last);
        } catch {
          answer = {
            ok: false,
            error: { message: `deploy-child printed no answer (stderr: ${stderr.slice(-2000)})` },
          };
        }
        return { answer, events, stderr };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async down() {
      await sim('down');
    },
  };
}

/** The last `lines` lines of node-K's serial console (for failure messages). */
export async function consoleTail(env: Record<string, string>, node: number, lines = 15): Promise<string> {
  const text = await readFile(
    join(env.G5KSIM_STATE ?? '/tmp/nxc-g5k-sim', 'run', `node-${node}.console`),
    'utf8',
  ).catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Writes the frontend's `ssh_known_hosts` as Grid'5000 provides it: every machine (name and
 * address) with the host key of its standard environment. Returns the file.
 */
export async function writeFrontendKnownHosts(sim: G5kSim, nodes: number, file: string): Promise<string> {
  const out = await new Promise<string>((resolve, reject) =>
    execFile('dropbearkey', ['-y', '-f', join(sim.env.G5KSIM_STATE ?? '', 'keys/hostkey')], (e, stdout) =>
      e ? reject(e) : resolve(stdout),
    ),
  );
  const key = (out.split('\n').find((l) => l.startsWith('ssh-')) ?? '').split(' ').slice(0, 2).join(' ');
  if (!key) throw new Error('the stand-in has no standard-environment host key (keys/hostkey)');
  const net = sim.env.G5KSIM_NET ?? '10.77.0';
  const lines = Array.from({ length: nodes }, (_, i) => `node-${i + 1},${net}.${11 + i} ${key}`);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}
