/**
 * TEST HELPER: the demo deployed on vm-ramdisk (QEMU under TCG, 256 MiB, real Nix build on
 * the offline test OS) around one test file: before its tests, the demo is copied and built
 * (./demo.ts), started by core with `network` declared (as `nxc start --net FILE`), and both
 * nodes must be running; after them, it is stopped and the copy removed.
 */
import * as core from '@nxc/core';
import { afterAll, beforeAll, expect } from 'vitest';
import { type DemoProject, demoProject } from './demo.js';

export const VM_FLAVOUR = 'vm-ramdisk';

/** The running deployment, set once the file's beforeAll has run. */
export interface VmDemo {
  demo: DemoProject;
  /** The deployment record core.start wrote. */
  recordFile: string | undefined;
}

/**
 * Registers the file's beforeAll (build, start with `network`, both nodes running) and
 * afterAll (stop, remove the copy); returns the deployment, filled in by beforeAll.
 */
export function vmRamdiskDemo(network: unknown[]): VmDemo {
  const vm = {} as VmDemo;
  beforeAll(async () => {
    vm.demo = await demoProject(VM_FLAVOUR);
    const summary = await core.start(vm.demo.project, {
      flavour: VM_FLAVOUR,
      timeoutMs: 240_000,
      options: { accel: 'tcg', memory: 256 },
      network,
    });
    vm.recordFile = summary.recordFile;
    expect(summary.nodes.map((n) => [n.host, n.state]).sort()).toEqual([
      ['client', 'running'],
      ['server', 'running'],
    ]);
  });
  afterAll(async () => {
    try {
      if (vm.demo) await core.stop(vm.demo.project, { flavour: VM_FLAVOUR });
    } finally {
      vm.demo?.remove();
    }
  });
  return vm;
}
