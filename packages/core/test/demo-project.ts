/**
 * Test helpers: the offline test OS (downloaded once by its setup.sh) and throw-away,
 * git-initialised copies of examples/demo whose Nix overrides are absolute paths.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const DEMO = join(REPO, 'examples/demo');
export const TESTOS = join(REPO, 'test/fixtures/testos');

/** Offline-safe Nix flags for tests (no binary cache here). */
export const TEST_NIX_FLAGS = "--option substituters '' --option sandbox false";

/** Runs the test OS's setup.sh (idempotent: a no-op once its cache is complete). */
export function ensureTestOs(): void {
  execFileSync(join(TESTOS, 'setup.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A git-initialised copy of examples/demo in a temp dir; `cleanup()` removes it. */
export function demoCopy(prefix = 'nxc-demo-'): {
  dir: string;
  cleanup: () => void;
  commit: (msg: string) => void;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const f of ['flake.nix', 'composition.nix', 'nxc.json', 'package.json'])
    cpSync(join(DEMO, f), join(dir, f));
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  pkg.nxc.nix.overrideInputs = { nixpkgs: TESTOS };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  // plugins resolve from the project's node_modules: reuse the demo's (workspace links)
  symlinkSync(join(DEMO, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, '.gitignore'), 'node_modules\nbuild\ndeploy\nartifact\n.nxc\n');
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=test@nxc', '-c', 'user.name=nxc-test', ...args], {
      cwd: dir,
      stdio: 'ignore',
    });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'demo');
  return {
    dir,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    commit: (msg: string) => {
      git('add', '-A');
      git('commit', '-qm', msg);
    },
  };
}
