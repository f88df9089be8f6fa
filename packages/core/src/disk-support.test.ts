import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDisksFit, unsupportedDisks } from './disk-support.js';

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

describe('checkDisksFit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nxc-disks-fit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const TiB = 1024 ** 4;

  it('disks that fit in the free space of the folder: nothing to say', async () => {
    await expect(
      checkDisksFit(dir, [{ bytes: 64 * 1024 * 1024 }, { bytes: 40 * 1024 * 1024 }]),
    ).resolves.toBe(undefined);
    // no disk: not even the folder is looked at
    await expect(checkDisksFit(join(dir, 'missing'), [])).resolves.toBe(undefined);
  });

  it('more than is free: one line with the need and what is free, a hint, exit 3', async () => {
    const error = await checkDisksFit(dir, [{ bytes: 600 * TiB }, { bytes: 400 * TiB }]).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'NXC_FLAVOUR_UNUSABLE',
      exitCode: 3,
      hint: expect.stringMatching(/XDG_RUNTIME_DIR/),
    });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^nxc\\.disks: the 2 disks of this deployment need 1000\\.0 TiB but the file system of ${dir} has [\\d.]+ (bytes|KiB|MiB|GiB|TiB) free$`,
      ),
    );
  });
});
