import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineSplitter, initMayBeSystemd, parseBootLine } from './readiness.js';

describe('boot contract lines', () => {
  it('recognizes the ready and boot error lines', () => {
    expect(parseBootLine('NXC_READY server')).toEqual({ kind: 'ready', host: 'server' });
    expect(parseBootLine('[  3.1] nxc: NXC_READY client2')).toEqual({ kind: 'ready', host: 'client2' });
    expect(parseBootLine('NXC_BOOT_ERROR no entry for 172.18.0.9')).toEqual({
      kind: 'error',
      reason: 'no entry for 172.18.0.9',
    });
    expect(parseBootLine('NXC_BOOT_ERROR')).toEqual({ kind: 'error', reason: 'unknown boot error' });
    expect(parseBootLine('starting httpd')).toBeUndefined();
    expect(parseBootLine('XNXC_READY server')).toBeUndefined();
  });

  it('splits chunks into lines across chunk boundaries', () => {
    const s = new LineSplitter();
    expect(s.push('a\nb')).toEqual(['a']);
    expect(s.push('c\r\nd\n')).toEqual(['bc', 'd']);
    expect(s.push('tail')).toEqual([]);
    expect(s.flush()).toEqual(['tail']);
    expect(s.flush()).toEqual([]);
  });
});

describe('which nodes need the ready file polled', () => {
  it('polls systemd systems and unknown ones, not the others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nxc-readiness-'));
    try {
      const runner = join(dir, 'system-runner');
      const nixos = join(dir, 'system-nixos');
      mkdirSync(runner);
      mkdirSync(nixos);
      writeFileSync(join(runner, 'init'), '#!/bin/sh\n');
      symlinkSync('/nix/store/x-systemd', join(nixos, 'systemd'));
      expect(initMayBeSystemd(runner)).toBe(false);
      // a dangling link counts: the store path is the engine's, the link is what NixOS has
      expect(initMayBeSystemd(nixos)).toBe(true);
      expect(initMayBeSystemd(undefined)).toBe(true);
      expect(initMayBeSystemd(join(dir, 'not-here'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
