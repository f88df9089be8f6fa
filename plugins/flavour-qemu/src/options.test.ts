import { describe, expect, it } from 'vitest';
import { DEFAULT_MEMORY_MB, forRole, parseQemuOptions, ramdiskMemoryMb } from './options.js';

describe('qemu options', () => {
  it('has defaults and per-role values', () => {
    const o = parseQemuOptions('vm', { memory: { server: 512, default: 256 } });
    expect(o.accel).toBe('auto');
    expect(forRole(o.memory, 'server', 1024)).toBe(512);
    expect(forRole(o.memory, 'client', 1024)).toBe(256);
    expect(forRole(undefined, 'client', 1024)).toBe(1024);
    expect(forRole(3, 'x', 1)).toBe(3);
  });
  it('refuses bad values with one line naming the option', () => {
    expect(() => parseQemuOptions('vm-ramdisk', { accel: 'xen' })).toThrowError(
      /flavour vm-ramdisk: option accel:/,
    );
    expect(() => parseQemuOptions('vm', { memory: -1 })).toThrowError(/option memory/);
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
