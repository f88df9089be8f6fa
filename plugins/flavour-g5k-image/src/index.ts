/**
 * @nxc/flavour-g5k-image: the `g5k-image` flavour. Grid'5000 nodes reserved with OAR are
 * deployed by Kadeploy from a compressed tarball of a bootable NixOS system (ext4 root) that
 * holds every role; each node picks its role from the deployment (`deploy=` kernel parameter).
 *
 * This release ships the build side (NixOS module + image kind). The deploy side (Kadeploy
 * environment + `kadeploy3`) comes with a later release; deploying says so in one line.
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
export const nixModule: string = fileURLToPath(new URL('../nix/g5k-image.nix', import.meta.url));

/** The plugin: one flavour, `g5k-image`. */
const plugin = defineFlavourPlugin({
  apiVersion: FLAVOUR_API_VERSION,
  name: pkg.name,
  flavours: [
    {
      name: 'g5k-image',
      description: "Grid'5000 nodes deployed by Kadeploy from a disk image holding every role",
      build: { image: 'tarball', distribution: 'all-in-one', nixModule },
      async deployer(): Promise<FlavourDeployer> {
        throw new NxcError(
          'NXC_FLAVOUR_UNUSABLE',
          `deploying with g5k-image is not available yet in ${pkg.name} ${pkg.version}`,
          {
            hint: '`nxc build -f g5k-image` works; the Kadeploy deploy side comes in a later release (try vm-ramdisk locally meanwhile)',
          },
        );
      },
    },
  ],
});

export default plugin;
