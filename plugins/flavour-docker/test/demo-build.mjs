/**
 * The real demo as a user has it: a throw-away, git-initialised copy of examples/demo whose
 * `nixpkgs` input is nxc's offline test OS, with the workspace's plugin packages in its
 * node_modules. Build it with core's `build()` (real Nix), like `nxc build -f docker`.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEMO = join(REPO, 'examples/demo');
export const TESTOS = join(REPO, 'test/fixtures/testos');

/** Nix flags for this machine (no binary cache, no sandbox); core's Nix runner reads them. */
export const OFFLINE_NIX_FLAGS = "--option substituters '' --option sandbox false";

/**
 * Creates the demo copy (and downloads the test OS once). Returns its directory and a cleanup.
 * @returns {{ dir: string, cleanup: () => void }}
 */
export function demoProject(prefix = 'nxc-docker-demo-') {
  execFileSync(join(TESTOS, 'setup.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const f of ['flake.nix', 'composition.nix', 'nxc.json', 'package.json'])
    cpSync(join(DEMO, f), join(dir, f));
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  pkg.nxc.nix.overrideInputs = { nixpkgs: TESTOS };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  symlinkSync(join(DEMO, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, '.gitignore'), 'node_modules\nbuild\ndeploy\nartifact\n.nxc\n');
  const git = (...args) =>
    execFileSync('git', ['-c', 'user.email=test@nxc', '-c', 'user.name=nxc-test', ...args], {
      cwd: dir,
      stdio: 'ignore',
    });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'demo');
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
