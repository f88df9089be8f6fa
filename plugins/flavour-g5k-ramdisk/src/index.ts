/**
 * @nxc/flavour-g5k-ramdisk: the `g5k-ramdisk` flavour. Grid'5000 nodes reserved with OAR are
 * booted by kexec into one kernel + initrd whose squashed Nix store holds every role; each node
 * picks its role from the deployment given on the kernel command line (`deploy=`).
 *
 * Deploy side (./deployer.ts, loaded on demand): @nxc/g5k's kexec engine pushes kernel + initrd
 * to the reserved machines (`-m` / `$OAR_NODEFILE`), kexecs them and waits for every node.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FLAVOUR_API_VERSION, defineFlavour, defineFlavourPlugin } from '@nxc/core/flavour';
import type { FlavourDeployer } from '@nxc/core/flavour';
import type { KexecState } from '@nxc/g5k';
import { type KexecOptions, kexecFlags, kexecOptionsSchema } from '@nxc/g5k/options';
import { kexecUsable } from '@nxc/g5k/usable';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

/** Absolute path of the flavour's NixOS module, shipped in this package's `nix/` folder. */
export const nixModule: string = fileURLToPath(new URL('../nix/g5k-ramdisk.nix', import.meta.url));

/** The plugin: one flavour, `g5k-ramdisk`. */
const plugin = defineFlavourPlugin({
  apiVersion: FLAVOUR_API_VERSION,
  name: pkg.name,
  flavours: [
    defineFlavour({
      name: 'g5k-ramdisk',
      description: "Grid'5000 nodes booted by kexec into a ramdisk holding every role (all in memory)",
      build: { image: 'ramdisk', distribution: 'all-in-one', nixModule },
      // inside an OAR job or on a frontend; the machines themselves are checked at start
      // nxc.disks: onto the spare disks the OAR job reserved (docs/disks.md)
      disks: true,
      usable: () => kexecUsable(),
      options: kexecOptionsSchema,
      flags: kexecFlags,
      async deployer(): Promise<FlavourDeployer<KexecOptions, KexecState>> {
        return (await import('./deployer.js')).deployer;
      },
    }),
  ],
});

export default plugin;
