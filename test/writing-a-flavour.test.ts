/**
 * docs/writing-a-flavour.md, followed literally: the package is assembled from the doc's own
 * code blocks (each preceded by `<!-- nxc-doc-file: PATH -->`), built with its build script,
 * packed, installed into a project, listed by `nxc flavours`, built and started with
 * `nxc start -f <its flavour>`, used and stopped, with the real nxc and a real Docker engine.
 * Its Nix module is checked against the options nxc declares, and so is the doc's table of
 * `nxc.*` options (between `<!-- nxc-doc-options:start -->` and `:end -->`). Nothing here knows
 * what the doc's flavour is called: the names are read from the assembled package.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, OFFLINE_NIX_FLAGS, REPO, TESTOS, prerequisites, runNxc } from './support/user-project.js';

const run = promisify(execFile);
const DOC = join(REPO, 'docs/writing-a-flavour.md');
const CHECKER = join(REPO, 'packages/core/test/fixtures/nixos-modules/option-paths.nix');

/** `<!-- nxc-doc-file: PATH -->` followed by a fenced block: PATH -> the block's content. */
function docFiles(markdown: string): Map<string, string> {
  const files = new Map<string, string>();
  const re = /<!-- nxc-doc-file: (\S+) -->\s*\n```[^\n]*\n([\s\S]*?)\n```/g;
  for (const m of markdown.matchAll(re)) files.set(m[1] as string, `${m[2]}\n`);
  return files;
}

/** The `nxc.*` options named in the first column of the doc's options table. */
function docOptions(markdown: string): string[] {
  const table =
    /<!-- nxc-doc-options:start -->([\s\S]*?)<!-- nxc-doc-options:end -->/.exec(markdown)?.[1] ?? '';
  return [...table.matchAll(/^\| `(nxc\.[^`]+)`/gm)].map((m) => m[1] as string);
}

const markdown = readFileSync(DOC, 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'nxc-doc-flavour-'));
const pkgDir = join(scratch, 'package');
const projectDir = join(scratch, 'project');
let pkg: { name: string; files?: string[]; scripts?: Record<string, string> };
let flavourName = '';

/** Dev dependencies the doc tells to install, taken from this repository (no network). */
function linkDevDependencies(): void {
  const repoRequire = createRequire(join(REPO, 'package.json'));
  const link = (name: string, target: string) => {
    mkdirSync(dirname(join(pkgDir, 'node_modules', name)), { recursive: true });
    symlinkSync(target, join(pkgDir, 'node_modules', name));
  };
  link('@nxc/core', join(REPO, 'packages/core'));
  link('typescript', dirname(repoRequire.resolve('typescript/package.json')));
  link(
    '@types/node',
    dirname(createRequire(join(REPO, 'packages/core/package.json')).resolve('@types/node/package.json')),
  );
  mkdirSync(join(pkgDir, 'node_modules/.bin'), { recursive: true });
  symlinkSync('../typescript/bin/tsc', join(pkgDir, 'node_modules/.bin/tsc'));
}

beforeAll(async () => {
  prerequisites();
  const files = docFiles(markdown);
  expect([...files.keys()]).toContain('package.json');
  for (const [rel, content] of files) {
    mkdirSync(dirname(join(pkgDir, rel)), { recursive: true });
    writeFileSync(join(pkgDir, rel), content);
  }
  pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  linkDevDependencies();
}, 120_000);

afterAll(async () => {
  if (existsSync(join(projectDir, 'deploy')))
    await runNxc(projectDir, ['stop', '-f', flavourName]).catch(() => {});
  rmSync(scratch, { recursive: true, force: true });
});

describe('the package the doc describes', () => {
  it('builds with its own build script and packs (a version, the files it names)', async () => {
    expect(pkg.scripts?.build).toBeTruthy();
    await run('npm', ['run', 'build'], { cwd: pkgDir });
    const [packed] = JSON.parse(
      (await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkgDir })).stdout,
    );
    const paths = (packed.files as Array<{ path: string }>).map((f) => f.path);
    expect(packed.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(paths).toContain('package.json');
    expect(paths).toContain('dist/index.js');
    for (const rel of docFiles(markdown).keys()) if (rel.startsWith('nix/')) expect(paths).toContain(rel); // the Nix module ships
  });

  it('its Nix module parses and only sets nxc options that nxc declares', async () => {
    const modules = [...docFiles(markdown).keys()]
      .filter((f) => f.endsWith('.nix'))
      .map((f) => join(pkgDir, f));
    expect(modules.length).toBeGreaterThan(0);
    for (const m of modules) await run('nix-instantiate', ['--parse', m]);
    const report = await optionReport(modules);
    const undeclared = report.used.flatMap((u) => u.paths.filter((p) => !isDeclared(report.declared, p)));
    expect(undeclared).toEqual([]);
  });

  it('the table of nxc options names declared options, every one a shipped flavour module sets', async () => {
    const listed = docOptions(markdown);
    expect(listed.length).toBeGreaterThan(5);
    const shipped = readdirSync(join(REPO, 'plugins')).flatMap((p) =>
      existsSync(join(REPO, 'plugins', p, 'nix'))
        ? readdirSync(join(REPO, 'plugins', p, 'nix'))
            .filter((f) => f.endsWith('.nix'))
            .map((f) => join(REPO, 'plugins', p, 'nix', f))
        : [],
    );
    const report = await optionReport(shipped);
    expect(listed.filter((o) => !report.declared.includes(o))).toEqual([]);
    const setByFlavours = new Set(
      report.used.filter((u) => shipped.includes(u.file)).flatMap((u) => u.paths),
    );
    expect(setByFlavours.size).toBeGreaterThan(3);
    expect([...setByFlavours].filter((p) => !listed.includes(p))).toEqual([]);
  });
});

describe('a project using it', () => {
  beforeAll(async () => {
    const built = await import(join(pkgDir, 'dist/index.js'));
    flavourName = built.default.flavours[0].name;
    mkdirSync(join(projectDir, 'node_modules'), { recursive: true });
    for (const f of ['flake.nix', 'composition.nix'])
      writeFileSync(join(projectDir, f), readFileSync(join(DEMO, f)));
    writeFileSync(
      join(projectDir, 'package.json'),
      JSON.stringify({
        name: 'experiment',
        private: true,
        nxc: { plugins: [pkg.name], nix: { overrideInputs: { nixpkgs: TESTOS } } },
      }),
    );
    symlinkSync(pkgDir, join(projectDir, 'node_modules', pkg.name)); // what `npm install ../package` does
  }, 120_000);

  const env = { NXC_NIX_FLAGS: OFFLINE_NIX_FLAGS };

  it('nxc flavours lists it', async () => {
    const r = await runNxc(projectDir, ['flavours'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${flavourName}\\s+docker\\s+${pkg.name}\\s`, 'm'));
  });

  it('nxc build, nxc start -f <it>, exec on the nodes, status, stop: nothing left', async () => {
    const build = await runNxc(projectDir, ['build', '-f', flavourName], env);
    expect(build.code, build.stderr).toBe(0);
    const start = await runNxc(projectDir, ['start', '-f', flavourName, '-r', 'client=2'], env);
    expect(start.code, start.stderr).toBe(0);
    const exec = await runNxc(projectDir, ['exec', '@client', '--', 'wget -qO- http://server/'], env);
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout.match(/hello from the nxc demo server/g)).toHaveLength(2);
    const status = await runNxc(projectDir, ['status', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout.match(/"running"/g)?.length).toBe(3);
    const stop = await runNxc(projectDir, ['stop', '-f', flavourName], env);
    expect(stop.code, stop.stderr).toBe(0);
    const left = execFileSync('docker', ['ps', '-a', '--format', '{{.Names}}'], { encoding: 'utf8' });
    expect(left.split('\n').filter((n) => n.startsWith(`nxc-${flavourName}-`))).toEqual([]);
  });
});

interface OptionReport {
  declared: string[];
  used: Array<{ file: string; paths: string[] }>;
}

/** nxc's stub evaluation of NixOS modules (no nixpkgs here): declared and set `nxc.*` paths. */
async function optionReport(flavourModules: string[]): Promise<OptionReport> {
  const list = (files: string[]) => `[ ${files.map((f) => JSON.stringify(f)).join(' ')} ]`;
  const shared = ['nix/modules/default.nix', 'nix/lib/nxc-module.nix'].map((f) => join(REPO, f));
  const expr = `import ${JSON.stringify(CHECKER)} { sharedModules = map (f: /. + f) ${list(shared)}; flavourModules = map (f: /. + f) ${list(flavourModules)}; }`;
  const { stdout } = await run('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr], {
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as OptionReport;
}

function isDeclared(declared: string[], path: string): boolean {
  return declared.some((d) => path === d || path.startsWith(`${d}.`));
}
