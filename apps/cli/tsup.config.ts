import { readFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';

// commander requires node:child_process at load, for executable subcommands, which nxc has
// none of; Node's child_process (with net, dgram and the streams) costs every command ~6 ms
// of start (issue #17). The bundled copy loads it on first use instead. The build fails if
// commander's line changes, rather than silently loading it again.
const COMMANDER_CHILD_PROCESS = "const childProcess = require('node:child_process');";
const lazyCommanderChildProcess = {
  name: 'lazy-commander-child-process',
  setup(build: {
    onLoad(
      options: { filter: RegExp },
      callback: (args: { path: string }) => Promise<{ contents: string; loader: 'js' }>,
    ): void;
  }) {
    build.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      if (!source.includes(COMMANDER_CHILD_PROCESS))
        throw new Error(`${path}: commander no longer has the line ${COMMANDER_CHILD_PROCESS}`);
      return {
        contents: source.replace(
          COMMANDER_CHILD_PROCESS,
          "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };",
        ),
        loader: 'js',
      };
    });
  },
};

// commander and picocolors are bundled in (issue #17): one ES module less to resolve each, and
// no CommonJS loader and export lexer at every start. @nxc/* stay external: plugins must
// share the CLI's one copy of @nxc/core.
const shared = {
  format: ['esm'],
  target: 'node20',
  sourcemap: true,
  splitting: true,
  noExternal: ['commander', 'picocolors'],
  esbuildPlugins: [lazyCommanderChildProcess],
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
