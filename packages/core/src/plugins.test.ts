import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUILTIN_FLAVOUR_PACKAGES,
  installCommand,
  isFlavourPackageName,
  loadFlavour,
  loadFlavours,
} from './plugins.js';
import { makeProject } from './project.js';

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'nxc-pm-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('installCommand', () => {
  it.each([
    [{ 'pnpm-lock.yaml': '' }, 'pnpm add -D x'],
    [{ 'yarn.lock': '' }, 'yarn add -D x'],
    [{ 'package-lock.json': '{}' }, 'npm install -D x'],
    [{ 'npm-shrinkwrap.json': '{}' }, 'npm install -D x'],
    [{ 'bun.lockb': '' }, 'bun add -d x'],
    [{ 'bun.lock': '' }, 'bun add -d x'],
    [{ 'package.json': '{"packageManager": "pnpm@10.0.0"}' }, 'pnpm add -D x'],
    [{ 'package.json': '{"packageManager": "yarn@4.1.0"}' }, 'yarn add -D x'],
    [{ 'package.json': '{}' }, 'npm install -D x'],
    [{}, 'npm install -D x'],
  ])('%j -> %s', async (files, expected) => {
    const dir = await mkdtemp(join(base, 'p-'));
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    expect(await installCommand(dir, 'x')).toBe(expected);
  });

  it('finds the lockfile of an enclosing workspace', async () => {
    const dir = await mkdtemp(join(base, 'ws-'));
    await writeFile(join(dir, 'pnpm-lock.yaml'), '');
    await mkdir(join(dir, 'examples/demo'), { recursive: true });
    expect(await installCommand(join(dir, 'examples/demo'), '@nxc/flavour-docker')).toBe(
      'pnpm add -D @nxc/flavour-docker',
    );
  });
});

describe('isFlavourPackageName (package.json discovery)', () => {
  it.each([
    ['@nxc/flavour-docker', true],
    ['nxc-flavour-foo', true],
    ['@acme/nxc-flavour-bar', true],
    ['@nxc/core', false],
    ['@nxc/cli', false],
    ['flavour-docker', false],
    ['my-nxc-flavour-x', false],
  ])('%s -> %s', (name, expected) => {
    expect(isFlavourPackageName(name)).toBe(expected);
  });

  it('every built-in flavour package matches', () => {
    for (const pkg of Object.values(BUILTIN_FLAVOUR_PACKAGES)) expect(isFlavourPackageName(pkg)).toBe(true);
  });
});

describe('loadFlavours on a shared machine', () => {
  it("does not import another user's package found in a parent folder's node_modules", async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (to chown files to nobody)');
    // bob's /tmp/node_modules/nxc-flavour-x, alice's project /tmp/alice/exp names it without installing it
    const shared = await mkdtemp(join(base, 'shared-'));
    const pkg = join(shared, 'node_modules', 'nxc-flavour-x');
    const marker = join(shared, 'RAN');
    await mkdir(pkg, { recursive: true });
    await writeFile(
      join(pkg, 'package.json'),
      '{"name": "nxc-flavour-x", "type": "module", "main": "index.js"}',
    );
    await writeFile(
      join(pkg, 'index.js'),
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default {};\n`,
    );
    for (const p of [join(shared, 'node_modules'), pkg, join(pkg, 'package.json'), join(pkg, 'index.js')])
      await chown(p, 65534, 65534);
    await mkdir(join(shared, 'alice', 'exp'), { recursive: true });
    const project = makeProject(join(shared, 'alice', 'exp'), {
      plugins: ['nxc-flavour-x'],
      composition: 'composition.nix',
      nix: { flags: [], overrideInputs: {} },
      flavourOptions: {},
    });
    await expect(loadFlavours(project)).rejects.toMatchObject({
      code: 'NXC_PLUGIN_INVALID',
      message: expect.stringMatching(
        /^plugin "nxc-flavour-x": .*index\.js belongs to user nobody \(uid 65534\): nxc does not load code another user can write/,
      ),
    });
    expect(existsSync(marker)).toBe(false);
  });
});

describe('loadFlavour (commands on a running deployment)', () => {
  /** A project with plugins ./alpha.mjs (flavour alpha) and ./beta.mjs (beta); each import leaves a marker. */
  async function twoPlugins() {
    const dir = await mkdtemp(join(base, 'two-'));
    const markers = join(dir, 'imported');
    await mkdir(markers);
    for (const name of ['alpha', 'beta']) {
      await writeFile(
        join(dir, `${name}.mjs`),
        `import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(join(markers, name))}, '');
export default {
  apiVersion: 2,
  name: '${name}-plugin',
  flavours: [{ name: '${name}', description: '${name}', build: { image: 'docker' }, deployer: async () => ({}) }],
};
`,
      );
    }
    const project = makeProject(dir, {
      plugins: ['./alpha.mjs', './beta.mjs'],
      composition: 'composition.nix',
      nix: { flags: [], overrideInputs: {} },
      flavourOptions: {},
    });
    return { project, imported: async () => (await readdir(markers)).sort() };
  }

  it('imports only the plugin that started the deployment', async () => {
    const { project, imported } = await twoPlugins();
    const flavour = await loadFlavour(project, 'beta', './beta.mjs');
    expect(flavour.name).toBe('beta');
    expect(flavour.plugin.spec).toBe('./beta.mjs');
    expect(await imported()).toEqual(['beta']);
  });

  it('imports every plugin when the recorded one no longer provides the flavour', async () => {
    const { project, imported } = await twoPlugins();
    const flavour = await loadFlavour(project, 'beta', './alpha.mjs');
    expect(flavour.plugin.spec).toBe('./beta.mjs');
    expect(await imported()).toEqual(['alpha', 'beta']);
  });

  it('imports every plugin when the recorded one is no longer listed, or none is known', async () => {
    for (const spec of ['./gone.mjs', undefined]) {
      const { project, imported } = await twoPlugins();
      expect((await loadFlavour(project, 'alpha', spec)).plugin.spec).toBe('./alpha.mjs');
      expect(await imported()).toEqual(['alpha', 'beta']);
    }
  });

  it('an unknown flavour is the usual error', async () => {
    const { project } = await twoPlugins();
    await expect(loadFlavour(project, 'gamma', './alpha.mjs')).rejects.toMatchObject({
      code: 'NXC_FLAVOUR_UNKNOWN',
    });
  });
});
