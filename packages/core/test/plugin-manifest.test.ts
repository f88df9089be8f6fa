/**
 * Plugin manifests (package.json `nxcPlugin`): listing reads them without importing the
 * plugin; importing a plugin whose manifest disagrees with its module fails with one
 * NXC_PLUGIN_INVALID line; plugins without a manifest are imported as before; nxc's own
 * plugins ship manifests equal to their modules.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NxcError } from '../src/errors.js';
import {
  BUILTIN_FLAVOUR_PACKAGES,
  type PluginManifest,
  describeFlavours,
  loadFlavour,
  loadFlavours,
  pluginManifest,
} from '../src/plugins.js';
import { loadProject } from '../src/project.js';
import type { FlavourPlugin } from '../src/transposition.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../../..');
let base: string;
let n = 0;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'nxc-manifest-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const MODULE = `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('./imported', import.meta.url), '');
export default {
  apiVersion: 2,
  name: 'mf',
  flavours: [{
    name: 'mf',
    description: 'manifest flavour',
    build: { image: 'docker', nixModule: new URL('./nix/mf.nix', import.meta.url).pathname },
    flags: [{ flag: '--speed <n>', option: 'speed', type: 'number', description: 'how fast' }],
    options: { shape: { speed: {} }, safeParse: (v) => ({ success: true, data: v }) },
    deployer: async () => ({}),
  }],
};
`;

const GOOD: PluginManifest = {
  apiVersion: 2,
  name: 'mf',
  flavours: {
    mf: {
      description: 'manifest flavour',
      image: 'docker',
      nixModule: 'nix/mf.nix',
      options: ['speed'],
      flags: [{ flag: '--speed <n>', option: 'speed', type: 'number', description: 'how fast' }],
    },
  },
};

/** A project whose one plugin is ./mf (a package folder, with `manifest` as its nxcPlugin). */
async function project(manifest: unknown): Promise<{ root: string; marker: string }> {
  const root = join(base, `p${n++}`);
  await mkdir(join(root, 'mf/nix'), { recursive: true });
  await writeFile(join(root, 'nxc.config.json'), JSON.stringify({ plugins: ['./mf'] }));
  await writeFile(
    join(root, 'mf/package.json'),
    JSON.stringify({
      name: 'mf',
      version: '1.0.0',
      type: 'module',
      exports: { '.': { import: './index.js' } },
      ...(manifest === undefined ? {} : { nxcPlugin: manifest }),
    }),
  );
  await writeFile(join(root, 'mf/index.js'), MODULE);
  await writeFile(join(root, 'mf/nix/mf.nix'), '{ ... }: { }\n');
  return { root, marker: join(root, 'mf/imported') };
}

async function failure(p: Promise<unknown>): Promise<NxcError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NxcError);
  return error as NxcError;
}

describe('a plugin with a manifest', () => {
  it('is described without being imported', async () => {
    const { root, marker } = await project(GOOD);
    const described = await describeFlavours(await loadProject(root));
    expect(existsSync(marker)).toBe(false);
    expect(described).toEqual([
      {
        name: 'mf',
        description: 'manifest flavour',
        build: { image: 'docker', nixModule: join(root, 'mf/nix/mf.nix') },
        options: ['speed'],
        flags: GOOD.flavours.mf?.flags,
        plugin: { name: 'mf', version: '1.0.0', spec: './mf', entry: join(root, 'mf/index.js') },
      },
    ]);
  });

  it('loads when imported (manifest equal to the module)', async () => {
    const { root, marker } = await project(GOOD);
    const registry = await loadFlavours(await loadProject(root));
    expect(existsSync(marker)).toBe(true);
    expect(registry.list().map((f) => f.name)).toEqual(['mf']);
  });

  it.each([
    [
      'description',
      { ...GOOD, flavours: { mf: { ...GOOD.flavours.mf, description: 'old' } } },
      /flavours\.mf\.description/,
    ],
    ['a flag', { ...GOOD, flavours: { mf: { ...GOOD.flavours.mf, flags: [] } } }, /flavours\.mf\.flags/],
    ['a flavour more', { ...GOOD, flavours: { ...GOOD.flavours, other: GOOD.flavours.mf } }, /flavours/],
    [
      'the Nix module',
      { ...GOOD, flavours: { mf: { ...GOOD.flavours.mf, nixModule: 'nix/x.nix' } } },
      /nixModule/,
    ],
  ])('a manifest that disagrees (%s) is NXC_PLUGIN_INVALID once imported', async (_what, manifest, at) => {
    const { root } = await project(manifest);
    const proj = await loadProject(root);
    const e = await failure(loadFlavour(proj, 'mf', './mf'));
    expect(e.code).toBe('NXC_PLUGIN_INVALID');
    expect(e.message).toMatch(
      /^plugin "mf": the manifest in its package.json \(nxcPlugin\) disagrees with its module at /,
    );
    expect(e.message).toMatch(at);
    expect(e.message).not.toMatch(/\n/);
  });

  it('an ill-formed manifest is NXC_PLUGIN_INVALID naming the field', async () => {
    const { root } = await project({ ...GOOD, flavours: { mf: { ...GOOD.flavours.mf, image: 'floppy' } } });
    const e = await failure(describeFlavours(await loadProject(root)));
    expect(e.code).toBe('NXC_PLUGIN_INVALID');
    expect(e.message).toMatch(/mf\/package\.json: nxcPlugin: .*image/);
  });

  it('without a manifest, describing imports the plugin (third-party plugins keep working)', async () => {
    const { root, marker } = await project(undefined);
    const described = await describeFlavours(await loadProject(root));
    expect(existsSync(marker)).toBe(true);
    expect(described.map((f) => [f.name, f.options, f.build.nixModule])).toEqual([
      ['mf', ['speed'], join(root, 'mf/nix/mf.nix')],
    ]);
  });

  it('pluginManifest() of the module is the manifest', async () => {
    const { root } = await project(GOOD);
    const mod = (await import(join(root, 'mf/index.js'))) as { default: FlavourPlugin };
    expect(pluginManifest(mod.default, join(root, 'mf'))).toEqual(GOOD);
  });
});

describe("nxc's own plugins", () => {
  it('ship manifests equal to their modules: described (no import) = loaded', async () => {
    const root = join(base, `own${n++}`);
    const packages = [...new Set(Object.values(BUILTIN_FLAVOUR_PACKAGES))];
    await mkdir(join(root, 'node_modules/@nxc'), { recursive: true });
    await writeFile(
      join(root, 'package.json'),
      JSON.stringify({
        name: 'own',
        private: true,
        devDependencies: Object.fromEntries(packages.map((p) => [p, '*'])),
      }),
    );
    for (const pkg of packages)
      await symlink(join(repo, 'plugins', pkg.replace('@nxc/', '')), join(root, 'node_modules', pkg));
    const proj = await loadProject(root);
    const described = await describeFlavours(proj);
    // importing checks every manifest against its module (NXC_PLUGIN_INVALID on drift)
    const loaded = (await loadFlavours(proj)).list();
    expect(described.map((f) => [f.name, f.description, f.build.image, f.flags ?? []])).toEqual(
      loaded.map((f) => [f.name, f.description, f.build.image, f.flags ?? []]),
    );
    expect(described.map((f) => f.build.nixModule && existsSync(f.build.nixModule))).toEqual(
      loaded.map(() => true),
    );
  });
});
