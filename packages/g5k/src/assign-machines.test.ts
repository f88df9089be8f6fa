import { describe, expect, it } from 'vitest';
import { assignMachines } from './assign-machines.js';

const lookup = async (host: string) => {
  const m = /^node-(\d+)$/.exec(host);
  if (!m) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return `10.0.0.${m[1]}`;
};

function reporter() {
  const events: Array<{ type: string; message?: string }> = [];
  return { events, emit: (e: { type: string; message?: string }) => events.push(e) };
}

describe('assignMachines', () => {
  it('gives each node the next machine, resolved, and warns about the unused ones', async () => {
    const r = reporter();
    const nodes = [
      { role: 'server', host: 'server' },
      { role: 'client', host: 'client' },
    ];
    const out = await assignMachines({
      nodes,
      machines: ['node-1', 'node-2', 'node-3'],
      reporter: r,
      lookup,
    });
    expect(out).toEqual([
      { role: 'server', host: 'server', machine: 'node-1', address: '10.0.0.1' },
      { role: 'client', host: 'client', machine: 'node-2', address: '10.0.0.2' },
    ]);
    expect(r.events).toEqual([{ type: 'warn', message: '1 machine(s) left unused: node-3' }]);
  });

  it('refuses more nodes than machines, with the reservation hint', async () => {
    const nodes = [
      { role: 'a', host: 'a' },
      { role: 'b', host: 'b' },
    ];
    await expect(
      assignMachines({ nodes, machines: ['node-1'], reporter: reporter(), lookup, reserveHint: 'get more' }),
    ).rejects.toMatchObject({
      code: 'NXC_MACHINES',
      message: '2 nodes to deploy but the machine list has 1 machine(s)',
      hint: 'get more',
    });
  });

  it('reads $OAR_NODEFILE when no machines were given, and says when neither exists', async () => {
    await expect(
      assignMachines({ nodes: [{ role: 'a', host: 'a' }], reporter: reporter(), lookup, env: {} }),
    ).rejects.toMatchObject({ code: 'NXC_MACHINES', message: expect.stringContaining('$OAR_NODEFILE') });
  });
});
