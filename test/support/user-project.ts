/**
 * Throw-away user projects for end-to-end tests of `nxc build`: a copy of examples/demo
 * (built against the offline test OS), in or out of git, with the real built `nxc` binary.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const DEMO = join(REPO, 'examples/demo');
export const TESTOS = join(REPO, 'test/fixtures/testos');
export const NXC_BIN = join(REPO, 'apps/cli/dist/cli.js');

/** Offline-safe Nix flags (no binary cache on these machines). */
export const OFFLINE_NIX_FLAGS = "--option substituters '' --option sandbox false";

/** The test OS binaries (idempotent) and the built CLI: fails loudly when either is missing. */
export function prerequisites(): void {
  execFileSync(join(TESTOS, 'setup.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!existsSync(NXC_BIN)) throw new Error(`${NXC_BIN} missing: run \`pnpm turbo run build\` first`);
}

export interface UserProject {
  dir: string;
  /** Runs git in the project (the identity is the test's). */
  git: (...args: string[]) => void;
  /** Makes the next build do Nix work: a new page on the demo server. */
  touch: () => void;
  cleanup: () => void;
}

/**
 * A copy of the demo: flake.nix, composition.nix, nxc.json, package.json (nixpkgs = the test
 * OS, absolute), node_modules linked to the demo's. `git: true` commits it all.
 */
export function userProject(opts: { git?: boolean; prefix?: string } = {}): UserProject {
  const dir = mkdtempSync(join(tmpdir(), opts.prefix ?? 'nxc-user-project-'));
  for (const f of ['flake.nix', 'composition.nix', 'nxc.json', 'package.json'])
    cpSync(join(DEMO, f), join(dir, f));
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  pkg.nxc.nix.overrideInputs = { nixpkgs: TESTOS };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  symlinkSync(join(DEMO, 'node_modules'), join(dir, 'node_modules'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=test@nxc', '-c', 'user.name=nxc-test', ...args], {
      cwd: dir,
      stdio: 'ignore',
    });
  if (opts.git) {
    writeFileSync(join(dir, '.gitignore'), 'node_modules\nbuild\ndeploy\nartifact\n.nxc\n');
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'demo');
  }
  return {
    dir,
    git,
    touch: () => {
      const file = join(dir, 'composition.nix');
      const page = `hello ${Date.now()}-${Math.random().toString(36).slice(2)}`;
      writeFileSync(file, readFileSync(file, 'utf8').replace(/hello [^\\"]*\\n/, `${page}\\n`));
      if (opts.git) git('commit', '-qam', 'new page');
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface NxcRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `nxc` in `cwd` (no TTY, no colour); `argv0` prefixes it (e.g. setpriv). */
export function runNxc(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  prefix: string[] = [],
): Promise<NxcRun> {
  return new Promise((done, fail) => {
    const argv = [...prefix, process.execPath, NXC_BIN, ...args];
    const child = spawn(argv[0] as string, argv.slice(1), {
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
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** stderr without the progress lines (`build composition::docker 0/1 …`, `building …`). */
export function messages(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !/^(build|building) composition::/.test(l));
}
