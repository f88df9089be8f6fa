import { defineConfig } from 'tsup';

// commander and picocolors are bundled in (issue #17): one ES module less to resolve each, and
// no CommonJS loader and export lexer at every start. @nxc/* stay external: plugins must
// share the CLI's one copy of @nxc/core.
const shared = {
  format: ['esm'],
  target: 'node20',
  sourcemap: true,
  splitting: true,
  noExternal: ['commander', 'picocolors'],
  // the bundled CommonJS code calls require() for Node's built-in modules
  banner: {
    js: "import { createRequire as __nxcRequire } from 'node:module'; const require = __nxcRequire(import.meta.url);",
  },
} as const;

// Two builds, so that their chunks are not shared (the package.json build script empties
// dist/ first; tsup's clean would race between them):
// - the `nxc` binary: cli.js, which loads main (commander and the verbs) for `nxc --help`, then
//   one module holding every action once a command runs (issue #17: a command loads about 4
//   files of the CLI instead of 11);
// - the programmatic `run()` (index.js) and its types.
export default defineConfig([
  { ...shared, entry: ['src/cli.ts'] },
  { ...shared, entry: ['src/index.ts'], dts: { entry: 'src/index.ts' } },
]);
