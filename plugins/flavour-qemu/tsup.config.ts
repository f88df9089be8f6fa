import { defineConfig } from 'tsup';

// Entries: the light plugin definition, the deploy side it imports lazily, and the private
// segment's switch, which the deploy side runs as its own process.
export default defineConfig({
  entry: ['src/index.ts', 'src/deployer.ts', 'src/segment-switch.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  target: 'node20',
  sourcemap: true,
});
