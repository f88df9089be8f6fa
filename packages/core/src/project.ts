/** A project directory and its state folders. */
export interface Project {
  /** Absolute path of the project directory (holds flake.nix / nxc config). */
  root: string;
  /** `build/` (compose info links). */
  buildDir: string;
  /** `deploy/` (deployment documents and runtime state). */
  deployDir: string;
  /** `artifact/` (per composition/flavour artifacts: logs, generated compose files). */
  artifactDir: string;
  /** The loaded config (see config.ts). */
  config: import('./config.js').NxcConfig;
  /** Path of the config file, when one was found. */
  configFile?: string;
}
