/**
 * @nxc/flavour-qemu: the `vm-ramdisk` and `vm` flavours of NixOS Compose. Every node is a
 * local QEMU VM (KVM when it really works, else TCG) joined to the others on a private L2
 * segment, reached over SSH through a forwarded port. `vm-ramdisk` boots one kernel + one
 * initrd holding every role; `vm` boots a small initrd and shares the host's /nix/store
 * over 9p (fast rebuilds). This module stays light: the deploy side and ssh2 load lazily.
 */
import { fileURLToPath } from 'node:url';
import { FLAVOUR_API_VERSION, type Unusable, defineFlavour, defineFlavourPlugin } from '@nxc/core/flavour';
import { qemuFlags, qemuOptionsSchema } from './options.js';
import { qemuBinary } from './qemu-binary.js';

const nixModule = (file: string): string => fileURLToPath(new URL(`../nix/${file}`, import.meta.url));

/** Cheap check: a QEMU binary is there (no process started). */
async function usable(): Promise<Unusable | undefined> {
  if (qemuBinary()) return undefined;
  return {
    reason: `${process.env.NXC_QEMU || 'qemu-system-x86_64'} not found`,
    hint: 'install QEMU (Debian/Ubuntu: `apt-get install qemu-system-x86`) or set NXC_QEMU to its path',
  };
}

const deployer = async () => (await import('./deployer.js')).deployer;

/** `vm-ramdisk`: kernel + one initrd holding every role, all in guest memory. */
export const vmRamdiskFlavour = defineFlavour({
  name: 'vm-ramdisk',
  description: 'local QEMU VMs booting one initrd that holds every role (all in memory)',
  build: { image: 'ramdisk', distribution: 'all-in-one', nixModule: nixModule('vm-ramdisk.nix') },
  options: qemuOptionsSchema,
  flags: qemuFlags,
  disks: true,
  usable,
  deployer,
});

/** `vm`: kernel + small initrd; the host's /nix/store shared over 9p with a tmpfs overlay. */
export const vmFlavour = defineFlavour({
  name: 'vm',
  description: "local QEMU VMs sharing the host's /nix/store over 9p (small initrd, fast rebuilds)",
  build: { image: 'vm', distribution: 'all-in-one', nixModule: nixModule('vm.nix') },
  options: qemuOptionsSchema,
  flags: qemuFlags,
  disks: true,
  usable,
  deployer,
});

export default defineFlavourPlugin({
  apiVersion: FLAVOUR_API_VERSION,
  name: '@nxc/flavour-qemu',
  flavours: [vmRamdiskFlavour, vmFlavour],
});

export { qemuOptionsSchema, qemuFlags } from './options.js';
export type { QemuOptions } from './options.js';
export type { QemuState } from './deployer.js';
