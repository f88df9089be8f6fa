/**
 * Plugin loading through the real loader, from a user project laid out the way pnpm
 * installs it (isolated node_modules: a symlink into node_modules/.pnpm/, the @nxc/core peer
 * linked beside the package). The third-party fixture imports @nxc/core's built dist.
 */
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NxcError } from '../src/errors.js';
import { BUILTIN_FLAVOUR_PACKAGES, loadFlavours } from '../src/plugins.js';
import { loadProject } from '../src/project.js';
import { FLAVOUR_API_VERSION, type StartContext } from '../src/transposition.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'fixtures');
const coreDir = join(here, '..');

let base: string;
let n = 0;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'nxc-plugins-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Installs a fixture package into `project` as pnpm would (isolated layout). */
async function pnpmInstall(project: string, fixture: string): Promise<void> {
  const pkg = JSON.parse(await readFile(join(fixture, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  const store = join(project, 'node_modules/.pnpm', `${pkg.name}@${pkg.version}/node_modules`);
  await mkdir(store, { recursive: true });
  await cp(fixture, join(store, pkg.name), { recursive: true });
  await mkdir(join(store, '@nxc'), { recursive: true });
  await symlink(relative(join(store, '@nxc'), coreDir), join(store, '@nxc/core'));
  await symlink(
    relative(join(project, 'node_modules'), join(store, pkg.name)),
    join(project, 'node_modules', pkg.name),
  );
}

interface Setup {
  /** nxc.config.json content; null removes it (then package.json drives discovery). */
  config?: Record<string, unknown> | null;
  /** Extra devDependencies written into the project's package.json. */
  devDependencies?: Record<string, string>;
  /** Fixture packages to install: 'nxc-flavour-fake' or a folder of more-plugins/. */
  install?: string[];
  lockfile?: string | null;
}

async function project(setup: Setup = {}): Promise<string> {
  const root = join(base, `project${n++}`);
  await cp(join(fixtures, 'project-third-party'), root, { recursive: true });
  if (setup.config === null) await rm(join(root, 'nxc.config.json'));
  else if (setup.config) await writeFile(join(root, 'nxc.config.json'), JSON.stringify(setup.config));
  if (setup.devDependencies) {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
    pkg.devDependencies = { ...pkg.devDependencies, ...setup.devDependencies };
    await writeFile(join(root, 'package.json'), JSON.stringify(pkg));
  }
  await mkdir(join(root, 'node_modules'), { recursive: true });
  for (const name of setup.install ?? ['nxc-flavour-fake']) {
    await pnpmInstall(
      root,
      name === 'nxc-flavour-fake' ? join(fixtures, name) : join(fixtures, 'more-plugins', name),
    );
  }
  const lockfile = setup.lockfile === undefined ? 'pnpm-lock.yaml' : setup.lockfile;
  if (lockfile) await writeFile(join(root, lockfile), '');
  return root;
}

async function failure(p: Promise<unknown>): Promise<NxcError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NxcError);
  return error as NxcError;
}

describe('a third-party plugin (nxc-flavour-fake) in a pnpm project', () => {
  it('is not imported by loadProject, only by loadFlavours', async () => {
    const root = await project();
    const g = globalThis as { __nxcFakeFlavourImports?: number };
    const before = g.__nxcFakeFlavourImports ?? 0;
    const proj = await loadProject(root);
    expect(g.__nxcFakeFlavourImports ?? 0).toBe(before);
    await loadFlavours(proj);
    expect(g.__nxcFakeFlavourImports).toBeGreaterThanOrEqual(Math.max(before, 1));
  });

  it('loads through the real loader and deploys (records its calls)', async () => {
    const root = await project();
    const proj = await loadProject(root);
    expect(proj.config.plugins).toEqual(['nxc-flavour-fake']);
    const registry = await loadFlavours(proj);
    expect(registry.list().map((f) => f.name)).toEqual(['fake']);
    expect(registry.plugins).toEqual([
      {
        name: 'nxc-flavour-fake',
        version: '1.0.0',
        spec: 'nxc-flavour-fake',
        entry: join(root, 'node_modules/nxc-flavour-fake/index.js'),
      },
    ]);
    const fake = registry.get('fake');
    expect(fake.build).toEqual({ image: 'docker' });
    expect(fake.plugin.name).toBe('nxc-flavour-fake');
    expect(await fake.usable?.({ project: proj })).toBeUndefined();

    const deployer = await fake.deployer();
    const written: unknown[] = [];
    const ctx = {
      project: proj,
      composition: 'composition',
      flavour: 'fake',
      nodes: [
        { role: 'server', host: 'server' },
        { role: 'agent', host: 'agent1' },
      ],
      options: {},
      async writeDeployment(nodes: unknown) {
        written.push(nodes);
        return {} as never;
      },
    } as unknown as StartContext;
    const result = await deployer.start(ctx);
    expect(result.nodes.map((x) => `${x.host}@${x.address}`)).toEqual([
      'server@10.99.0.2',
      'agent1@10.99.0.3',
    ]);
    expect(written).toHaveLength(1);
    const log = (await readFile(join(root, 'fake-calls.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log).toEqual([
      { call: 'start', composition: 'composition', flavour: 'fake', nodes: ['server', 'agent1'] },
    ]);
  });

  it('is discovered from package.json when the config names no plugin', async () => {
    const root = await project({ config: null });
    const registry = await loadFlavours(await loadProject(root));
    expect(registry.list().map((f) => `${f.plugin.name}:${f.name}`)).toEqual(['nxc-flavour-fake:fake']);
  });

  it('several plugins: nested export conditions, main-only packages, relative paths', async () => {
    const root = await project({
      config: {
        plugins: ['nxc-flavour-fake', 'nxc-flavour-nested', './flavours/local-flavour.mjs', './vendor/dup'],
      },
      install: ['nxc-flavour-fake', 'nxc-flavour-nested'],
    });
    await mkdir(join(root, 'flavours'));
    await cp(join(fixtures, 'more-plugins/local-flavour.mjs'), join(root, 'flavours/local-flavour.mjs'));
    // A package directory named by path (here one whose flavour is renamed to avoid the conflict).
    await cp(join(fixtures, 'more-plugins/nxc-flavour-dup'), join(root, 'vendor/dup'), { recursive: true });
    const main = join(root, 'vendor/dup/main.js');
    await writeFile(main, (await readFile(main, 'utf8')).replace("name: 'fake'", "name: 'vendored'"));
    const registry = await loadFlavours(await loadProject(root));
    expect(registry.list().map((f) => `${f.plugin.name}:${f.name}`)).toEqual([
      'nxc-flavour-fake:fake',
      'nxc-flavour-nested:nested-a',
      'nxc-flavour-nested:nested-b',
      'local-flavour:local',
      'nxc-flavour-dup:vendored',
    ]);
    expect(registry.get('vendored').plugin).toMatchObject({
      version: '0.3.0',
      spec: './vendor/dup',
      entry: main,
    });
    expect(registry.get('nested-a').build).toEqual({ image: 'ramdisk', distribution: 'all-in-one' });
    expect(registry.has('local')).toBe(true);
    expect(registry.has('docker')).toBe(false);
  });

  it('a plugin listed twice is loaded once', async () => {
    const root = await project({ config: { plugins: ['nxc-flavour-fake', 'nxc-flavour-fake'] } });
    expect((await loadFlavours(await loadProject(root))).list()).toHaveLength(1);
  });
});

describe("nxc's own flavour packages (workspace builds), discovered from package.json", () => {
  it('all load, pass validation and provide the documented flavours', async () => {
    const root = join(base, `own${n++}`);
    const packages = [...new Set(Object.values(BUILTIN_FLAVOUR_PACKAGES))];
    await mkdir(join(root, 'node_modules/@nxc'), { recursive: true });
    await writeFile(
      join(root, 'package.json'),
      JSON.stringify({
        name: 'own',
        private: true,
        devDependencies: Object.fromEntries(packages.map((p) => [p, 'workspace:*'])),
      }),
    );
    await writeFile(join(root, 'pnpm-lock.yaml'), '');
    // pnpm links workspace dependencies to the package folders.
    for (const pkg of packages) {
      await symlink(
        join(coreDir, '../../plugins', pkg.replace('@nxc/', '')),
        join(root, 'node_modules', pkg),
      );
    }
    const registry = await loadFlavours(await loadProject(root));
    const provided = Object.fromEntries(registry.list().map((f) => [f.name, f.plugin.name]));
    expect(provided).toEqual(BUILTIN_FLAVOUR_PACKAGES);
  });
});

describe('a TypeScript config (nxc.config.ts) importing defineConfig from @nxc/core', () => {
  it('is transpiled with TypeScript and names the plugin', async () => {
    const root = await project({ config: null });
    await mkdir(join(root, 'node_modules/@nxc'), { recursive: true });
    await symlink(coreDir, join(root, 'node_modules/@nxc/core'));
    await writeFile(
      join(root, 'nxc.config.ts'),
      [
        "import { defineConfig, type NxcUserConfig } from '@nxc/core';",
        "const flavour: string = 'fake';",
        "const nix: NxcUserConfig['nix'] = { flags: ['--offline'] };",
        "export default defineConfig({ plugins: ['nxc-flavour-fake'], defaultFlavour: flavour, nix });",
        '',
      ].join('\n'),
    );
    const proj = await loadProject(root);
    expect(proj.configFile).toBe(join(root, 'nxc.config.ts'));
    expect(proj.config.defaultFlavour).toBe('fake');
    expect(proj.config.nix.flags).toEqual(['--offline']);
    expect((await loadFlavours(proj)).get('fake').plugin.name).toBe('nxc-flavour-fake');
    // The temporary transpiled module is gone.
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(root)).filter((f) => f.endsWith('.mjs'))).toEqual([]);
  });
});

describe('plugin errors: one line, the package named, how to fix', () => {
  it.each([
    ['pnpm-lock.yaml', 'pnpm add -D nxc-flavour-missing'],
    ['package-lock.json', 'npm install -D nxc-flavour-missing'],
    ['yarn.lock', 'yarn add -D nxc-flavour-missing'],
    [null, 'npm install -D nxc-flavour-missing'],
  ])('missing package (%s) -> install command', async (lockfile, command) => {
    const root = await project({ config: { plugins: ['nxc-flavour-missing'] }, install: [], lockfile });
    const error = await failure(loadFlavours(await loadProject(root)));
    expect(error.code).toBe('NXC_PLUGIN_MISSING');
    expect(error.message).toBe(
      `flavour plugin "nxc-flavour-missing" (listed in ${join(root, 'nxc.config.json')}) is not installed in ${root}`,
    );
    expect(error.hint).toBe(`install it: \`${command}\``);
  });

  it('discovered in package.json but not installed -> install the dependencies', async () => {
    const root = await project({ config: null, install: [] });
    const error = await failure(loadFlavours(await loadProject(root)));
    expect(error.code).toBe('NXC_PLUGIN_MISSING');
    expect(error.message).toMatch(
      /flavour plugin "nxc-flavour-fake" is listed in .*package.json but not installed/,
    );
    expect(error.hint).toMatch(/pnpm install/);
  });

  it('API version 99 -> names both versions', async () => {
    const root = await project({
      config: { plugins: ['nxc-flavour-api99'] },
      install: ['nxc-flavour-api99'],
    });
    const error = await failure(loadFlavours(await loadProject(root)));
    expect(error.code).toBe('NXC_PLUGIN_API');
    expect(error.message).toBe(
      `plugin "nxc-flavour-api99" 0.3.0 was written for flavour API 99, this nxc has flavour API ${FLAVOUR_API_VERSION}`,
    );
    expect(error.hint).toMatch(/upgrade nxc/);
  });

  it('bad shape -> the field', async () => {
    const root = await project({
      config: { plugins: ['nxc-flavour-badshape'] },
      install: ['nxc-flavour-badshape'],
    });
    const error = await failure(loadFlavours(await loadProject(root)));
    expect(error.code).toBe('NXC_PLUGIN_INVALID');
    expect(error.message).toMatch(
      /^plugin "nxc-flavour-badshape" is not a valid flavour plugin: flavours\[0\].build.image: invalid enum value/i,
    );
  });

  it('import failure -> the first line of the cause', async () => {
    const root = await project({
      config: { plugins: ['nxc-flavour-broken'] },
      install: ['nxc-flavour-broken'],
    });
    const error = await failure(loadFlavours(await loadProject(root)));
    expect(error.code).toBe('NXC_PLUGIN_INVALID');
    expect(error.message).toMatch(
      /^plugin "nxc-flavour-broken" failed to load: Cannot find package 'nxc-this-package-does-not-exist'/,
    );
    expect(error.message).not.toContain('\n');
  });

  it('two plugins claiming one flavour -> names both packages', async () => {
    const root = await project({
      config: { plugins: ['nxc-flavour-fake', 'nxc-flavour-dup'] },
      install: ['nxc-flavour-fake', 'nxc-flavour-dup'],
    });
    const error = await failure(loadFlavours(await loadProject(root)));
    expect(error.code).toBe('NXC_FLAVOUR_CONFLICT');
    expect(error.message).toBe('flavour "fake" is provided by both nxc-flavour-fake and nxc-flavour-dup');
  });

  it('the same package at two places -> says where each is', async () => {
    const root = await project({
      config: { plugins: ['nxc-flavour-dup', './vendor/dup'] },
      install: ['nxc-flavour-dup'],
    });
    await cp(join(fixtures, 'more-plugins/nxc-flavour-dup'), join(root, 'vendor/dup'), { recursive: true });
    const error = await failure(loadFlavours(await loadProject(root)));
    expect(error.code).toBe('NXC_FLAVOUR_CONFLICT');
    expect(error.message).toBe(
      `flavour "fake" is provided by both nxc-flavour-dup (nxc-flavour-dup -> ${join(root, 'node_modules/nxc-flavour-dup/main.js')}) and nxc-flavour-dup (./vendor/dup -> ${join(root, 'vendor/dup/main.js')})`,
    );
  });

  it('a relative path that does not exist', async () => {
    const root = await project({ config: { plugins: ['./nope.mjs'] }, install: [] });
    const error = await failure(loadFlavours(await loadProject(root)));
    expect(error.code).toBe('NXC_PLUGIN_MISSING');
    expect(error.message).toMatch(
      /plugin "\.\/nope.mjs" \(listed in .*nxc.config.json\) does not exist: .*\/nope.mjs$/,
    );
  });

  it.each([
    [
      'docker',
      /no plugin provides flavour "docker" \(installed: fake\)/,
      'flavour docker is in @nxc/flavour-docker: install it with `pnpm add -D @nxc/flavour-docker`, and add it to plugins in nxc.config.json',
    ],
    ['vm', /installed: fake/, /@nxc\/flavour-qemu/],
    ['vm-ramdisk', /installed: fake/, /@nxc\/flavour-qemu/],
    ['g5k-ramdisk', /installed: fake/, /@nxc\/flavour-g5k-ramdisk/],
    ['g5k-nfs-store', /installed: fake/, /@nxc\/flavour-g5k-nfs-store/],
    ['g5k-image', /installed: fake/, /@nxc\/flavour-g5k-image/],
    ['nspawn', /no plugin provides flavour "nspawn"/, /nxc flavours/],
    ['fak', /no plugin provides flavour "fak" \(installed: fake\)/, 'did you mean "fake"?'],
    ['vm_ramdisk', /installed: fake/, 'did you mean "vm-ramdisk"?'],
  ])(
    'unknown flavour %s -> lists installed flavours and the providing package',
    async (name, message, hint) => {
      const root = await project();
      const registry = await loadFlavours(await loadProject(root));
      let error: unknown;
      try {
        registry.get(name);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(NxcError);
      expect((error as NxcError).code).toBe('NXC_FLAVOUR_UNKNOWN');
      expect((error as NxcError).message).toMatch(message);
      if (typeof hint === 'string') expect((error as NxcError).hint).toBe(hint);
      else expect((error as NxcError).hint).toMatch(hint);
    },
  );

  it('no plugin at all', async () => {
    const root = await project({ config: null, install: [], devDependencies: {} });
    await writeFile(join(root, 'package.json'), '{"name": "bare"}');
    const registry = await loadFlavours(await loadProject(root));
    expect(registry.list()).toEqual([]);
    expect(() => registry.get('docker')).toThrow(
      /no plugin provides flavour "docker" \(no flavour plugin is installed\)/,
    );
  });
});
