import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planNixLibrary, renderFlavourIndex, syncNixLibrary } from './nixlib.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'nxc-nixlib-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('flavour index', () => {
  it('renders names, kinds and module paths, escaping Nix strings', () => {
    const text = renderFlavourIndex([
      {
        name: 'docker',
        image: 'docker',
        description: 'say "hi" ${x}',
        moduleRel: 'docker/docker.nix',
        plugin: '@nxc/flavour-docker',
      },
      { name: 'bare', image: 'ramdisk', description: '' },
    ]);
    expect(text).toContain('"docker" = {');
    expect(text).toContain('description = "say \\"hi\\" \\${x}";');
    expect(text).toContain('module = ./docker/docker.nix;');
    expect(text).toContain('module = null;');
  });
});

describe('planNixLibrary / syncNixLibrary', () => {
  it('copies the library and each flavour module folder, rewrites only what changed, drops stale files', async () => {
    const plugin = tmp();
    mkdirSync(join(plugin, 'nix'));
    writeFileSync(join(plugin, 'nix', 'foo.nix'), '{ ... }: { }\n');
    writeFileSync(join(plugin, 'nix', 'helper.nix'), '{ }\n');
    const out = join(tmp(), 'nixlib');
    const plan = await planNixLibrary([
      { name: 'foo', image: 'vm', description: 'Foo', nixModule: join(plugin, 'nix', 'foo.nix') },
    ]);
    expect([...plan.keys()]).toEqual(
      expect.arrayContaining([
        'flake.nix',
        'lib/compose.nix',
        'boot/nxc-boot.sh',
        'flavours/foo/foo.nix',
        'flavours/foo/helper.nix',
        'flavours/index.nix',
      ]),
    );
    expect(await syncNixLibrary(out, plan)).toBe(plan.size);
    expect(statSync(join(out, 'boot/nxc-boot.sh')).mode & 0o111).not.toBe(0);
    const mtime = statSync(join(out, 'flake.nix')).mtimeMs;
    expect(await syncNixLibrary(out, plan)).toBe(0);
    expect(statSync(join(out, 'flake.nix')).mtimeMs).toBe(mtime);
    expect(readFileSync(join(out, 'flavours/index.nix'), 'utf8')).toContain('module = ./foo/foo.nix;');
    // flavour uninstalled: its files go away
    const smaller = await planNixLibrary([]);
    expect(await syncNixLibrary(out, smaller)).toBe(3);
    expect(existsSync(join(out, 'flavours/foo/foo.nix'))).toBe(false);
  });

  it('a flavour whose module file is missing is an NxcError naming it', async () => {
    const plugin = tmp();
    await expect(
      planNixLibrary([
        {
          name: 'foo',
          image: 'vm',
          description: '',
          nixModule: join(plugin, 'nope.nix'),
          plugin: 'nxc-flavour-foo',
        },
      ]),
    ).rejects.toMatchObject({
      code: 'NXC_PLUGIN_INVALID',
      message: expect.stringContaining('flavour foo: its Nix module'),
    });
  });
});
