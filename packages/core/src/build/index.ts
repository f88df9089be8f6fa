/** Building compositions with Nix (`nxc build`): public surface of build/. */
export { build, listCompositions, currentSystem } from './build.js';
export type { BuildOptions, BuildResult, BuiltTarget, BuildStats, CompositionTarget } from './build.js';
export { checkNix, splitFlags, MIN_NIX_VERSION, NIX_BASE_FLAGS } from './nix.js';
export { bundledNixLibrary } from './nixlib.js';
