/**
 * @nxc/flavour-g5k-nfs-store: the `g5k-nfs-store` flavour. Grid'5000 nodes reserved with OAR are
 * booted by kexec into a small kernel + initrd; the Nix store holding every role is mounted
 * read-only over NFS (`nfs_store=host:/export/nix/store` on the kernel command line) under a
 * writable overlay, and each node picks its role from the deployment (`deploy=`).
 *
 * This release ships the build side (NixOS module + image kind). The deploy side (kexec over
 * SSH on the reserved nodes) comes with a later release; deploying says so in one line.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FLAVOUR_API_VERSION, NxcError, defineFlavourPlugin } from '@nxc/core';
import type { FlavourDeployer } from '@nxc/core';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

/** Absolute path of the flavour's NixOS module, shipped in this package's `nix/` folder. */
export const nixModule: string = fileURLToPath(new URL('../nix/g5k-nfs-store.nix', import.meta.url));

/** The plugin: one flavour, `g5k-nfs-store`. */
const plugin = defineFlavourPlugin({
  apiVersion: FLAVOUR_API_VERSION,
  name: pkg.name,
  flavours: [
    {
      name: 'g5k-nfs-store',
      description: "Grid'5000 nodes booted by kexec, their Nix store mounted read-only over NFS (nfs_store=)",
      build: { image: 'remote-store', distribution: 'all-in-one', nixModule },
      async deployer(): Promise<FlavourDeployer> {
        throw new NxcError(
          'NXC_FLAVOUR_UNUSABLE',
          `deploying with g5k-nfs-store is not available yet in ${pkg.name} ${pkg.version}`,
          {
            hint: '`nxc build -f g5k-nfs-store` works; the kexec deploy side comes in a later release (try vm-ramdisk locally meanwhile)',
          },
        );
      },
    },
  ],
});

export default plugin;
