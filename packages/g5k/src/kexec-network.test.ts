/**
 * The Grid'5000 flavours' network capability (kexecRunning().network): core's guestNetwork
 * over the deployment's SSH transport. A node the transport cannot reach (here: failed at
 * start, so not in the transport) is one error naming the Grid'5000 node, exit 3.
 */
import { isNxcError } from '@nxc/core/flavour';
import type { NetworkCondition, RunningContext } from '@nxc/core/flavour';
import { describe, expect, it } from 'vitest';
import { type KexecState, kexecRunning } from './kexec-flavour.js';

describe('kexecRunning().network', () => {
  it("is offered, and names the unreachable Grid'5000 node in one error (exit 3)", async () => {
    const running = kexecRunning('g5k-ramdisk');
    expect(running.network).toBeTypeOf('function');
    const state: KexecState = {
      kind: 'g5k-kexec',
      nodes: {
        n1: { machine: 'm1', address: '10.9.9.1', role: 'server', status: 'failed', reason: 'boot' },
        n2: { machine: 'm2', address: '10.9.9.2', role: 'client', status: 'failed', reason: 'boot' },
      },
      startedAt: 0,
    };
    const ctx = {
      state,
      identity: { privateKeyPath: '/nonexistent/key' },
    } as unknown as RunningContext<unknown, KexecState>;
    const control = await running.network!(ctx);
    const c: NetworkCondition = {
      kind: 'partition',
      a: { host: 'n1', address: '10.9.9.1' },
      b: { host: 'n2', address: '10.9.9.2' },
    };
    const error = await control.apply([c], [c]).catch((e: unknown) => e);
    expect(isNxcError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^cannot change the network settings of Grid'5000 node n1: /);
    expect((error as { exitCode: number }).exitCode).toBe(3);
  });
});
