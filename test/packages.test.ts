/**
 * The packages as users get them: every publishable package is packed (`pnpm pack`, which
 * turns `workspace:^` into real ranges), its tarball checked (LICENSE, README, metadata,
 * ranges, the files it needs), then `@nxc/cli` + `@nxc/flavour-docker` are installed from the
 * tarballs into projects outside the repository, once with npm and once with pnpm's strict
 * layout, and used as a user would: `nxc flavours`, `nxc build -f docker`, `nxc start`,
 * `nxc driver -t`, `nxc stop`; with npm, @nxc/core's README script (build, start, exec, stop
 * from a script) runs too, and a strict TypeScript project type-checks against every package.
 * Third-party dependencies come from the npm registry; the @nxc packages only from the tarballs.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, OFFLINE_NIX_FLAGS, REPO, TESTOS, prerequisites } from './support/user-project.js';

const execFileAsync = promisify(execFile);

/** execFile that fails with the command's own output (npm and pnpm explain themselves there). */
function run(cmd: string, args: string[], opts: Parameters<typeof execFileAsync>[2] = {}) {
  return execFileAsync(cmd, args, { maxBuffer: 64 << 20, ...opts }).catch(
    (e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `${cmd} ${args.join(' ')} failed: ${e.message}\n${String(e.stdout ?? '').slice(-2000)}\n${String(e.stderr ?? '').slice(-2000)}`,
      );
    },
  );
}
const PUBLISHED = [
  'packages/core',
  'packages/driver',
  'packages/experiment',
  'packages/g5k',
  'packages/ssh',
  'plugins/flavour-docker',
  'plugins/flavour-qemu',
  'plugins/flavour-g5k-ramdisk',
  'plugins/flavour-g5k-nfs-store',
  'plugins/flavour-g5k-image',
  'apps/cli',
];

interface Manifest {
  name: string;
  version: string;
  license?: string;
  engines?: { node?: string };
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

interface Packed {
  dir: string;
  tarball: string;
  manifest: Manifest;
  files: string[];
}

const scratch = mkdtempSync(join(tmpdir(), 'nxc-packages-'));
const packed = new Map<string, Packed>();
const tarball = (name: string) => (packed.get(name) as Packed).tarball;

beforeAll(async () => {
  prerequisites();
  const dest = join(scratch, 'tarballs');
  mkdirSync(dest);
  for (const dir of PUBLISHED) {
    const { stdout } = await run('pnpm', ['pack', '--pack-destination', dest], { cwd: join(REPO, dir) });
    const file = stdout.trim().split('\n').at(-1) as string;
    const manifest = JSON.parse(
      execFileSync('tar', ['-xOzf', file, 'package/package.json'], { encoding: 'utf8' }),
    );
    const files = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
    packed.set(manifest.name, { dir, tarball: file, manifest, files });
  }
}, 300_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the tarballs', () => {
  it('every published package is packed', () => {
    expect([...packed.values()].map((p) => p.dir).sort()).toEqual([...PUBLISHED].sort());
  });

  it.each(PUBLISHED)('%s: LICENSE, README, code and types, the metadata npm shows', (dir) => {
    const p = [...packed.values()].find((x) => x.dir === dir) as Packed;
    for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts'])
      expect(p.files, f).toContain(`package/${f}`);
    expect(readFileSync(join(REPO, dir, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    const m = p.manifest;
    expect(m.license).toBe('MIT');
    expect(m.engines?.node).toBe('>=20.5');
    // no public source repository yet: the npm page is the home, and no other project's URL
    expect(m.homepage).toBe(`https://www.npmjs.com/package/${m.name}`);
    expect(m.repository).toBeUndefined();
    expect(m.bugs).toBeUndefined();
    expect(JSON.stringify(m)).not.toMatch(/github\.com/);
    const readme = execFileSync('tar', ['-xOzf', p.tarball, 'package/README.md'], { encoding: 'utf8' });
    expect(readme).not.toMatch(/oar-team/); // the original Python nxc, another project
  });

  it('internal dependencies are carets; the peer on @nxc/core covers every 0.x (no workspace: protocol, no pins)', () => {
    const ranges = (field: 'dependencies' | 'peerDependencies') =>
      [...packed.values()].flatMap((p) =>
        Object.entries(p.manifest[field] ?? {})
          .filter(([name]) => name.startsWith('@nxc/'))
          .map(([name, range]) => `${p.manifest.name} ${field} ${name}@${range}`),
      );
    expect(ranges('dependencies').length).toBeGreaterThan(5);
    expect(ranges('dependencies').filter((r) => !/@\^\d+\.\d+\.\d+$/.test(r))).toEqual([]);
    // What a plugin needs of core is its flavour API version, checked when nxc loads the plugin
    // (with a message saying which side to upgrade); a caret on a 0.x core would make every core
    // minor release a peer conflict, and a major release of every plugin in the release plan.
    expect(ranges('peerDependencies').length).toBeGreaterThan(5);
    expect(ranges('peerDependencies').filter((r) => !r.endsWith(' @nxc/core@>=0.1.0 <1'))).toEqual([]);
    for (const p of packed.values()) expect(JSON.stringify(p.manifest)).not.toContain('workspace:');
  });

  it('every package its declarations import is a dependency (or peer), with its types', () => {
    const missing: string[] = [];
    for (const p of packed.values()) {
      const dts = execFileSync('tar', ['-xOzf', p.tarball, 'package/dist/index.d.ts'], { encoding: 'utf8' });
      const imported = new Set([...dts.matchAll(/from '([^'.][^']*)'/g)].map((m) => m[1] as string));
      const deps = { ...p.manifest.dependencies, ...p.manifest.peerDependencies };
      for (const spec of imported) {
        if (spec.startsWith('node:')) continue;
        const name = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : (spec.split('/')[0] as string);
        if (!deps[name]) missing.push(`${p.manifest.name}: ${name}`);
        // a package without its own declarations needs its @types package beside it
        const home = join(REPO, p.dir, 'node_modules', name); // pnpm links every dependency there
        const own = JSON.parse(readFileSync(join(home, 'package.json'), 'utf8'));
        const typed = own.types || own.typings || existsSync(join(home, 'index.d.ts'));
        const types = `@types/${name.replace(/^@([^/]+)\//, '$1__')}`;
        if (!typed && !deps[types]) missing.push(`${p.manifest.name}: ${types}`);
      }
      // Node's own types (Buffer, NodeJS.*) are an optional peer of the packages that name them
      if (/\bNodeJS\.|\bBuffer\b/.test(dts) && !p.manifest.peerDependencies?.['@types/node'])
        missing.push(`${p.manifest.name}: @types/node (peer)`);
    }
    expect(missing).toEqual([]);
  });

  it('@nxc/core carries the Nix library, plugins their NixOS modules, the driver its Python shim', () => {
    const core = packed.get('@nxc/core') as Packed;
    for (const f of [
      'nix/flake.nix',
      'nix/lib/compose.nix',
      'nix/boot/nxc-boot.sh',
      'nix/templates/templates.json',
      'writing-a-flavour.md', // the guide its README points at
    ])
      expect(core.files).toContain(`package/${f}`);
    expect(core.files.some((f) => f.startsWith('package/nix/modules/'))).toBe(true);
    for (const name of [
      '@nxc/flavour-docker',
      '@nxc/flavour-qemu',
      '@nxc/flavour-g5k-ramdisk',
      '@nxc/flavour-g5k-nfs-store',
      '@nxc/flavour-g5k-image',
    ])
      expect(
        (packed.get(name) as Packed).files.some((f) => /^package\/nix\/[^/]+\.nix$/.test(f)),
        name,
      ).toBe(true);
    expect((packed.get('@nxc/driver') as Packed).files.some((f) => f.endsWith('.py'))).toBe(true);
    for (const p of packed.values())
      expect(
        p.files.filter((f) => /\.test\.|\/src\/|node_modules/.test(f)),
        p.manifest.name,
      ).toEqual([]);
  });
});

/** A user's project outside the repository: the demo composition, built on the test OS. */
function userProject(name: string, extra: Record<string, unknown>): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  for (const f of ['flake.nix', 'composition.nix']) writeFileSync(join(dir, f), readFileSync(join(DEMO, f)));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: `nxc-user-${name}`,
        private: true,
        type: 'module',
        ...extra,
        nxc: { plugins: ['@nxc/flavour-docker'], nix: { overrideInputs: { nixpkgs: TESTOS } } },
      },
      null,
      2,
    ),
  );
  return dir;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function nxcIn(dir: string) {
  const bin = join(dir, 'node_modules/.bin/nxc');
  return (args: string[]): Promise<Run> =>
    run(bin, args, {
      cwd: dir,
      env: { ...process.env, NXC_NIX_FLAGS: OFFLINE_NIX_FLAGS, NO_COLOR: '1' },
      maxBuffer: 64 << 20,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        code: e.code ?? 1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      }),
    );
}

/** Docker containers of the docker flavour (the e2e lock keeps other tests' away meanwhile). */
function dockerFlavourContainers(): string[] {
  return execFileSync('docker', ['ps', '-aq', '--filter', 'label=nxc.flavour=docker'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

/** What a user does after installing: list, build, start, test, stop; nothing left running. */
async function useIt(dir: string): Promise<void> {
  const nxc = nxcIn(dir);
  const before = dockerFlavourContainers();
  const flavours = await nxc(['flavours']);
  expect(flavours.code, flavours.stderr).toBe(0);
  expect(flavours.stdout).toMatch(/^docker\s+docker\s+@nxc\/flavour-docker\s/m);
  const build = await nxc(['build', '-f', 'docker']);
  expect(build.code, build.stderr).toBe(0);
  const start = await nxc(['start', '-r', 'client=2']);
  expect(start.code, start.stderr).toBe(0);
  try {
    const driver = await nxc(['driver', '-t']);
    expect(driver.code, `${driver.stdout}\n${driver.stderr}`).toBe(0);
  } finally {
    const stop = await nxc(['stop']);
    expect(stop.code, stop.stderr).toBe(0);
  }
  expect(dockerFlavourContainers().filter((id) => !before.includes(id))).toEqual([]);
}

describe('installed with npm in a project outside the repository', () => {
  let dir: string;
  beforeAll(async () => {
    dir = userProject('npm', {
      devDependencies: Object.fromEntries(
        ['@nxc/cli', '@nxc/flavour-docker', '@nxc/core', '@nxc/driver'].map((n) => [n, `file:${tarball(n)}`]),
      ),
    });
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
      cwd: dir,
      maxBuffer: 64 << 20,
    });
  }, 600_000);

  it('one copy of @nxc/core, the one from its tarball', () => {
    const found = execFileSync('find', [join(dir, 'node_modules'), '-path', '*/@nxc/core/package.json'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean);
    expect(found).toEqual([join(dir, 'node_modules/@nxc/core/package.json')]);
  });

  it('nxc flavours, build -f docker, start, driver -t, stop', async () => {
    await useIt(dir);
  });

  it("nxc init names @nxc/core's npm tarball of this version, and that tarball is a flake (?dir=nix)", async () => {
    const init = await nxcIn(dir)(['init', 'from-template']);
    expect(init.code, init.stderr).toBe(0);
    const flake = readFileSync(join(dir, 'from-template/flake.nix'), 'utf8');
    const { version } = (packed.get('@nxc/core') as Packed).manifest;
    expect(flake).toContain(
      `nxc.url = "https://registry.npmjs.org/@nxc/core/-/core-${version}.tgz?dir=nix";`,
    );
    // the same tarball from disk: Nix strips its top folder package/ and finds the library
    const ref = `file://${tarball('@nxc/core')}?dir=nix`;
    const { stdout } = await run('nix', [
      '--extra-experimental-features',
      'nix-command flakes',
      'eval',
      '--impure',
      '--json',
      '--option',
      'substituters',
      '',
      '--expr',
      `builtins.attrNames (builtins.getFlake "${ref}").lib`,
    ]);
    expect(JSON.parse(stdout)).toContain('compose');
  });

  it("@nxc/core's README script: build, start, exec and stop from a script", async () => {
    const readme = readFileSync(join(REPO, 'packages/core/README.md'), 'utf8');
    const blocks = [...readme.matchAll(/<!-- file: (\S+) -->\s*\n```[^\n]*\n([\s\S]*?)\n```/g)];
    expect(blocks.length).toBe(1);
    const [, file, code] = blocks[0] as RegExpMatchArray;
    writeFileSync(join(dir, file as string), code as string);
    const r = await run(process.execPath, [file as string], {
      cwd: dir,
      env: { ...process.env, NXC_NIX_FLAGS: OFFLINE_NIX_FLAGS },
    });
    expect(r.stdout).toMatch(/^built roles: client, server$/m);
    expect(r.stdout).toMatch(/^client1: exit 0: client1$/m);
    expect(r.stdout).toMatch(/^client2: exit 0: client2$/m);
    expect(existsSync(join(dir, 'deploy/composition::docker.json'))).toBe(false); // stopped
  });
});

describe('installed with pnpm (strict node_modules) in a project outside the repository', () => {
  let dir: string;
  beforeAll(async () => {
    // @nxc/core, the docker flavour's peer, is named too: pnpm would fetch an absent peer from
    // the registry, where these tarballs are not; overrides give the CLI its @nxc dependencies
    dir = userProject('pnpm', {
      devDependencies: Object.fromEntries(
        ['@nxc/cli', '@nxc/flavour-docker', '@nxc/core'].map((n) => [n, `file:${tarball(n)}`]),
      ),
    });
    // a project of its own (not this workspace), with its overrides
    writeFileSync(
      join(dir, 'pnpm-workspace.yaml'),
      `packages: []\noverrides:\n${['@nxc/core', '@nxc/driver'].map((n) => `  "${n}": "file:${tarball(n)}"`).join('\n')}\n`,
    );
    await run(
      'pnpm',
      ['install', '--prefer-offline', '--reporter=append-only', '--config.node-linker=isolated'],
      {
        cwd: dir,
        maxBuffer: 64 << 20,
      },
    );
  }, 600_000);

  it("the strict layout: the CLI's own dependencies are not visible from the project", () => {
    expect(existsSync(join(dir, 'node_modules/@nxc/cli'))).toBe(true);
    expect(existsSync(join(dir, 'node_modules/@nxc/driver'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/commander'))).toBe(false);
    expect(readdirSync(join(dir, 'node_modules/.pnpm')).some((d) => d.startsWith('@nxc+driver@'))).toBe(true);
  });

  it('nxc flavours, build -f docker, start, driver -t, stop', async () => {
    await useIt(dir);
  });
});

describe('a strict TypeScript project using every package', () => {
  it('type-checks without skipLibCheck', async () => {
    const dir = userProject('typescript', {
      dependencies: Object.fromEntries([...packed.keys()].map((n) => [n, `file:${tarball(n)}`])),
      devDependencies: { '@types/node': '^20.17.0' },
    });
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--loglevel=error'],
      {
        cwd: dir,
        maxBuffer: 64 << 20,
      },
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        include: ['check.ts'],
      }),
    );
    const names = [...packed.keys()].sort();
    writeFileSync(
      join(dir, 'check.ts'),
      `${names.map((n, i) => `import * as m${i} from '${n}';`).join('\n')}\nexport const loaded = [${names.map((_, i) => `m${i}`).join(', ')}];\n`,
    );
    const tsc = createRequire(join(REPO, 'package.json')).resolve('typescript/bin/tsc');
    const r = await run(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(
      () => '',
      (e: { stdout?: string }) => e.stdout ?? 'tsc failed',
    );
    expect(r).toBe('');
  });
});
