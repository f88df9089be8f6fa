import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { FLAVOUR_API_VERSION } from '@nxc/core/flavour';
import { describe, expect, it } from 'vitest';
import plugin from './index.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
  files: string[];
};

describe('@nxc/flavour-g5k-ramdisk plugin', () => {
  it('declares the current API version and its package name', () => {
    expect(plugin.apiVersion).toBe(FLAVOUR_API_VERSION);
    expect(plugin.name).toBe(pkg.name);
    expect(pkg.files).toContain('nix');
  });

  it('provides g5k-ramdisk as an all-in-one ramdisk image with a shipped NixOS module', () => {
    expect(plugin.flavours.map((f) => f.name)).toEqual(['g5k-ramdisk']);
    const [flavour] = plugin.flavours;
    expect(flavour?.description).toMatch(/\S/);
    expect(flavour?.build).toMatchObject({ image: 'ramdisk', distribution: 'all-in-one' });
    const module = flavour?.build.nixModule ?? '';
    expect(isAbsolute(module)).toBe(true);
    expect(module.endsWith('/nix/g5k-ramdisk.nix')).toBe(true);
    expect(existsSync(module)).toBe(true);
  });

  it('is usable only inside an OAR job or on a frontend (oarstat on PATH), and says how to get there', async () => {
    const flavour = plugin.flavours[0]!;
    const saved = { ...process.env };
    const noTools = await mkdtemp(join(tmpdir(), 'nxc-no-oar-'));
    try {
      process.env.PATH = noTools;
      Reflect.deleteProperty(process.env, 'OAR_NODEFILE');
      Reflect.deleteProperty(process.env, 'OAR_NODE_FILE');
      const problem = await flavour.usable?.({} as never);
      expect(problem?.reason).toBe(
        "not on a Grid'5000 frontend (no oarstat on PATH) nor inside an OAR job ($OAR_NODEFILE is not set)",
      );
      expect(problem?.hint).toMatch(/oarsub -I/);
      process.env.OAR_NODEFILE = '/var/lib/oar/4242';
      await expect(flavour.usable?.({} as never)).resolves.toBeUndefined();
    } finally {
      process.env = saved;
      await rm(noTools, { recursive: true, force: true });
    }
  });

  it('loads its deploy side on demand (start, stop, status, transport)', async () => {
    const flavour = plugin.flavours[0]!;
    const deployer = await flavour.deployer();
    expect(typeof deployer.start).toBe('function');
    expect(typeof deployer.stop).toBe('function');
    expect(typeof deployer.status).toBe('function');
    expect(typeof deployer.transport).toBe('function');
  });
});
