import { defineConfig } from 'tsup';

// Two entries: the `nxc` binary and the programmatic `run()`. Actions are split into chunks
// loaded on demand so `nxc --help` only pays for commander.
export default defineConfig({
  entry: ['src/cli.ts', 'src/index.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  splitting: true,
  target: 'node20',
  sourcemap: true,
  // commander and picocolors are bundled in (issue #17): one ES module less to resolve each, and
  // no CommonJS loader and export lexer at every start. @nxc/* stay external: plugins must
  // share the CLI's one copy of @nxc/core.
  noExternal: ['commander', 'picocolors'],
  // the bundled CommonJS code calls require() for Node's built-in modules
  banner: {
    js: "import { createRequire as __nxcRequire } from 'node:module'; const require = __nxcRequire(import.meta.url);",
  },
});
