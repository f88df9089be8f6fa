import { describe, expect, it } from 'vitest';
import { keyForChar, pythonRegex } from './keys.js';

describe('keyForChar (send_chars, US keyboard)', () => {
  it('letters, digits, shifted letters and symbols, whitespace', () => {
    expect([...'aZ9 \n\t'].map(keyForChar)).toEqual(['a', 'shift-z', '9', 'spc', 'ret', 'tab']);
    expect([...'-_=+:"|?~!)'].map(keyForChar)).toEqual([
      'minus',
      'shift-minus',
      'equal',
      'shift-equal',
      'shift-semicolon',
      'shift-apostrophe',
      'shift-backslash',
      'shift-slash',
      'shift-grave_accent',
      'shift-1',
      'shift-0',
    ]);
  });
  it('a character no key types is NXC_USAGE naming it', () => {
    expect(() => keyForChar('é')).toThrow(
      expect.objectContaining({
        code: 'NXC_USAGE',
        message: 'send_chars: no key types "é" on a US keyboard',
      }),
    );
  });
});

describe('pythonRegex', () => {
  it('translates named groups, back references, leading flags, \\A and \\Z', () => {
    const re = pythonRegex('(?i)\\A(?P<w>ab)(?P=w)\\Z', 'x');
    expect(re.flags).toBe('i');
    expect(re.test('ABab')).toBe(true);
    expect(re.test('abac')).toBe(false);
    expect(pythonRegex('(?s)a.b', 'x').test('a\nb')).toBe(true);
    expect(pythonRegex('a.b', 'x').test('a\nb')).toBe(false);
  });
  it('an invalid expression or (?x) is NXC_USAGE naming the call', () => {
    expect(() => pythonRegex('a(', 'server: wait_for_console_text')).toThrow(
      expect.objectContaining({
        code: 'NXC_USAGE',
        message: expect.stringMatching(/^server: wait_for_console_text: invalid regular expression "a\("/),
      }),
    );
    expect(() => pythonRegex('(?x) a', 'y')).toThrow(expect.objectContaining({ code: 'NXC_USAGE' }));
  });
});
