/**
 * @nxc/flavour-g5k-nfs-store: the `g5k-nfs-store` flavour. Grid'5000 nodes reserved with OAR are
 * booted by kexec into a small kernel + initrd; the Nix store holding every role is mounted
 * read-only over NFS (`nfs_store=host:/export/nix/store` on the kernel command line) under a
 * writable overlay, and each node picks its role from the deployment (`deploy=`).
 *
 * Deploy side (./deployer.ts, loaded on demand): @nxc/g5k's kexec engine, with
 * `nfs_store=<server>:/export<store>` computed from the frontend's store (`NFS_STORE` overrides).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FLAVOUR_API_VERSION, defineFlavour, defineFlavourPlugin } from '@nxc/core/flavour';
import type { FlavourDeployer } from '@nxc/core/flavour';
import type { KexecState } from '@nxc/g5k';
import { type NfsStoreFlavourOptions, kexecFlags, nfsStoreOptionsSchema } from '@nxc/g5k/options';
import { kexecUsable } from '@nxc/g5k/usable';

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
    defineFlavour({
      name: 'g5k-nfs-store',
      description: "Grid'5000 nodes booted by kexec, their Nix store mounted read-only over NFS (nfs_store=)",
      build: { image: 'remote-store', distribution: 'all-in-one', nixModule },
      // inside an OAR job or on a frontend; the machines themselves are checked at start
      // nxc.disks: onto the spare disks the OAR job reserved (docs/disks.md)
      disks: true,
      usable: () => kexecUsable(),
      options: nfsStoreOptionsSchema,
      flags: kexecFlags,
      async deployer(): Promise<FlavourDeployer<NfsStoreFlavourOptions, KexecState>> {
        return (await import('./deployer.js')).deployer;
      },
    }),
  ],
});

export default plugin;
