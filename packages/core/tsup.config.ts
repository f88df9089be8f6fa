import { defineConfig } from 'tsup';

export default defineConfig({
  // testing/index: the conformance kit (`@nxc/core/testing`), the only entry importing vitest
  entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: true,
});
