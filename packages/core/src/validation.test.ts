import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closest, formatFieldPath, formatZodError, readUserFile } from './validation.js';

describe('closest', () => {
  it.each([
    ['agnet', ['server', 'agent'], 'agent'],
    ['sever', ['server', 'agent'], 'server'],
    ['Server', ['server', 'agent'], 'server'],
    ['db', ['server', 'agent'], undefined],
    ['x', ['a', 'b'], 'a'],
    ['vm_ramdisk', ['vm-ramdisk', 'vm'], 'vm-ramdisk'],
    ['dokcer', ['docker', 'vm'], 'docker'],
    ['kubernetes', ['docker', 'vm'], undefined],
    ['anything', [], undefined],
  ])('%s in %j -> %s', (name, candidates, expected) => {
    expect(closest(name, candidates)).toBe(expected);
  });
});

describe('formatFieldPath', () => {
  it.each([
    [[], ''],
    [['roles', 'server', 'init'], 'roles.server.init'],
    [['flavours', 0, 'name'], 'flavours[0].name'],
    [['deployment', '172.20.0.2', 'host'], 'deployment["172.20.0.2"].host'],
    [['all', 'docker-compose-file'], 'all.docker-compose-file'],
    [['ssh_key.pub'], '["ssh_key.pub"]'],
  ] as const)('%j -> %s', (path, expected) => {
    expect(formatFieldPath(path)).toBe(expected);
  });
});

describe('formatZodError', () => {
  it.each([
    [z.object({ a: z.string() }), {}, 'a: missing (expected string)'],
    [z.object({ a: z.string() }), { a: 1 }, 'a: expected string, got number'],
    [z.object({ a: z.string() }).strict(), { a: 'x', b: 1, c: 2 }, 'unknown keys "b", "c"'],
    [
      z.object({ a: z.string(), b: z.number() }),
      { a: 1, b: 'x' },
      'a: expected string, got number (and 1 more problem)',
    ],
    [
      z.union([z.number(), z.object({ x: z.object({ y: z.string() }) })]),
      { x: { y: 1 } },
      'x.y: expected string, got number',
    ],
  ])('%#', (schema, value, expected) => {
    const result = schema.safeParse(value);
    expect(result.success).toBe(false);
    if (!result.success) expect(formatZodError(result.error)).toBe(expected);
  });
});

describe('readUserFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nxc-read-user-file-'));
  const opts = { code: 'NXC_MACHINES' as const, what: 'machine file', hint: 'the hint' };
  it('returns the text', async () => {
    writeFileSync(join(dir, 'ok'), 'node-1\n');
    expect(await readUserFile(join(dir, 'ok'), opts)).toBe('node-1\n');
  });
  it.each([
    ['missing', join(dir, 'nope'), /^machine file .*nope does not exist$/],
    ['a directory', dir, /^machine file .* is a directory$/],
  ])('%s: one line with the code and hint', async (_, file, message) => {
    await expect(readUserFile(file, opts)).rejects.toMatchObject({
      code: 'NXC_MACHINES',
      message: expect.stringMatching(message),
      hint: 'the hint',
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
});
