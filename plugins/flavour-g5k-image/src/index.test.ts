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

describe('@nxc/flavour-g5k-image plugin', () => {
  it('declares the current API version and its package name', () => {
    expect(plugin.apiVersion).toBe(FLAVOUR_API_VERSION);
    expect(plugin.name).toBe(pkg.name);
    expect(pkg.files).toContain('nix');
  });

  it('provides g5k-image as an all-in-one tarball image with a shipped NixOS module', () => {
    expect(plugin.flavours.map((f) => f.name)).toEqual(['g5k-image']);
    const [flavour] = plugin.flavours;
    expect(flavour?.description).toMatch(/\S/);
    expect(flavour?.build).toMatchObject({ image: 'tarball', distribution: 'all-in-one' });
    const module = flavour?.build.nixModule ?? '';
    expect(isAbsolute(module)).toBe(true);
    expect(module.endsWith('/nix/g5k-image.nix')).toBe(true);
    expect(existsSync(module)).toBe(true);
  });

  it('is usable only with kadeploy3 and oarstat on PATH inside an OAR job (or the config options replacing them)', async () => {
    const flavour = plugin.flavours[0]!;
    const saved = { ...process.env };
    const noTools = await mkdtemp(join(tmpdir(), 'nxc-no-kadeploy-'));
    const withOptions = (o: Record<string, unknown>) =>
      ({ project: { config: { flavourOptions: { 'g5k-image': o } } } }) as never;
    try {
      process.env.PATH = noTools;
      process.env.OAR_JOB_ID = '4242';
      const problem = await flavour.usable?.(withOptions({}));
      expect(problem?.reason).toBe(
        "kadeploy3 is not on PATH: g5k-image deploys with Kadeploy, which Grid'5000 frontends have",
      );
      expect(problem?.hint).toMatch(/frontend/);
      const kadeploy = join(noTools, 'my-kadeploy');
      await writeFile(kadeploy, '#!/bin/sh\n', { mode: 0o755 });
      await expect(flavour.usable?.(withOptions({ kadeploy, skipOarCheck: true }))).resolves.toBeUndefined();
      expect((await flavour.usable?.(withOptions({ kadeploy })))?.reason).toMatch(/^oarstat is not on PATH/);
    } finally {
      process.env = saved;
      await rm(noTools, { recursive: true, force: true });
    }
  });

  it('loads its deploy side on demand (start, stop, status, transport)', async () => {
    const flavour = plugin.flavours[0]!;
    const deployer = await flavour.deployer();
    for (const m of ['start', 'stop', 'status', 'transport'] as const)
      expect(typeof deployer[m]).toBe('function');
  });
});
