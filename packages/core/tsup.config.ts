import { defineConfig } from 'tsup';

// One entry per public surface (src/public/*, the `exports` subpaths of package.json), plus
// src/internal.ts for the repository's own child-process tests (not in `exports`). Shared code
// goes to common chunks, so NxcError is one class whichever entry loaded it.
export default defineConfig({
  entry: { index: 'src/index.ts', flavour: 'src/public/flavour.ts', internal: 'src/internal.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  splitting: true,
  target: 'node20',
  sourcemap: true,
});
