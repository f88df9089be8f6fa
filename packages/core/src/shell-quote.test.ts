import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from './shell-quote.js';

const sh = (script: string) => execFileSync('sh', ['-c', script], { encoding: 'utf8' });

describe('shellQuote', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(shellQuote('abc-1.2/x')).toBe('abc-1.2/x');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's $HOME")).toBe(`'it'\\''s $HOME'`);
  });

  it('quotes anything so that sh gives it back unchanged', () => {
    for (const s of [
      "it's",
      'a b',
      '$(rm -rf /)',
      '"; echo x',
      '',
      "''",
      'ünï\ncode',
      '*',
      '~',
      'a;b',
      '-n',
    ]) {
      expect(sh(`printf %s ${shellQuote(s)}`)).toBe(s);
    }
  });
});
