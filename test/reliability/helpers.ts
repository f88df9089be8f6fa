/**
 * Helpers of the reliability tests: the real `nxc` binary in a temp copy of examples/demo,
 * commands that can be signalled mid-way, and what "left behind" means on this machine for a
 * project: engine objects labelled with it, QEMU and other processes labelled with it or
 * running in it, run folders, deploy/ files.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const nxcBin = path.join(repoRoot, 'apps/cli/dist/cli.js');
const demo = path.join(repoRoot, 'examples/demo');

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `nxc` (stdin closed, no TTY); `done` resolves when it exits. */
export interface Running {
  pid: number;
  done: Promise<Outcome>;
  kill(signal: NodeJS.Signals): void;
  /** Resolves once stderr matches (the command got that far). */
  saw(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stderr(): string;
}

export function launch(cwd: string, args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [nxcBin, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  const done = new Promise<Outcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    pid: child.pid!,
    done,
    kill: (signal) => child.kill(signal),
    stderr: () => stderr,
    async saw(pattern, timeoutMs = 120_000) {
      const end = Date.now() + timeoutMs;
      while (!pattern.test(stderr)) {
        if (Date.now() > end || child.exitCode !== null)
          throw new Error(`nxc never printed ${pattern}; stderr:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** Runs nxc to the end (killed after `timeoutMs`). */
export async function nxc(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 600_000,
): Promise<Outcome> {
  const run = launch(cwd, args, env);
  const timer = setTimeout(() => run.kill('SIGKILL'), timeoutMs);
  try {
    return await run.done;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A temp copy of the demo project using the workspace's flavour packages and the offline test
 * OS, with these `flavourOptions`. The test OS's packages are fetched if needed.
 */
export async function demoProject(flavourOptions: Record<string, Record<string, unknown>>): Promise<string> {
  if (!existsSync(nxcBin)) throw new Error(`${nxcBin} missing: run \`pnpm turbo run build\` first`);
  if (!existsSync(demo)) throw new Error(`${demo} missing: the demo project is needed for this test`);
  const dir = await mkdtemp(path.join(tmpdir(), 'nxc-reliability-'));
  await cp(demo, dir, {
    recursive: true,
    filter: (src) =>
      !/\/(node_modules|build|deploy|artifact|\.nxc|result)(\/|$)/.test(src.slice(demo.length)),
  });
  await symlink(path.join(demo, 'node_modules'), path.join(dir, 'node_modules'));
  const pkgFile = path.join(dir, 'package.json');
  const pkg = JSON.parse(await readFile(pkgFile, 'utf8'));
  const inputs: Record<string, string> = pkg.nxc?.nix?.overrideInputs ?? {};
  for (const [name, p] of Object.entries(inputs)) if (p.startsWith('.')) inputs[name] = path.resolve(demo, p);
  pkg.nxc.flavourOptions = flavourOptions;
  await writeFile(pkgFile, JSON.stringify(pkg, null, 2));
  execFileSync('sh', [path.join(repoRoot, 'test/fixtures/testos/setup.sh')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return dir;
}

export const removeProject = (dir: string): Promise<void> => rm(dir, { recursive: true, force: true });

/** The project's deployment documents and state files (the lock file is not one). */
export function deployFiles(dir: string): string[] {
  const d = path.join(dir, 'deploy');
  return existsSync(d)
    ? readdirSync(d)
        .filter((f) => f !== '.lock')
        .sort()
    : [];
}

/** Containers, networks and volumes labelled with the project root (docker flavour). */
export function dockerLeftovers(dir: string): string[] {
  const filter = `label=nxc.project.root=${dir}`;
  const list = (format: string, ...args: string[]) =>
    execFileSync('docker', [...args, '--filter', filter, '--format', format], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  return [
    ...list('{{.Names}}', 'ps', '-a').map((n) => `container ${n}`),
    ...list('{{.Name}}', 'network', 'ls').map((n) => `network ${n}`),
    ...list('{{.Name}}', 'volume', 'ls').map((n) => `volume ${n}`),
  ];
}

function environOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Processes left by the project: running in its folder, naming it on their command line, or
 * carrying nxc's labels for it in their environment (QEMU). The test process is excluded.
 */
export function processLeftovers(dir: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    if (Number(pid) === process.pid) continue;
    let cmdline = '';
    let cwd = '';
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) continue;
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    const labelled = environOf(pid).split('\0').includes(`NXC_LABEL_PROJECT=${dir}`);
    if (labelled || cmdline.includes(dir) || cwd === dir || cwd.startsWith(`${dir}/`)) {
      out.push(`${pid} ${cmdline.slice(0, 120)}`);
    }
  }
  return out;
}

/**
 * QEMU run folders of the project (absolute paths): folders whose `nxc-owner.json` names it, or
 * whose name carries one of `ids` (deployment ids), in the places run folders are made (the
 * temporary folder, the per-user bases `<tmpdir>/nxc-<uid>` and `$XDG_RUNTIME_DIR/nxc`).
 */
export function runFolderLeftovers(dir: string, ids: string[] = []): string[] {
  const bases = [tmpdir(), path.join(tmpdir(), `nxc-${process.getuid?.()}`)];
  if (process.env.XDG_RUNTIME_DIR) bases.push(path.join(process.env.XDG_RUNTIME_DIR, 'nxc'));
  const out: string[] = [];
  for (const base of bases) {
    let names: string[];
    try {
      names = readdirSync(base);
    } catch {
      continue;
    }
    for (const name of names) {
      const full = path.join(base, name);
      if (!/qemu/.test(name)) continue;
      try {
        if (!statSync(full).isDirectory()) continue;
      } catch {
        continue;
      }
      let owner = '';
      try {
        owner = readFileSync(path.join(full, 'nxc-owner.json'), 'utf8');
      } catch {
        // no owner file: recognised by its name only
      }
      if (owner.includes(JSON.stringify(dir)) || ids.some((id) => name.includes(id))) out.push(full);
    }
  }
  return out.sort();
}

/** Processes naming one of `ids` (deployment ids: QEMU `-name`, switches, run folders) on their command line. */
export function processesNaming(ids: string[]): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    if (Number(pid) === process.pid) continue;
    let cmdline = '';
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) continue;
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    if (ids.some((id) => cmdline.includes(id))) out.push(`${pid} ${cmdline.slice(0, 120)}`);
  }
  return out;
}

/** Delays spread over [0, span) with some jitter: signal times that cover a whole start. */
export function spreadDelays(count: number, spanMs: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.round(((i + Math.random() * 0.8) / count) * spanMs));
}
