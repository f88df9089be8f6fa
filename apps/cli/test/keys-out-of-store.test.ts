/**
 * Issue 13's "must show": in a project that is NOT a git repository, `nix build` copies the
 * whole folder into /nix/store (world-readable). After `nxc build` + `nxc start` + another
 * `nxc build`, the project's private key must be nowhere under /nix/store nor in the project
 * tree: searched by content (the key's own lines), not by file name. Real Nix, real dockerd.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, repoRoot, runNxc } from './helpers.js';

const demo = path.join(repoRoot, 'examples/demo');
let dir: string;
let stateHome: string;
const marker = `nxc-copy-marker-${process.pid}-${Date.now()}`;

/** Files under `root` whose content contains `needle` (links are not followed: build/ points into the store). */
async function filesContaining(root: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isSymbolicLink()) continue;
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && (await readFile(full)).includes(needle)) found.push(full);
    }
  };
  await walk(root);
  return found;
}

beforeAll(async () => {
  assertBuilt();
  if (!existsSync(demo)) throw new Error(`${demo} missing: the demo project is needed for this test`);
  dir = await mkdtemp(path.join(tmpdir(), 'nxc-nogit-'));
  stateHome = await mkdtemp(path.join(tmpdir(), 'nxc-nogit-state-'));
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
  await writeFile(pkgFile, JSON.stringify(pkg, null, 2));
  await writeFile(path.join(dir, 'not-in-git.txt'), `${marker}\n`);
  // not a git repository (nor inside one): Nix copies the folder as it is
  expect(spawnSync('git', ['-C', dir, 'rev-parse'], { stdio: 'ignore' }).status).not.toBe(0);
  execFileSync('sh', [path.join(repoRoot, 'test/fixtures/testos/setup.sh')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}, 600_000);

afterAll(async () => {
  if (dir) {
    await runNxc(dir, ['stop'], { XDG_STATE_HOME: stateHome }, 120_000);
    await rm(dir, { recursive: true, force: true });
  }
  if (stateHome) await rm(stateHome, { recursive: true, force: true });
});

describe('the project key never reaches /nix/store nor the project tree (project outside git)', () => {
  it('build, start, build again: the key is only in $XDG_STATE_HOME/nxc', async () => {
    const env = { XDG_STATE_HOME: stateHome };
    const built = await runNxc(dir, ['build', '-f', 'docker'], env, 600_000);
    expect(built.code, built.stderr).toBe(0);
    const started = await runNxc(dir, ['start', '--json'], env, 300_000);
    expect(started.code, started.stderr).toBe(0);
    // the build that used to copy .nxc/ssh/id_ed25519 into the store is the one after start
    const again = await runNxc(dir, ['build', '-f', 'docker'], env, 600_000);
    expect(again.code, again.stderr).toBe(0);

    // the identity the deployment authorizes, wherever nxc keeps it
    const doc = JSON.parse(await readFile(path.join(dir, 'deploy/composition::docker.json'), 'utf8'));
    const candidates = [
      ...(await readdir(stateHome, { recursive: true }))
        .filter((f) => f.endsWith('id_ed25519'))
        .map((f) => path.join(stateHome, f)),
      path.join(dir, '.nxc/ssh/id_ed25519'),
    ].filter((f) => existsSync(`${f}.pub`));
    const keyFile = candidates.find(
      (f) => readFileSync(`${f}.pub`, 'utf8').split(' ')[1] === doc['ssh_key.pub'].split(' ')[1],
    );
    expect(keyFile, `no private key for ${doc['ssh_key.pub']}`).toBeDefined();
    const privateKey = await readFile(keyFile!, 'utf8');
    // the key's base64 body lines but the first (the same header in every ed25519 key) and the
    // last (padding and comment): the ones holding this key's own bytes
    const body = privateKey
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('-----'))
      .slice(1, -1);
    expect(body.length).toBeGreaterThan(2);

    expect(await filesContaining(dir, 'PRIVATE KEY')).toEqual([]);
    for (const line of body) expect(await filesContaining(dir, line)).toEqual([]);
    const inStore = spawnSync('grep', ['-rlF', ...body.flatMap((l) => ['-e', l]), '/nix/store'], {
      encoding: 'utf8',
    });
    // grep: 1 = no match, 0 = a match (the file names are printed)
    expect(inStore.stdout).toBe('');
    expect(inStore.status).toBe(1);
    // the build did copy the project folder: the search above looked at real copies
    const copies = spawnSync('grep', ['-rlF', '-e', marker, '/nix/store'], { encoding: 'utf8' });
    expect(copies.stdout).toMatch(/^\/nix\/store\/[a-z0-9]{32}-source\/not-in-git\.txt$/m);
  }, 1_200_000);
});
