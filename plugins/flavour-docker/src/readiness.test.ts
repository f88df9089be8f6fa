import { describe, expect, it } from 'vitest';
import { LineSplitter, parseBootLine } from './readiness.js';

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
