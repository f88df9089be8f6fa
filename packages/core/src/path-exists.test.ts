import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNxcError } from './errors.js';
import { pathExists } from './path-exists.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nxc-path-exists-'));
  await writeFile(join(dir, 'file'), 'x');
  await mkdir(join(dir, 'folder'));
  await symlink(join(dir, 'missing'), join(dir, 'dangling'));
  await symlink(join(dir, 'loop'), join(dir, 'loop'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pathExists', () => {
  it('is true for files and folders, false for missing paths and paths through a file', async () => {
    expect(await pathExists(join(dir, 'file'))).toBe(true);
    expect(await pathExists(join(dir, 'folder'))).toBe(true);
    expect(await pathExists(join(dir, 'missing'))).toBe(false);
    expect(await pathExists(join(dir, 'file', 'below'))).toBe(false);
  });

  it('follows symbolic links unless told not to', async () => {
    expect(await pathExists(join(dir, 'dangling'))).toBe(false);
    expect(await pathExists(join(dir, 'dangling'), { followSymlinks: false })).toBe(true);
  });

  it('says it cannot tell (NXC_IO, naming the path) instead of answering no', async () => {
    const error = await pathExists(join(dir, 'loop')).catch((e: unknown) => e);
    expect(isNxcError(error) && error.code).toBe('NXC_IO');
    expect((error as Error).message).toMatch(/cannot tell whether .*loop exists: ELOOP/);
  });
});
