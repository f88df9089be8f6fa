/** The fault scenario of the end-to-end tests (any qemu flavour). */
import { type ComposeInfo, type NxcError, isNxcError } from '@nxc/core';
import type { FlavourDeployer } from '@nxc/core/flavour';
import { planNodes } from '@nxc/core/testing';
import { expect } from 'vitest';
import type { QemuHarness } from './harness.js';

export async function faultScenario(
  h: QemuHarness,
  deployer: FlavourDeployer,
  info: ComposeInfo,
): Promise<void> {
  // client2's kernel command line names an init that does not exist: it panics, its console says why
  const nodes = planNodes({ server: 1, client: 2 });
  const ctx = h.startContext(info, nodes, {
    options: {
      accel: 'tcg',
      memory: 256,
      kernelParams: { client2: 'rdinit=/nxc-broken' },
    },
  });
  let error: NxcError | undefined;
  try {
    await deployer.start(ctx);
  } catch (e) {
    if (!isNxcError(e)) throw e;
    error = e;
  }
  expect(error, 'start must fail').toBeDefined();
  expect(error!.code).toBe('NXC_NODE_FAILED');
  expect(error!.exitCode).not.toBe(0);
  expect(error!.message).toMatch(/^vm "client2" did not come up: /);
  expect(error!.message.split('\n')).toHaveLength(1);
  expect(error!.details).toMatch(/console of client2/);
  expect(error!.details).toMatch(/Kernel panic|NXC_BOOT_ERROR|init/i);
  expect(h.leftovers()).toEqual([]);
}
