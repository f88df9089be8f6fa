import { defineConfig } from 'tsup';

// `usable` is its own entry: the flavours' light entries call it without loading the engine
// (and ssh2) that the main entry brings.
export default defineConfig({
  entry: { index: 'src/index.ts', usable: 'src/usable.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  splitting: true,
  target: 'node20',
  sourcemap: true,
});
