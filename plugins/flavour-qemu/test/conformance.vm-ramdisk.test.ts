/**
 * `vm-ramdisk` against the conformance kit (real QEMU, TCG, the real demo), plus what this
 * flavour promises on the shared deployment: the deployment travels on the kernel command
 * line, host keys are learnt at start, every VM has its QMP socket.
 */
import { existsSync, readFileSync } from 'node:fs';
import { statePath } from '@nxc/core/flavour';
import { expect, it } from 'vitest';
import type { QemuState } from '../src/deployer.js';
import { describeQemuFlavour } from './conformance.js';

describeQemuFlavour('vm-ramdisk', {
  sharedDeploymentChecks(deployment) {
    it('deploys over the kernel command line, learns host keys at start, has a QMP socket per VM', () => {
      const { project, started } = deployment();
      const state = JSON.parse(
        readFileSync(statePath(project, started.composition, 'vm-ramdisk'), 'utf8'),
      ) as QemuState;
      expect(state.accel).toBe('tcg');
      expect(state.deploy).toBe('cmdline');
      expect(Object.keys(state.hostKeys).sort()).toEqual(['client', 'server']);
      expect(state.nodes.every((n) => existsSync(n.qmpSocket))).toBe(true);
    });
  },
});
