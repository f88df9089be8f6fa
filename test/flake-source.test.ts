/**
 * What of a project reaches the Nix store when `nxc build` runs: its sources, never
 * node_modules/, .nxc/ (SSH keys, the generated library), deploy/, artifact/ or build/, in a
 * git work tree or not. The store is searched for the flake sources this build produced (a
 * unique marker in composition.nix) and their files are listed. Also: relative imports keep
 * working, and the project's flake.lock is the one Nix reads, updates included.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, OFFLINE_NIX_FLAGS, REPO, TESTOS, prerequisites, runNxc } from './support/user-project.js';

const dirs: string[] = [];
beforeAll(() => prerequisites());
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PRIVATE_KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n';
const NIX = ['--extra-experimental-features', 'nix-command flakes'];

/**
 * A project as a user has it after a few commands: sources (flake.nix, a composition that
 * imports ./roles/server.nix, a flake.lock), plus node_modules/ (a real folder holding the
 * installed flavours), .nxc/ with a private key, deploy/, artifact/ and build/ files.
 */
function project(marker: string, opts: { git: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), 'nxc-flake-source-'));
  dirs.push(dir);
  const extra = join(dir, '..', `${relative(tmpdir(), dir)}-extra`);
  dirs.push(extra);
  mkdirSync(extra);
  writeFileSync(join(extra, 'data'), 'one');
  writeFileSync(
    join(dir, 'flake.nix'),
    `{
  inputs = {
    nixpkgs.url = "path:${TESTOS}";
    nxc.url = "path:${join(REPO, 'nix')}";
    extra = { url = "path:${extra}"; flake = false; };
  };
  outputs = { self, nixpkgs, nxc, extra }: {
    packages.x86_64-linux = nxc.lib.compose {
      inherit nixpkgs;
      system = "x86_64-linux";
      composition = import ./composition.nix (builtins.readFile "\${extra}/data");
    };
  };
}
`,
  );
  writeFileSync(
    join(dir, 'composition.nix'),
    `extra: { pkgs, ... }: {
  roles = {
    server = import ./roles/server.nix;
    client = { pkgs, ... }: { environment.etc."extra".text = extra; };
  };
}
`,
  );
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'p',
      private: true,
      nxc: { plugins: ['@nxc/flavour-docker'], nix: { flags: ['--option', 'substituters', ''] } },
    }),
  );
  // plain Nix copies the whole folder: lock before anything a search below could find
  execFileSync('nix', [...NIX, 'flake', 'lock'], { cwd: dir, stdio: 'ignore' });
  mkdirSync(join(dir, 'roles'));
  writeFileSync(
    join(dir, 'roles/server.nix'),
    `{ pkgs, ... }: { environment.etc."marker".text = "${marker}"; }\n`,
  );
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(join(DEMO, 'node_modules/@nxc'), join(dir, 'node_modules/@nxc'));
  writeFileSync(join(dir, 'node_modules/.big-dependency.js'), 'x'.repeat(100_000));
  mkdirSync(join(dir, '.nxc/ssh'), { recursive: true });
  writeFileSync(join(dir, '.nxc/ssh/id_ed25519'), PRIVATE_KEY, { mode: 0o600 });
  mkdirSync(join(dir, 'deploy'));
  writeFileSync(join(dir, 'deploy/composition::docker.json'), '{}');
  mkdirSync(join(dir, 'artifact/composition/docker'), { recursive: true });
  writeFileSync(join(dir, 'artifact/composition/docker/server.log'), 'log');
  mkdirSync(join(dir, 'build'));
  writeFileSync(join(dir, 'build/notes.txt'), 'a user file');
  if (opts.git) {
    writeFileSync(join(dir, '.gitignore'), '/node_modules/\n/.nxc/\n/deploy/\n/artifact/\n/build/\n');
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'project');
  }
  return dir;
}

function git(dir: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=t@nxc', '-c', 'user.name=t', ...args], {
    cwd: dir,
    stdio: 'ignore',
  });
}

/** Store paths `*-source` holding a composition.nix with `marker` (in roles/server.nix). */
function sourcesInStore(marker: string): string[] {
  return readdirSync('/nix/store')
    .filter((n) => n.endsWith('-source'))
    .map((n) => join('/nix/store', n))
    .filter((p) => {
      const f = join(p, 'roles/server.nix');
      return existsSync(f) && readFileSync(f, 'utf8').includes(marker);
    });
}

function files(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (lstatSync(full).isDirectory()) out.push(`${relative(base, full)}/`, ...files(full, base));
    else out.push(relative(base, full));
  }
  return out.sort();
}

async function build(dir: string): Promise<Record<string, string>> {
  const r = await runNxc(dir, ['build', '-f', 'docker'], { NXC_NIX_FLAGS: OFFLINE_NIX_FLAGS });
  expect(r.code, r.stderr).toBe(0);
  const info = JSON.parse(readFileSync(join(dir, 'build/composition::docker'), 'utf8'));
  return {
    marker: readFileSync(join(info.roles.server.toplevel, 'etc/marker'), 'utf8'),
    extra: readFileSync(join(info.roles.client.toplevel, 'etc/extra'), 'utf8'),
  };
}

describe.each([
  ['not in git', false],
  ['in a git work tree', true],
])('a project %s', (_, inGit) => {
  it('only its sources reach the store: no node_modules, .nxc (keys), deploy, artifact or build', async () => {
    const marker = `marker-${process.pid}-${Date.now()}-${inGit}`;
    const dir = project(marker, { git: inGit });
    const built = await build(dir);
    expect(built.marker).toBe(marker); // ./roles/server.nix was found: relative imports work
    const sources = sourcesInStore(marker);
    expect(sources).toHaveLength(1);
    const listed = files(sources[0] as string);
    expect(listed).toEqual([
      ...(inGit ? ['.gitignore'] : []),
      'composition.nix',
      'flake.lock',
      'flake.nix',
      'package.json',
      'roles/',
      'roles/server.nix',
    ]);
    const text = listed
      .filter((f) => !f.endsWith('/'))
      .map((f) => readFileSync(join(sources[0] as string, f), 'utf8'));
    expect(text.some((t) => t.includes('PRIVATE KEY'))).toBe(false);
  });

  it("reads the project's flake.lock, and follows it when the user updates it", async () => {
    const dir = project(`lock-${process.pid}-${Date.now()}-${inGit}`, { git: inGit });
    const lockBefore = readFileSync(join(dir, 'flake.lock'), 'utf8');
    const extra = JSON.parse(lockBefore).nodes.extra.locked.path as string;
    writeFileSync(join(extra, 'data'), 'two'); // the input moved on; the lock still says "one"
    expect((await build(dir)).extra).toBe('one');
    expect(readFileSync(join(dir, 'flake.lock'), 'utf8')).toBe(lockBefore); // nxc wrote nothing there
    execFileSync('nix', [...NIX, 'flake', 'lock', '--update-input', 'extra'], { cwd: dir, stdio: 'ignore' });
    if (inGit) git(dir, 'commit', '-qam', 'update extra');
    expect((await build(dir)).extra).toBe('two');
  });
});
