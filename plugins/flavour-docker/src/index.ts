/**
 * @nxc/flavour-docker: the `docker` flavour of NixOS Compose. Every node of the role
 * distribution becomes a container of a small Nix-built base image, running its role's
 * init from the host's /nix/store (mounted read-only), on one bridge network per
 * deployment. Driven through the Engine API (dockerode): no docker-compose binary needed.
 *
 * This module stays light: dockerode is loaded only when a command deploys.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FLAVOUR_API_VERSION, defineFlavour, defineFlavourPlugin } from '@nxc/core/flavour';
import { checkEngine } from './engine.js';
import { dockerOptionsSchema } from './options.js';

/** Path of the flavour's NixOS module (shipped in the package's `nix/` folder), if present. */
function nixModulePath(): string | undefined {
  const path = fileURLToPath(new URL('../nix/docker.nix', import.meta.url));
  return existsSync(path) ? path : undefined;
}

const nixModule = nixModulePath();

/** The `docker` flavour. */
export const dockerFlavour = defineFlavour({
  name: 'docker',
  description: 'one container per node on a local Docker engine (shares the host /nix/store)',
  build: { image: 'docker', distribution: 'per-role', ...(nixModule ? { nixModule } : {}) },
  options: dockerOptionsSchema,
  disks: true,
  usable: () => checkEngine(),
  deployer: async () => (await import('./deployer.js')).deployer,
});

/**
 * The plugin: `@nxc/flavour-docker`, providing the `docker` flavour. List it in the
 * project's config (`plugins`) or its package.json dependencies.
 */
export default defineFlavourPlugin({
  apiVersion: FLAVOUR_API_VERSION,
  name: '@nxc/flavour-docker',
  flavours: [dockerFlavour],
});

export { checkEngine, engineEndpoint, MIN_API_VERSION } from './engine.js';
export type { EngineEndpoint } from './engine.js';
export { dockerOptionsSchema } from './options.js';
export type { DockerOptions } from './options.js';
