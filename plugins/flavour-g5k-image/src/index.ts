/**
 * @nxc/flavour-g5k-image: the `g5k-image` flavour. Grid'5000 nodes reserved with OAR (job of
 * type deploy) are deployed by Kadeploy 3 from a compressed tarball of a bootable NixOS system
 * (ext4 root) that holds every role; each node picks its role from the deployment (`deploy=`
 * kernel parameter of the Kadeploy environment).
 *
 * Deploy side (./deployer.ts, loaded on demand): writes the Kadeploy environment description,
 * runs `kadeploy3`, reports per-node OK / KO, waits for SSH; `retryFailed` redeploys only the
 * failed nodes. Its options and flags are in ./options.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FLAVOUR_API_VERSION, defineFlavour, defineFlavourPlugin } from '@nxc/core/flavour';
import type { FlavourDeployer } from '@nxc/core/flavour';
import type { KexecState } from '@nxc/g5k';
import { type KadeployUsableInput, kadeployUsable } from '@nxc/g5k/usable';
import { type G5kImageOptions, g5kImageFlags, g5kImageOptionsSchema } from './options.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

/** Absolute path of the flavour's NixOS module, shipped in this package's `nix/` folder. */
export const nixModule: string = fileURLToPath(new URL('../nix/g5k-image.nix', import.meta.url));

/**
 * The options `usable()` can see: the config's (`-O` flags reach only the deploy side, which
 * checks again).
 */
function usableInput(options: Record<string, unknown> | undefined): KadeployUsableInput {
  const o = options ?? {};
  return {
    ...(typeof o.kadeploy === 'string' ? { kadeploy: o.kadeploy } : {}),
    ...(typeof o.oarJobId === 'string' || typeof o.oarJobId === 'number' ? { oarJobId: o.oarJobId } : {}),
    skipOarCheck: o.skipOarCheck === true || o.skipOarCheck === 'true',
  };
}

/** The plugin: one flavour, `g5k-image`. */
const plugin = defineFlavourPlugin({
  apiVersion: FLAVOUR_API_VERSION,
  name: pkg.name,
  flavours: [
    defineFlavour({
      name: 'g5k-image',
      description: "Grid'5000 nodes deployed by Kadeploy from a disk image holding every role",
      build: { image: 'tarball', distribution: 'all-in-one', nixModule },
      // nxc.disks: onto the spare disks the OAR job reserved, named to each node in its entry
      // of the deployment (docs/disks.md)
      disks: true,
      // kadeploy3, oarstat and a job named; the job's type and state are checked at start
      usable: ({ project }) => kadeployUsable(usableInput(project.config.flavourOptions['g5k-image'])),
      options: g5kImageOptionsSchema,
      flags: g5kImageFlags,
      async deployer(): Promise<FlavourDeployer<G5kImageOptions, KexecState>> {
        return (await import('./deployer.js')).deployer;
      },
    }),
  ],
});

export default plugin;

export {
  kadeployEnvironment,
  renderEnvironment,
  kadeployArch,
  KADEPLOY_ARCH,
  IMAGE_KERNEL,
  IMAGE_INITRD,
} from './environment.js';
export type { KadeployEnvironment, EnvironmentInput } from './environment.js';
export { parseKadeployOutput } from './kadeploy-output.js';
export type { KadeployOutcome } from './kadeploy-output.js';
/**
 * Checks that an OAR job can be deployed onto with Kadeploy (a `deploy` job). Loaded on call:
 * the OAR client it uses is not part of the plugin's light entry, which every nxc command imports.
 */
export async function checkDeployJob(
  ...args: Parameters<typeof import('./oar-job.js').checkDeployJob>
): ReturnType<typeof import('./oar-job.js').checkDeployJob> {
  return (await import('./oar-job.js')).checkDeployJob(...args);
}
export { g5kImageOptionsSchema, g5kImageFlags } from './options.js';
export type { G5kImageOptions } from './options.js';
