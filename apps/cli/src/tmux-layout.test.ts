import { describe, expect, it } from 'vitest';
import { parseGeometry, tmuxLayout } from './tmux-layout.js';

describe('parseGeometry', () => {
  it.each([
    ['1+3+2', 6, [1, 3, 2]],
    ['2*3', 6, [3, 3]],
    ['4', 4, [4]],
    [undefined, 1, [1]],
    [undefined, 2, [1, 1]],
    [undefined, 3, [1, 2]],
    [undefined, 5, [2, 3]],
    [undefined, 12, [4, 4]],
  ])('%s with %i panes -> %j', (g, n, expected) => {
    expect(parseGeometry(g, n)).toEqual(expected);
  });

  it.each([
    ['1+2*3', /mixing \+ and \*/],
    ['a+b', /"a" is not a number/],
    ['0+1', /at least 1/],
    ['2*3*4', /expected C\*N/],
  ])('rejects %s', (g, message) => {
    expect(() => parseGeometry(g, 2)).toThrow(message);
  });
});

describe('tmuxLayout', () => {
  it('one pane per command, columns first then rows, equal sizes', () => {
    const steps = tmuxLayout([1, 3, 2]);
    expect(steps).toHaveLength(6);
    expect(steps[0]).toEqual({ command: 0 });
    // columns: split the previous column's top pane to the right
    expect(steps[1]).toEqual({ split: 0, direction: 'h', percent: 67, command: 1 });
    expect(steps[2]).toEqual({ split: 1, direction: 'h', percent: 50, command: 4 });
    // rows of column 2 (3 panes) then column 3 (2 panes)
    expect(steps.slice(3)).toEqual([
      { split: 1, direction: 'v', percent: 67, command: 2 },
      { split: 3, direction: 'v', percent: 50, command: 3 },
      { split: 2, direction: 'v', percent: 50, command: 5 },
    ]);
    expect(new Set(steps.map((s) => s.command)).size).toBe(6);
  });
});
