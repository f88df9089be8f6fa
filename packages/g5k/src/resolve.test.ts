import { describe, expect, it } from 'vitest';
import { resolveMachines } from './resolve.js';

const table: Record<string, string> = { 'node-1': '10.0.0.11', 'node-2': '10.0.0.12', alias: '10.0.0.11' };
const lookup = async (h: string): Promise<string> => {
  const a = table[h];
  if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${h}`), { code: 'ENOTFOUND' });
  return a;
};

describe('resolveMachines', () => {
  it('maps hosts to addresses and keeps IPs as they are', async () => {
    await expect(resolveMachines(['node-1', '192.168.1.5', 'node-2'], { lookup })).resolves.toEqual([
      { host: 'node-1', address: '10.0.0.11' },
      { host: '192.168.1.5', address: '192.168.1.5' },
      { host: 'node-2', address: '10.0.0.12' },
    ]);
  });

  it('names every host that does not resolve, in one line', async () => {
    const err = await resolveMachines(['node-1', 'nod-2', 'nope'], { lookup, source: 'nodes.txt' }).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ code: 'NXC_MACHINES' });
    expect(err.message).toBe(
      'machine file nodes.txt: cannot resolve nod-2 (unknown host), nope (unknown host)',
    );
    expect(err.message).not.toContain('\n');
  });

  it('refuses two names for the same machine', async () => {
    await expect(resolveMachines(['node-1', 'alias'], { lookup })).rejects.toThrow(
      /node-1 and alias both resolve to 10.0.0.11/,
    );
  });

  it('uses the system resolver by default (localhost)', async () => {
    await expect(resolveMachines(['localhost'])).resolves.toEqual([
      { host: 'localhost', address: '127.0.0.1' },
    ]);
  });
});
