import { describe, expect, it } from 'vitest';
import type { DeploymentDocument } from '../deployment.js';
import { judge, parsePing } from './net-check.js';
import { resolveDeclared } from './net-declared.js';
import { parseRate } from './net.js';

const doc = {
  deployment: {
    '10.0.0.1': { host: 'server', role: 'server' },
    '10.0.0.2': { host: 'client1', role: 'client' },
    '10.0.0.3': { host: 'client2', role: 'client' },
  },
} as unknown as DeploymentDocument;

describe('resolveDeclared', () => {
  it('one condition per kind and pair, values parsed, later entries win', () => {
    const out = resolveDeclared(
      doc,
      [
        { from: '@client', to: '@server', delay: '50ms', jitter: 5 },
        { from: 'client1', to: ['server'], delay: 80, loss: '1.5%', rate: '10mbit' },
        { from: 'client2', to: 'client1', partition: true },
      ],
      'composition network',
    );
    expect(out.map((c) => [c.kind, c.a.host, c.b.host])).toEqual([
      ['delay', 'client1', 'server'],
      ['delay', 'client2', 'server'],
      ['loss', 'client1', 'server'],
      ['rate', 'client1', 'server'],
      ['partition', 'client2', 'client1'],
    ]);
    expect(out[0]).toMatchObject({ delayMs: 80, a: { address: '10.0.0.2' }, b: { address: '10.0.0.1' } });
    expect(out[0]).not.toHaveProperty('jitterMs');
    expect(out[1]).toMatchObject({ delayMs: 50, jitterMs: 5 });
    expect(out[2]).toMatchObject({ percent: 1.5 });
    expect(out[3]).toMatchObject({ kbitPerSecond: 10_000 });
  });

  it.each([
    [[{ from: '@client', to: '@server' }], /entry 1: no condition/],
    [[{ from: '@client', to: '@server', delay: 'soon' }], /entry 1: "soon" is not a delay/],
    [[{ from: '@client', to: '@server', jitter: '5ms' }], /entry 1: jitter without delay/],
    [
      [{ from: '@client', to: '@nobody', delay: '5ms' }],
      /no node has role "nobody" in the composition network, entry 1: to/,
    ],
    [[{ from: 'all', to: '@server', delay: '5ms' }], /entry 1: node server is on both sides/],
    [[{ from: '@client', to: '@server', delay: '5ms', bandwidth: 1 }], /entry 1: .*bandwidth/],
    [[{ from: '@client', to: '@server', loss: 150 }], /entry 1: .*loss 150% is out of range/],
  ])('refuses %j in one line', (declared, message) => {
    expect(() => resolveDeclared(doc, declared, 'composition network')).toThrow(message);
  });
});

describe('parseRate', () => {
  it('reads bit/kbit/mbit/gbit as kbit/s and refuses the rest', () => {
    expect(parseRate('10mbit')).toBe(10_000);
    expect(parseRate('512kbit')).toBe(512);
    expect(parseRate('1Gbit')).toBe(1_000_000);
    expect(() => parseRate('10MB')).toThrow(/"10MB" is not a rate/);
  });
});

describe('nxc net check: parsePing / judge', () => {
  it('reads iputils and busybox summaries', () => {
    expect(
      parsePing(
        '10 packets transmitted, 9 received, 10% packet loss, time 1804ms\nrtt min/avg/max/mdev = 100.1/101.2/105.3/1.2 ms',
      ),
    ).toEqual({ sent: 10, received: 9, rttMs: { min: 100.1, avg: 101.2, max: 105.3 } });
    expect(
      parsePing(
        '10 packets transmitted, 10 packets received, 0% packet loss\nround-trip min/avg/max = 0.3/0.5/0.9 ms',
      ),
    ).toEqual({ sent: 10, received: 10, rttMs: { min: 0.3, avg: 0.5, max: 0.9 } });
    expect(parsePing('ping: sendto: Permission denied')).toEqual({ sent: 0, received: 0 });
  });

  const path = (oneWayMs: number | undefined, reachable = true) => ({
    from: 'a',
    to: 'b',
    reachable,
    sent: 10,
    received: reachable ? 10 : 0,
    lossPercent: reachable ? 0 : 100,
    ...(oneWayMs !== undefined ? { oneWayMs } : {}),
  });

  it('delay within ±20 % passes; outside, or unreachable, or reachable across a partition, does not', () => {
    expect(judge({ delayMs: 50 }, [path(52)])).toEqual([]);
    expect(judge({ delayMs: 50 }, [path(39)])[0]).toMatch(/one-way delay 39.0 ms, asked 50 ms/);
    expect(judge({ delayMs: 50 }, [path(61)])).toHaveLength(1);
    expect(judge({ delayMs: 50, jitterMs: 10 }, [path(65)])).toEqual([]);
    // the fastest packet of a jittered link may come up to the jitter early
    expect(judge({ delayMs: 50, jitterMs: 10 }, [path(31)])).toEqual([]);
    expect(judge({ delayMs: 50, jitterMs: 10 }, [path(29)])).toHaveLength(1);
    expect(judge({}, [path(undefined, false)])[0]).toMatch(/unreachable/);
    expect(judge({ partition: true }, [path(undefined, false)])).toEqual([]);
    expect(judge({ partition: true }, [path(1)])[0]).toMatch(/reachable across a partition/);
  });
});
