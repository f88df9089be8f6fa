/**
 * The conformance kit (`@nxc/core/testing`) set up for a qemu flavour: the REAL demo built by
 * real Nix (examples/demo on the test OS), small TCG guests, leftovers judged by
 * `qemuLeftovers` (the process table and the run folders).
 */
import { exec } from '@nxc/core';
import { type ConformanceOptions, describeFlavour } from '@nxc/core/testing';
import { expect, it } from 'vitest';
import { OFFLINE_NIX_FLAGS, demoProject } from '../../../test/fixtures/demo-project.mjs';
import { qemuLeftovers } from './harness.js';

/**
 * Registers the conformance suites of `flavour` on the demo (`server` + one `client`), with
 * the demo's promise on the shared deployment (the client reaches the server by hostname)
 * and the caller's own checks after it.
 */
export function describeQemuFlavour(
  flavour: 'vm-ramdisk' | 'vm',
  more: Pick<ConformanceOptions, 'sharedDeploymentChecks'> & { options?: Record<string, unknown> } = {},
): void {
  describeFlavour({
    flavour,
    project() {
      const demo = demoProject(`nxc-${flavour}-conformance-`);
      return { root: demo.dir, cleanup: demo.cleanup };
    },
    env: { NXC_NIX_FLAGS: OFFLINE_NIX_FLAGS },
    roles: ['client=1'],
    start: {
      options: { accel: 'tcg', memory: 256, ...(more.options ?? {}) },
      timeoutMs: 240_000,
    },
    capabilities: { logs: true, nodeControl: ['crash', 'shutdown', 'start'] },
    leftovers: ({ project, composition }) => qemuLeftovers(project.root, composition, flavour),
    badOptions: [
      {
        options: { accel: 'warp' },
        message: new RegExp(`^flavour ${flavour}: option accel: invalid enum value`),
      },
      { options: { memory: 0 }, message: new RegExp(`^flavour ${flavour}: option memory: `) },
    ],
    sharedDeploymentChecks(deployment) {
      it('the client reaches the server by hostname over the private segment (the demo)', async () => {
        const { project } = deployment();
        const [r] = await exec(project, ['client'], ['wget', '-qO-', 'http://server/'], { flavour });
        expect(r).toMatchObject({ exitCode: 0, stdout: 'hello from the nxc demo server\n' });
      });
      more.sharedDeploymentChecks?.(deployment);
    },
  });
}
