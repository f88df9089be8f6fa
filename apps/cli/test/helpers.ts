/** Helpers for tests that spawn the real built `nxc` binary in throw-away projects. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const nxcBin = path.resolve(here, '../dist/cli.js');
export const fakeFlavour = path.join(here, 'fixtures/flavour-fake');
export const pluginFixture = (name: string) => path.join(here, 'fixtures/plugins', name);

/** Fails loudly when the CLI was not built (the suite runs after `turbo run build`). */
export function assertBuilt(): void {
  if (!existsSync(nxcBin))
    throw new Error(`${nxcBin} missing: run \`pnpm turbo run build --filter @nxc/cli...\` first`);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `nxc args` in `cwd`; stdin is closed, no TTY. */
export function runNxc(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [nxcBin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
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
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Compose info in nxc's own format, for the fake flavour. */
export function composeInfo(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    nxc_compose_info: 1,
    composition: 'composition',
    flavour: { name: 'fake', image: 'docker', description: 'fake' },
    system: 'x86_64-linux',
    roles: {
      server: { init: '/nix/store/00000000000000000000000000000000-server/init' },
      client: { init: '/nix/store/00000000000000000000000000000000-client/init' },
    },
    all: {},
    ...extra,
  };
}

/** A project in a fresh temp dir: files (path -> content; objects are JSON), and build links. */
export async function makeProject(
  files: Record<string, string | object | null>,
  builds: Record<string, string> = {},
): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'nxc-cli-'));
  for (const [rel, content] of Object.entries(files)) {
    if (content === null) continue;
    const file = path.join(dir, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
  for (const [name, target] of Object.entries(builds)) {
    await mkdir(path.join(dir, 'build'), { recursive: true });
    await symlink(path.isAbsolute(target) ? target : path.join(dir, target), path.join(dir, 'build', name));
  }
  return dir;
}

/** Sorted listing of build/ and deploy/ (recursively), to prove a command wrote nothing there. */
export async function stateListing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['build', 'deploy']) {
    const walk = async (rel: string) => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(path.join(dir, rel), { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const r = path.join(rel, e.name);
        out.push(r);
        if (e.isDirectory()) await walk(r);
      }
    };
    await walk(sub);
  }
  return out.sort();
}
