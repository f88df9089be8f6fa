import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeProject } from '@nxc/core';
import { type ComposeInfo, FLAVOUR_API_VERSION, type StartContext, silentReporter } from '@nxc/core/flavour';
import { afterEach, describe, expect, it } from 'vitest';
import plugin, { vmFlavour, vmRamdiskFlavour } from './index.js';
import { deploymentId } from './vm-spec.js';

const saved = process.env.NXC_QEMU;
afterEach(() => {
  if (saved === undefined) Reflect.deleteProperty(process.env, 'NXC_QEMU');
  else process.env.NXC_QEMU = saved;
});

describe('@nxc/flavour-qemu plugin', () => {
  it('declares vm-ramdisk and vm with their image kinds and Nix modules', () => {
    expect(plugin.apiVersion).toBe(FLAVOUR_API_VERSION);
    expect(plugin.flavours.map((f) => [f.name, f.build.image])).toEqual([
      ['vm-ramdisk', 'ramdisk'],
      ['vm', 'vm'],
    ]);
    expect(vmRamdiskFlavour.build.nixModule).toMatch(/flavour-qemu\/nix\/vm-ramdisk\.nix$/);
    expect(vmFlavour.build.nixModule).toMatch(/flavour-qemu\/nix\/vm\.nix$/);
  });

  it('is usable when QEMU is there, and says how to install it when it is not', async () => {
    const project = makeProject('/tmp', {
      plugins: [],
      composition: 'composition.nix',
      nix: { flags: [], overrideInputs: {} },
      flavourOptions: {},
    });
    expect(await vmFlavour.usable!({ project })).toBeUndefined();
    process.env.NXC_QEMU = '/nonexistent/qemu-system-x86_64';
    expect(await vmFlavour.usable!({ project })).toEqual({
      reason: '/nonexistent/qemu-system-x86_64 not found',
      hint: expect.stringContaining('apt-get install qemu-system-x86'),
    });
  });

  it('refuses a compose info without a kernel before creating anything', async () => {
    const root = mkdtempSync(join(tmpdir(), 'nxc-qemu-unit-'));
    try {
      const project = makeProject(root, {
        plugins: [],
        composition: 'composition.nix',
        nix: { flags: [], overrideInputs: {} },
        flavourOptions: {},
      });
      const info: ComposeInfo = {
        source: '/x/build/composition::vm-ramdisk',
        format: 'nxc',
        composition: 'composition',
        flavour: { name: 'vm-ramdisk', image: 'ramdisk' },
        roles: { a: { init: '/nix/store/a/init' } },
        all: { kernel: '/nonexistent/bzImage', initrd: '/nonexistent/initrd' },
        extra: {},
      };
      const writes: string[] = [];
      const ctx: StartContext = {
        project,
        composition: 'composition',
        flavour: 'vm-ramdisk',
        reporter: silentReporter,
        signal: new AbortController().signal,
        composeInfo: info,
        nodes: [{ role: 'a', host: 'a' }],
        identity: { privateKeyPath: '/dev/null', publicKey: 'ssh-ed25519 AAAA x' },
        wait: true,
        timeoutMs: 1000,
        options: {},
        writeDeployment: async () => {
          writes.push('deployment');
          throw new Error('must not be called');
        },
        saveState: async () => {
          writes.push('state');
        },
      };
      const mine = (e: string): boolean =>
        e.startsWith(`nxc-qemu-${deploymentId(root, 'composition', 'vm-ramdisk')}-`);
      const before = readdirSync(tmpdir()).filter(mine);
      const deployer = await vmRamdiskFlavour.deployer();
      await expect(deployer.start(ctx)).rejects.toMatchObject({
        code: 'NXC_COMPOSE_INFO',
        message: '/x/build/composition::vm-ramdisk: all.kernel /nonexistent/bzImage does not exist',
        hint: expect.stringContaining('nxc build -f vm-ramdisk'),
      });
      await expect(deployer.start({ ...ctx, options: { memory: 'lots' } })).rejects.toMatchObject({
        code: 'NXC_USAGE',
        message: expect.stringContaining('option memory'),
      });
      expect(writes).toEqual([]);
      expect(readdirSync(tmpdir()).filter(mine)).toEqual(before);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
