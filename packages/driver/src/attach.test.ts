import type { FlavourDeployer, RunningContext } from '@nxc/core/flavour';
import { describe, expect, it } from 'vitest';
import { nodeControlOf } from './attach.js';

const base = {
  start: async () => ({ nodes: [] }),
  stop: async () => {},
  status: async () => [],
  transport: async () => ({}),
};
const ctx = { flavour: 'x' } as unknown as RunningContext;

describe('nodeControlOf', () => {
  it("uses the deployer's optional nodeControl(ctx), called on the deployer", async () => {
    const control = { crash: async () => {} };
    const deployer = {
      ...base,
      marker: 'me',
      nodeControl(this: { marker: string }, c: RunningContext) {
        expect(this.marker).toBe('me');
        expect(c).toBe(ctx);
        return control;
      },
    } as unknown as FlavourDeployer;
    expect(await nodeControlOf(deployer, ctx)).toBe(control);
  });

  it('is undefined when the flavour offers none', async () => {
    expect(await nodeControlOf(base as unknown as FlavourDeployer, ctx)).toBeUndefined();
  });
});
