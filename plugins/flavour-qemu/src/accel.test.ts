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
