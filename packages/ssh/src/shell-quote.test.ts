import { describe, expect, it } from 'vitest';
import { remoteCommand, shellQuote } from './shell-quote.js';

describe('shellQuote', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(shellQuote('abc-1.2/x')).toBe('abc-1.2/x');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's $HOME")).toBe(`'it'\\''s $HOME'`);
  });
  it('builds sh -c lines with env', () => {
    expect(remoteCommand('echo $X | wc')).toBe(`sh -c 'echo $X | wc'`);
    expect(remoteCommand(['ls', '-l', 'a b'], { A: '1 2' })).toBe(`env 'A=1 2' ls -l 'a b'`);
    expect(() => remoteCommand([])).toThrow();
  });
});
