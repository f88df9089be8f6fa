import { describe, expect, it } from 'vitest';
import { NxcError } from '../errors.js';
import { splitFlags } from './nix.js';

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
