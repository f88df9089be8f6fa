import { describe, expect, it } from 'vitest';
import { parseParameterFlags } from './parameters.js';

describe('parseParameterFlags', () => {
  it('keeps JSON types, else strings', () => {
    expect(parseParameterFlags(['n=3', 'name=foo', 'list=[1,2]', 'flag=true', 'eq=a=b'])).toEqual({
      n: 3,
      name: 'foo',
      list: [1, 2],
      flag: true,
      eq: 'a=b',
    });
  });
  it('rejects a flag without =', () => {
    expect(() => parseParameterFlags(['oops'])).toThrow('-p oops: expected KEY=VALUE');
  });
});
