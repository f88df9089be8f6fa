import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NxcError } from './errors.js';
import { readMachineFile } from './machines.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nxc-m-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(text: string): Promise<string> {
  const file = join(dir, `m${Math.random().toString(36).slice(2)}`);
  await writeFile(file, text);
  return file;
}

async function failure(p: Promise<unknown>): Promise<NxcError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NxcError);
  expect((error as NxcError).code).toBe('NXC_MACHINES');
  return error as NxcError;
}

describe('readMachineFile', () => {
  it.each([
    ['one per line', 'a\nb\nc\n', ['a', 'b', 'c']],
    [
      'OAR_NODEFILE (one line per core)',
      'dahu-1.grenoble.grid5000.fr\n'.repeat(32) + 'dahu-2.grenoble.grid5000.fr\n'.repeat(32),
      ['dahu-1.grenoble.grid5000.fr', 'dahu-2.grenoble.grid5000.fr'],
    ],
    ['first-seen order kept', 'b\na\nb\nc\na\n', ['b', 'a', 'c']],
    [
      'blank lines, comments, spaces, CRLF',
      '# reserved\n\n  node-1  \r\nnode-2 # second\r\n\n',
      ['node-1', 'node-2'],
    ],
    ['no final newline', 'x', ['x']],
    ['IP addresses', '10.0.0.2\n10.0.0.3\n', ['10.0.0.2', '10.0.0.3']],
  ])('%s', async (_name, text, expected) => {
    expect(await readMachineFile(await put(text))).toEqual(expected);
  });

  it.each([
    ['empty', '', /lists no host/],
    ['only comments', '# a\n\n   \n', /lists no host/],
    ['two words on a line', 'a\nb c\n', /:2: "b c" is not one host name/],
  ])('%s -> error', async (_name, text, expected) => {
    const error = await failure(readMachineFile(await put(text)));
    expect(error.message).toMatch(expected);
    expect(error.hint).toMatch(/OAR_NODEFILE/);
  });

  it('missing', async () => {
    const error = await failure(readMachineFile(join(dir, 'nope')));
    expect(error.message).toMatch(/machine file .*nope does not exist/);
  });

  it('a directory', async () => {
    await mkdir(join(dir, 'sub'));
    const error = await failure(readMachineFile(join(dir, 'sub')));
    expect(error.message).toMatch(/is a directory/);
  });

  it('unreadable (a symlink loop: EACCES cannot be provoked as root)', async () => {
    const loop = join(dir, 'loop');
    await symlink(loop, loop);
    const error = await failure(readMachineFile(loop));
    expect(error.message).toMatch(/cannot read machine file .*loop \(ELOOP\)/);
  });
});
