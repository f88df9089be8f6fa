import { defineConfig } from 'tsup';

// One entry per public surface (src/public/*, the `exports` subpaths of package.json), plus
// src/internal.ts for the repository's own child-process tests (not in `exports`). Shared code
// goes to common chunks, so NxcError is one class whichever entry loaded it.
// zod and p-limit are bundled into those chunks (issue #17): Node then loads core as 4 files
// instead of 16, which is most of what `nxc status` costs beyond Node's own start. zod stays a
// dependency for its types; a plugin's own zod schemas are used through their methods only
// (safeParse, issues), never with instanceof, so a plugin may bring another copy of zod.
export default defineConfig({
  // testing: the conformance kit (`@nxc/core/testing`), the only entry importing vitest
  entry: {
    index: 'src/index.ts',
    flavour: 'src/public/flavour.ts',
    testing: 'src/public/testing.ts',
    internal: 'src/internal.ts',
  },
  format: ['esm'],
  dts: true,
  clean: true,
  splitting: true,
  target: 'node20',
  sourcemap: true,
  noExternal: ['zod', 'p-limit', 'yocto-queue'],
});
