import { describe, expect, it } from 'vitest';
import { chooseAccel, probeBootSector, runProbe } from './accel.js';
import { qemuBinary } from './qemu-binary.js';

describe('accelerator choice', () => {
  it('the probe guest really runs under TCG (exit through isa-debug-exit)', async () => {
    const qemu = qemuBinary();
    expect(qemu, 'qemu-system-x86_64 must be installed (apt-get install qemu-system-x86)').toBeDefined();
    expect(probeBootSector().readUInt16LE(510)).toBe(0xaa55);
    const r = await runProbe(qemu!, 'tcg', 10_000);
    expect(r).toEqual({ ok: true, detail: 'tcg ran a probe guest' });
    const hang = await runProbe(qemu!, 'tcg', 1);
    expect(hang.ok).toBe(false);
  });
  it('honours --accel and refuses unknown values', async () => {
    await expect(chooseAccel('/bin/false', 'tcg')).resolves.toEqual({
      accel: 'tcg',
      reason: 'chosen with --accel',
    });
    await expect(chooseAccel('/bin/false', 'xen')).rejects.toMatchObject({ code: 'NXC_USAGE' });
  });
});

describe('accelerator cache', () => {
  it('probes once and remembers the verdict per QEMU binary', async () => {
    const { mkdtempSync, readFileSync, rmSync, existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'nxc-accel-cache-'));
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = dir;
    try {
      const { vi } = await import('vitest');
      vi.resetModules();
      const fresh = await import('./accel.js');
      const first = await fresh.chooseAccel(qemuBinary()!, undefined, 3000);
      expect(['kvm', 'tcg']).toContain(first.accel);
      const file = join(dir, 'nxc', 'accel.json');
      const noKvm = !existsSync('/dev/kvm');
      if (!noKvm) expect(JSON.parse(readFileSync(file, 'utf8')).choice).toEqual(first);
      vi.resetModules();
      const again = await import('./accel.js');
      const t0 = Date.now();
      const second = await again.chooseAccel(qemuBinary()!, undefined, 3000);
      expect(second.accel).toBe(first.accel);
      expect(Date.now() - t0).toBeLessThan(500);
    } finally {
      if (saved === undefined) Reflect.deleteProperty(process.env, 'XDG_CACHE_HOME');
      else process.env.XDG_CACHE_HOME = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
