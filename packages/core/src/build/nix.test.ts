import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NxcError } from '../errors.js';
import { checkNix, splitFlags } from './nix.js';

describe('splitFlags', () => {
  it('splits like a shell, keeping empty quoted arguments', () => {
    expect(splitFlags("--option substituters '' --impure")).toEqual([
      '--option',
      'substituters',
      '',
      '--impure',
    ]);
    expect(splitFlags(`--option extra-substituters "https://a https://b"`)).toEqual([
      '--option',
      'extra-substituters',
      'https://a https://b',
    ]);
    expect(splitFlags('  --a\\ b  ')).toEqual(['--a b']);
    expect(splitFlags('')).toEqual([]);
  });
  it('refuses an unterminated quote with a usage error', () => {
    expect(() => splitFlags("--option x 'y")).toThrow(NxcError);
  });
});

describe('checkNix version cache between processes', () => {
  it('asks each binary its version once, and again when the binary changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nxc-nix-cache-'));
    const calls = join(dir, 'calls');
    const nix = join(dir, 'nix');
    const script = (version: string) =>
      writeFileSync(nix, `#!/bin/sh\necho x >> ${calls}\necho "nix (Nix) ${version}"\n`, { mode: 0o755 });
    const link = (name: string) => {
      mkdirSync(join(dir, name));
      symlinkSync(nix, join(dir, name, 'nix'));
      return join(dir, name, 'nix');
    };
    const before = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = join(dir, 'cache');
    try {
      script('2.18.1');
      expect(await checkNix(nix)).toBe('2.18.1');
      // another name for the same binary (a new process would not have the in-memory cache)
      expect(await checkNix(link('a'))).toBe('2.18.1');
      expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(1);
      expect(readFileSync(join(dir, 'cache/nxc/nix-version.json'), 'utf8')).toContain('2.18.1');
      // an upgraded binary (other size and mtime) is asked again
      script('2.24.10');
      expect(await checkNix(link('b'))).toBe('2.24.10');
      expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(2);
      // a too old one is refused, and refused again next time (never cached)
      script('2.3');
      await expect(checkNix(link('c'))).rejects.toThrow(/too old/);
      await expect(checkNix(link('d'))).rejects.toThrow(/too old/);
      expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(4);
    } finally {
      if (before === undefined) Reflect.deleteProperty(process.env, 'XDG_CACHE_HOME');
      else process.env.XDG_CACHE_HOME = before;
    }
  });
});
