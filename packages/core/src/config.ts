/** Project configuration (nxc.config.*, .nxcrc*, package.json#nxc, legacy nxc.json). */
export interface NxcConfig {
  /** Flavour packages to load: npm names or paths relative to the config file. */
  plugins: string[];
  /** Composition file (legacy `composition`), default `composition.nix`. */
  composition: string;
  /** Flavour used when `-f` is not given (legacy `default_flavour`). */
  defaultFlavour?: string;
  /** Nix settings. */
  nix: {
    /** Extra flags appended to every nix command. */
    flags: string[];
    /** Flake inputs to override: name -> path (relative to the project) or flake URL. */
    overrideInputs: Record<string, string>;
  };
  /** Per-flavour options, keyed by flavour name. */
  flavourOptions: Record<string, Record<string, unknown>>;
}

/** Typed helper for `nxc.config.ts` / `.mjs`. */
export function defineConfig(config: Partial<NxcConfig>): Partial<NxcConfig> {
  return config;
}
