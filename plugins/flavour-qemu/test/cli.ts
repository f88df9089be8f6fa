/** Running the real `nxc` binary in a temp copy of examples/demo (the user's workflow). */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const demo = path.join(repo, 'examples/demo');
export const nxcBin = path.join(repo, 'apps/cli/dist/cli.js');

export interface NxcRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runNxc(cwd: string, args: string[], timeoutMs = 300_000): Promise<NxcRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [nxcBin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
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

/**
 * A temp copy of the demo project using the workspace's flavour packages, the offline test
 * OS, and `flavourOptions` for the given flavours (small TCG VMs).
 */
export async function demoCopy(flavourOptions: Record<string, Record<string, unknown>>): Promise<string> {
  if (!existsSync(nxcBin))
    throw new Error(`${nxcBin} missing: run \`pnpm turbo run build --filter @nxc/cli...\` first`);
  const dir = await mkdtemp(path.join(tmpdir(), 'nxc-qemu-demo-'));
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
  execFileSync('sh', [path.join(repo, 'test/fixtures/testos/setup.sh')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return dir;
}

export const removeDir = (dir: string): Promise<void> => rm(dir, { recursive: true, force: true });
