import { describe, expect, it } from 'vitest';
import { launchNodes } from './launch-nodes.js';
import type { ProgressEvent } from './reporter.js';

const nodes = (n: number) => Array.from({ length: n }, (_, i) => ({ host: `n${i + 1}` }));
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

function recorder() {
  const events: ProgressEvent[] = [];
  return { events, reporter: { emit: (e: ProgressEvent) => events.push(e) } };
}

describe('launchNodes', () => {
  it('launches every node, never more than `concurrency` at once, and waits each ready', async () => {
    let running = 0;
    let peak = 0;
    const { events, reporter } = recorder();
    const result = await launchNodes({
      nodes: nodes(7),
      concurrency: 3,
      reporter,
      progressTask: 'nodes ready',
      launch: async (n) => {
        running++;
        peak = Math.max(peak, running);
        await tick();
        running--;
        return `id-${n.host}`;
      },
      ready: async () => {
        await tick(1);
      },
    });
    expect(peak).toBe(3);
    expect(result.failures).toEqual([]);
    expect(result.interrupted).toBe(false);
    expect([...result.launched.entries()].sort()).toEqual(nodes(7).map((n) => [n.host, `id-${n.host}`]));
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.map((e) => (e as { current: number }).current)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(progress.every((e) => e.type === 'progress' && e.total === 7 && e.task === 'nodes ready')).toBe(
      true,
    );
    expect(events.filter((e) => e.type === 'node').map((e) => (e as { state: string }).state)).toEqual(
      Array(7).fill('ready'),
    );
  });

  it('without `ready`, emits no ready or progress event', async () => {
    const { events, reporter } = recorder();
    const result = await launchNodes({ nodes: nodes(2), reporter, launch: async (n) => n.host });
    expect(result.launched.size).toBe(2);
    expect(events).toEqual([]);
  });

  it('the first failure cancels the rest: queued launches never start, running waits see the abort', async () => {
    const started: string[] = [];
    const sawAbort: string[] = [];
    const result = await launchNodes({
      nodes: nodes(5),
      concurrency: 2,
      launch: async (n) => {
        started.push(n.host);
        if (n.host === 'n1') throw new Error('engine refused n1');
        return n.host;
      },
      ready: async (n, _l, signal) => {
        await new Promise<void>((resolve, reject) => {
          if (signal.aborted) {
            sawAbort.push(n.host);
            reject(new Error('aborted'));
            return;
          }
          signal.addEventListener('abort', () => {
            sawAbort.push(n.host);
            reject(new Error('aborted'));
          });
        });
      },
      isCancellation: (e) => (e as Error).message === 'aborted',
    });
    expect(started).toEqual(['n1', 'n2']);
    expect(sawAbort).toEqual(['n2']);
    expect(result.failures.map((f) => [f.node.host, f.index, f.cancellation])).toEqual([
      ['n1', 0, false],
      ['n2', 1, true],
    ]);
    expect((result.failures[0]!.error as Error).message).toBe('engine refused n1');
    // launched holds what was launched, so that the caller can roll it back
    expect([...result.launched.keys()]).toEqual(['n2']);
  });

  it('keeps every failure in the order it happened, with its node index', async () => {
    const result = await launchNodes({
      nodes: nodes(3),
      launch: async (n) => n.host,
      ready: async (n) => {
        await tick(n.host === 'n1' ? 30 : n.host === 'n3' ? 1 : 10);
        throw new Error(`${n.host} died`);
      },
    });
    expect(result.failures.map((f) => [f.node.host, f.index])).toEqual([
      ['n3', 2],
      ['n2', 1],
      ['n1', 0],
    ]);
  });

  it('the caller signal aborts everything and is reported as an interruption', async () => {
    const outer = new AbortController();
    const launched: string[] = [];
    const promise = launchNodes({
      nodes: nodes(4),
      concurrency: 1,
      signal: outer.signal,
      launch: async (n) => {
        launched.push(n.host);
        if (n.host === 'n2') outer.abort();
        return n.host;
      },
      ready: async (_n, _l, signal) => {
        if (signal.aborted) throw new Error('aborted');
      },
      isCancellation: (e) => (e as Error).message === 'aborted',
    });
    const result = await promise;
    expect(launched).toEqual(['n1', 'n2']);
    expect(result.interrupted).toBe(true);
    expect(result.failures.every((f) => f.cancellation)).toBe(true);
  });

  it('an already aborted caller signal launches nothing', async () => {
    const outer = new AbortController();
    outer.abort();
    let calls = 0;
    const result = await launchNodes({
      nodes: nodes(3),
      signal: outer.signal,
      launch: async () => {
        calls++;
      },
    });
    expect(calls).toBe(0);
    expect(result.interrupted).toBe(true);
    expect(result.launched.size).toBe(0);
  });

  it('leaves no listener on the caller signal', async () => {
    const outer = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = outer.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...a: Parameters<typeof add>) => {
      added++;
      add(...a);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
      removed++;
      remove(...a);
    }) as typeof signal.removeEventListener;
    await launchNodes({ nodes: nodes(2), signal, launch: async (n) => n.host });
    expect(added).toBe(1);
    expect(removed).toBe(1);
  });

  it('refuses a concurrency below 1', async () => {
    await expect(launchNodes({ nodes: nodes(1), concurrency: 0, launch: async () => 1 })).rejects.toThrow(
      /concurrency/,
    );
  });
});
