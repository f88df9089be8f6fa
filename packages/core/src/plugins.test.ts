import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_FLAVOUR_PACKAGES, installCommand, isFlavourPackageName, loadFlavours } from './plugins.js';
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
