import { makeProject } from '@nxc/core';
import { resolveFlavourOptions } from '@nxc/core/flavour';
import { describe, expect, it } from 'vitest';
import { vmFlavour, vmRamdiskFlavour } from './index.js';
import { DEFAULT_MEMORY_MB, forRole, qemuOptionsSchema, ramdiskMemoryMb } from './options.js';

const project = (flavourOptions: Record<string, Record<string, unknown>> = {}) =>
  makeProject('/x', {
    plugins: [],
    composition: 'composition.nix',
    nix: { flags: [], overrideInputs: {} },
    flavourOptions,
  });

describe('qemu options', () => {
  it('has defaults and per-role values', () => {
    const o = qemuOptionsSchema.parse({ memory: { server: 512, default: 256 } });
    expect(o.accel).toBe('auto');
    expect(forRole(o.memory, 'server', 1024)).toBe(512);
    expect(forRole(o.memory, 'client', 1024)).toBe(256);
    expect(forRole(undefined, 'client', 1024)).toBe(1024);
    expect(forRole(3, 'x', 1)).toBe(3);
  });

  it('is validated by core: flags typed, config under flags, bad values one line naming the option', () => {
    const installed = [vmRamdiskFlavour, vmFlavour];
    const parsed = resolveFlavourOptions({
      project: project({ vm: { accel: 'tcg', cpus: 2 } }),
      flavour: vmFlavour,
      installed,
      flags: { '--accel': 'kvm', '--memory': '2048' },
    }) as { accel: string; memory: number; cpus: number };
    expect([parsed.accel, parsed.memory, parsed.cpus]).toEqual(['kvm', 2048, 2]);
    expect(() =>
      resolveFlavourOptions({
        project: project(),
        flavour: vmRamdiskFlavour,
        installed,
        flags: { '--accel': 'xen' },
      }),
    ).toThrowError(/^flavour vm-ramdisk: option accel: .*'kvm'.* \(in --accel\)$/);
    expect(() =>
      resolveFlavourOptions({ project: project({ vm: { memory: -1 } }), flavour: vmFlavour, installed }),
    ).toThrowError(/option memory/);
  });
  it('sizes a ramdisk guest from its initrd: three times the initrd plus headroom, in 256 MiB steps', () => {
    const MiB = 1024 * 1024;
    // the demo's initrd (60 MiB): the default is enough
    expect(ramdiskMemoryMb(60 * MiB)).toBeLessThanOrEqual(DEFAULT_MEMORY_MB);
    // the padded test image (1 GiB of random bytes in the store): 1048 MiB of initrd
    expect(ramdiskMemoryMb(1_099_140_488)).toBe(3840);
    expect(ramdiskMemoryMb(1024 * MiB) % 256).toBe(0);
    expect(ramdiskMemoryMb(1024 * MiB)).toBeGreaterThanOrEqual(3 * 1024);
  });
});
