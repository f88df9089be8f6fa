import { describe, expect, it } from 'vitest';
import { forRole, parseQemuOptions } from './options.js';

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
});
