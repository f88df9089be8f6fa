/**
 * Commands on a running deployment import only the plugin that started it (from its record),
 * not every installed plugin: a second plugin that leaves a marker when imported is not
 * imported by `nxc status` or `nxc exec` of a deployment of the fake flavour. (`nxc stop`
 * still asks every flavour for leftovers of crashed deployments, so it loads them all.)
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, composeInfo, fakeFlavour, makeProject, runNxc } from './helpers.js';

let dir: string;
const marker = () => path.join(dir, 'other-plugin-imported');

beforeAll(async () => {
  assertBuilt();
  dir = await makeProject(
    {
      'nxc.config.json': { plugins: [fakeFlavour, './other.mjs'] },
      'other.mjs': `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('./other-plugin-imported', import.meta.url), '');
export default {
  apiVersion: 2,
  name: 'other',
  flavours: [{ name: 'other', description: 'other', build: { image: 'docker' }, deployer: async () => ({}) }],
};
`,
      'ci.json': composeInfo({ roles_distribution: { client: 2 } }),
    },
    { 'composition::fake': 'ci.json' },
  );
});
afterAll(async () => {
  if (dir) await runNxc(dir, ['stop']);
  await rm(dir, { recursive: true, force: true });
});

describe('plugin loading on a running deployment', () => {
  it('start loads every plugin (it needs all their flags)', async () => {
    const r = await runNxc(dir, ['start']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(marker())).toBe(true);
    await rm(marker());
  });

  it.each([
    [['status']],
    [['status', '-C', 'composition::fake', '--json']],
    [['exec', 'server', '--', 'true']],
  ])('nxc %j imports only the plugin of the deployment', async (args) => {
    const r = await runNxc(dir, args);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(existsSync(marker())).toBe(false);
  });

  it('without a record (deleted), status still finds the flavour by loading every plugin', async () => {
    expect((await runNxc(dir, ['stop'])).code).toBe(0);
    expect((await runNxc(dir, ['start'])).code).toBe(0);
    await rm(marker());
    await rm(path.join(dir, 'deploy/composition::fake.record.json'));
    const r = await runNxc(dir, ['status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/client1/);
    expect(existsSync(marker())).toBe(true);
  });
});

describe('listing flavours reads plugin manifests', () => {
  let listed: string;
  const listedMarker = () => path.join(listed, 'listed/imported');
  beforeAll(async () => {
    listed = await makeProject({
      'nxc.config.json': { plugins: ['./listed'] },
      'listed/package.json': {
        name: 'listed',
        version: '1.0.0',
        type: 'module',
        exports: { '.': { import: './index.js' } },
        nxcPlugin: {
          apiVersion: 2,
          name: 'listed',
          flavours: {
            listed: {
              description: 'a flavour listed from its manifest',
              image: 'docker',
              options: ['speed'],
              flags: [{ flag: '--speed <n>', option: 'speed', type: 'number', description: 'how fast' }],
            },
          },
        },
      },
      'listed/index.js': `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('./imported', import.meta.url), '');
export default {
  apiVersion: 2,
  name: 'listed',
  flavours: [{
    name: 'listed',
    description: 'a flavour listed from its manifest',
    build: { image: 'docker' },
    options: { shape: { speed: {} }, safeParse: (v) => ({ success: true, data: v }) },
    flags: [{ flag: '--speed <n>', option: 'speed', type: 'number', description: 'how fast' }],
    usable: () => undefined,
    deployer: async () => ({}),
  }],
};
`,
    });
  });
  afterAll(async () => {
    if (listed) await rm(listed, { recursive: true, force: true });
  });

  it.each([
    [['flavours']],
    [['flavours', '--json']],
    [['start', '--help']],
    [['start', '-f', 'listed', '--help']],
  ])('nxc %j does not import a plugin that has a manifest', async (args) => {
    const r = await runNxc(listed, args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(args[0] === 'flavours' ? /a flavour listed from its manifest/ : /--speed <n>/);
    expect(existsSync(listedMarker())).toBe(false);
  });

  it('nxc flavours --check imports it (usable() is code)', async () => {
    const r = await runNxc(listed, ['flavours', '--check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/listed .* yes/);
    expect(existsSync(listedMarker())).toBe(true);
    await rm(listedMarker());
  });
});
