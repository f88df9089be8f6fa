import { describe, expect, it } from 'vitest';
import { remoteCommand } from './shell-quote.js';

describe('remoteCommand', () => {
  it('builds sh -c lines with env', () => {
    expect(remoteCommand('echo $X | wc')).toBe(`sh -c 'echo $X | wc'`);
    expect(remoteCommand(['ls', '-l', 'a b'], { A: '1 2' })).toBe(`env 'A=1 2' ls -l 'a b'`);
    expect(() => remoteCommand([])).toThrow();
  });
});
