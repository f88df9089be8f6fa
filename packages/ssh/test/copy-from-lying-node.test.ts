/**
 * copyFrom against a node whose SFTP server lies (a compromised node): names with `..`, `/`,
 * absolute names, links to /etc, set-uid modes. Nothing may be written outside the
 * destination, no link created, and a refused copy leaves nothing behind.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FakeEntry, useLyingNode } from './lying-sftp-server.js';

const lying = useLyingNode('evil');
const node = (tree: Record<string, FakeEntry>) => lying.node(tree);

const file = (content: string, mode?: number): FakeEntry => ({
  kind: 'file',
  content,
  ...(mode ? { mode } : {}),
});
const dir = (...entries: [string, FakeEntry][]): FakeEntry => ({ kind: 'dir', entries });

/** Every path under `root` (relative), links marked. */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string): void => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const st = lstatSync(full);
      out.push(`${prefix}${name}${st.isSymbolicLink() ? ' -> link' : st.isDirectory() ? '/' : ''}`);
      if (st.isDirectory() && !st.isSymbolicLink()) walk(full, `${prefix}${name}/`);
    }
  };
  walk(root, '');
  return out;
}

describe('SFTP copyFrom from a lying node', () => {
  it.each([
    ['../../pwned.txt', '../../pwned.txt'],
    ['a/../../pwned.txt', 'a/../../pwned.txt'],
    ['an absolute name', '/tmp/nxc-pwned-abs.txt'],
    ['a name with a slash', 'sub/pwned.txt'],
  ])('refuses %s: nothing outside, nothing inside', async (_what, name) => {
    const t = await node({
      '/data': dir(['ok.txt', file('fine\n')], [name, file('pwned\n')], ['later.txt', file('x')]),
    });
    const area = mkdtempSync(join(lying.work(), 'area-'));
    const dest = join(area, 'out', 'deep', 'data');
    const error = await t.copyFrom('evil', '/data', dest).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'NXC_NODE_FAILED',
      message: expect.stringContaining(
        `sent an unsafe file name ${JSON.stringify(name)} while copying /data`,
      ),
    });
    expect((error as Error).message).not.toContain('\n');
    // the only thing left is the destination's parent, empty
    expect(listing(area)).toEqual(['out/', 'out/deep/']);
    expect(() => statSync('/tmp/nxc-pwned-abs.txt')).toThrow();
  });

  it('does not create or follow links (a link to /etc, a link then a file through it)', async () => {
    const t = await node({
      '/data': dir(
        ['etc', { kind: 'link', target: '/etc' }],
        ['up', { kind: 'link', target: '../../..' }],
        ['keep.txt', file('kept\n')],
        ['sub', dir(['inner.txt', file('inner\n')])],
      ),
    });
    const area = mkdtempSync(join(lying.work(), 'area-'));
    const dest = join(area, 'data');
    await t.copyFrom('evil', '/data', dest);
    expect(listing(area)).toEqual(['data/', 'data/keep.txt', 'data/sub/', 'data/sub/inner.txt']);
    expect(readFileSync(join(dest, 'sub', 'inner.txt'), 'utf8')).toBe('inner\n');
    // the links were not followed on the node either
    expect(lying.server()?.opened.sort()).toEqual(['/data/keep.txt', '/data/sub/inner.txt']);
  });

  it('drops set-uid, set-gid and sticky bits, keeps the rest of the mode', async () => {
    const t = await node({
      '/data': dir(['suid', file('#!/bin/sh\n', 0o6755)], ['ro.txt', file('r', 0o444)]),
    });
    const dest = join(mkdtempSync(join(lying.work(), 'area-')), 'data');
    await t.copyFrom('evil', '/data', dest);
    expect(statSync(join(dest, 'suid')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(dest, 'ro.txt')).mode & 0o7777).toBe(0o644);
  });

  it('replaces an existing destination and leaves no scratch folder', async () => {
    const t = await node({ '/data': dir(['new.txt', file('new\n')]) });
    const area = mkdtempSync(join(lying.work(), 'area-'));
    const dest = join(area, 'data');
    execFileSync('mkdir', ['-p', join(dest, 'old')]);
    await t.copyFrom('evil', '/data', dest);
    expect(listing(area)).toEqual(['data/', 'data/new.txt']);
  });
});
