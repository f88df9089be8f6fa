import { describe, expect, it } from 'vitest';
import { unsupportedDisks } from './disk-support.js';

describe('unsupportedDisks', () => {
  const nodes = [{ role: 'client' }, { role: 'storage' }];
  const count = (r: string) => (r === 'storage' ? 2 : 0);

  it('a flavour with disk support, or no started role with disks: nothing to say', () => {
    expect(unsupportedDisks({ name: 'docker', disks: true }, nodes, count)).toBeUndefined();
    expect(unsupportedDisks({ name: 'g5k-ramdisk' }, [{ role: 'client' }], count)).toBeUndefined();
  });

  it('otherwise one line naming the flavour and the role, a hint, exit 3', () => {
    const error = unsupportedDisks({ name: 'g5k-ramdisk' }, nodes, count);
    expect(error?.message).toBe(
      'flavour g5k-ramdisk does not support nxc.disks (role storage declares disks)',
    );
    expect(error?.hint).toMatch(/remove nxc\.disks/);
    expect(error?.exitCode).toBe(3);
  });
});
