import { describe, expect, it } from 'vitest';
import { unreadConsoleText } from './console-text.js';

describe('unreadConsoleText (what wait_for_console_text has not consumed)', () => {
  it('everything is unread before the first match', () => {
    expect(unreadConsoleText([], ['a', 'b'])).toBe('a\nb');
  });

  it('lines appended after the read ones are unread', () => {
    expect(unreadConsoleText(['a', 'b'], ['a', 'b', 'c', 'd'])).toBe('c\nd');
    expect(unreadConsoleText(['a', 'b'], ['a', 'b'])).toBe('');
  });

  it('a line that grew in the middle (container output before the journal) is unread, the rest is not', () => {
    // the docker case: [container output..., journal...]; a write to PID 1's output lands
    // before the journal's lines, and a journal line long enough to hide it follows
    const journal = 'OCI runtime exec failed: a line longer than the mark that follows the container output';
    expect(
      unreadConsoleText(
        ['boot', 'NXC_READY client', journal],
        ['boot', 'NXC_READY client', 'mark-7', journal],
      ),
    ).toBe('mark-7');
    expect(unreadConsoleText(['out', 'j1'], ['out', 'out2', 'j1', 'j2'])).toBe('out2\nj2');
  });

  it('a repeated line is unread as often as it was printed again', () => {
    expect(unreadConsoleText(['m', 'j'], ['m', 'm', 'j'])).toBe('m');
  });

  it('an incomplete last line (a prompt) gives what it gained', () => {
    expect(unreadConsoleText(['boot', 'login: '], ['boot', 'login: root', 'Password:'])).toBe(
      'root\nPassword:',
    );
  });

  it('a console that started over (node started again) is unread in full', () => {
    expect(unreadConsoleText(['boot 1', 'x'], ['boot 2', 'y'])).toBe('boot 2\ny');
  });
});
