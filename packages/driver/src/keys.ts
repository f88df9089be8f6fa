/**
 * Characters -> QEMU `sendkey` names on a US keyboard, for `send_chars`: what a user
 * would press to type each character.
 */
import { NxcError } from '@nxc/core';

const PLAIN: Record<string, string> = {
  ' ': 'spc',
  '\n': 'ret',
  '\t': 'tab',
  '-': 'minus',
  '=': 'equal',
  '[': 'bracket_left',
  ']': 'bracket_right',
  ';': 'semicolon',
  "'": 'apostrophe',
  '`': 'grave_accent',
  '\\': 'backslash',
  ',': 'comma',
  '.': 'dot',
  '/': 'slash',
};

// Shifted symbols: the unshifted key they share.
const SHIFTED: Record<string, string> = {
  '!': '1',
  '@': '2',
  '#': '3',
  $: '4',
  '%': '5',
  '^': '6',
  '&': '7',
  '*': '8',
  '(': '9',
  ')': '0',
  _: 'minus',
  '+': 'equal',
  '{': 'bracket_left',
  '}': 'bracket_right',
  ':': 'semicolon',
  '"': 'apostrophe',
  '~': 'grave_accent',
  '|': 'backslash',
  '<': 'comma',
  '>': 'dot',
  '?': 'slash',
};

/** The key (chord) that types `char`; throws NXC_USAGE for a character a US keyboard lacks. */
export function keyForChar(char: string): string {
  if (/^[a-z0-9]$/.test(char)) return char;
  if (/^[A-Z]$/.test(char)) return `shift-${char.toLowerCase()}`;
  const plain = PLAIN[char];
  if (plain) return plain;
  const shifted = SHIFTED[char];
  if (shifted) return `shift-${shifted}`;
  throw new NxcError('NXC_USAGE', `send_chars: no key types ${JSON.stringify(char)} on a US keyboard`, {
    hint: 'send ASCII text, or send_key() with a QEMU key name',
  });
}

/**
 * A regular expression written for Python's `re` as a JavaScript RegExp: `(?P<name>...)`,
 * `(?P=name)`, a leading `(?i)`/`(?m)`/`(?s)` and `\A`/`\Z` are translated; anything
 * JavaScript cannot read is NXC_USAGE naming `what`.
 */
export function pythonRegex(source: string | RegExp, what: string): RegExp {
  if (source instanceof RegExp) return source;
  let flags = '';
  let body = source;
  const lead = /^\(\?([aiLmsux]+)\)/.exec(body);
  if (lead) {
    for (const f of lead[1]!) {
      if (f === 'i' || f === 'm' || f === 's') flags += flags.includes(f) ? '' : f;
      else if (f === 'x') {
        throw new NxcError('NXC_USAGE', `${what}: verbose regular expressions ((?x)) are not supported`, {
          hint: 'write the expression without (?x)',
        });
      }
    }
    body = body.slice(lead[0].length);
  }
  body = body
    .replace(/\(\?P</g, '(?<')
    .replace(/\(\?P=(\w+)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '$');
  try {
    return new RegExp(body, flags);
  } catch (error) {
    throw new NxcError(
      'NXC_USAGE',
      `${what}: invalid regular expression ${JSON.stringify(source)}: ${(error as Error).message}`,
      {
        hint: 'nxc matches with JavaScript regular expressions (Python named groups and leading (?i) are translated)',
      },
    );
  }
}
