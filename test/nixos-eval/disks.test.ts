/**
 * `nxc.disks` (per-role block devices) evaluated through nxc's `lib.compose` with nixpkgs'
 * real `lib`: valid declarations reach the compose info with ids and sizes in bytes, bad
 * sizes and duplicate ids stop the evaluation with one clear message.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Evaluated, NixEvalError, cleanup, evaluate, scratchDir } from './harness.js';

afterAll(cleanup);

function composition(name: string, disks: string): string {
  const file = join(scratchDir(), `${name}.nix`);
  writeFileSync(
    file,
    `{ ... }: { roles.node = { ... }: { nxc.disks = ${disks}; }; roles.other = { ... }: { }; }\n`,
  );
  return file;
}

describe('nxc.disks', () => {
  it('exports each role’s disks (default ids disk<i>, sizes in bytes) in the compose info', async () => {
    const file = composition(
      'valid',
      '[ { size = "4G"; id = "data"; } { size = "512M"; } { size = "1024"; } ]',
    );
    const out = (await evaluate({ composition: file, only: 'vm-ramdisk' })) as Record<string, Evaluated>;
    const roles = out['composition::vm-ramdisk']?.info.roles as Record<string, { disks?: unknown }>;
    expect(roles.node?.disks).toEqual([
      { id: 'data', size: '4G', bytes: 4 * 1024 ** 3 },
      { id: 'disk1', size: '512M', bytes: 512 * 1024 ** 2 },
      { id: 'disk2', size: '1024', bytes: 1024 },
    ]);
    expect(roles.other).not.toHaveProperty('disks');
  });

  it.each([
    ['4 GB', /role node: nxc.disks: disk disk0: size "4 GB" is not a size/],
    ['0G', /size "0G" is not a size/],
    ['G', /size "G" is not a size/],
    ['9000T', /size "9000T" is too large/],
  ])('refuses size %s', async (size, error) => {
    const file = composition(`bad-size-${size.replace(/\W/g, '')}`, `[ { size = "${size}"; } ]`);
    const failure = await evaluate({ composition: file, only: 'vm-ramdisk' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(NixEvalError);
    expect((failure as NixEvalError).stderr).toMatch(error);
  });

  it('refuses a duplicate id (explicit or default)', async () => {
    const file = composition('dup', '[ { size = "1G"; } { size = "1G"; id = "disk0"; } ]');
    const failure = await evaluate({ composition: file, only: 'vm-ramdisk' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(NixEvalError);
    expect((failure as NixEvalError).stderr).toMatch(
      /composition composition, role node: nxc.disks: disk id "disk0" is declared twice/,
    );
  });

  it('refuses an id the guest cannot see as a virtio serial', async () => {
    const file = composition('bad-id', '[ { size = "1G"; id = "a/b"; } ]');
    const failure = await evaluate({ composition: file, only: 'vm-ramdisk' }).catch((e: unknown) => e);
    expect((failure as NixEvalError).stderr).toMatch(/disk id "a\/b" is not valid/);
  });
});
