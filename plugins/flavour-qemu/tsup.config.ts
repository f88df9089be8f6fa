import { defineConfig } from 'tsup';

// Two entries: the light plugin definition, and the deploy side it imports lazily.
export default defineConfig({
  entry: ['src/index.ts', 'src/deployer.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  target: 'node20',
  sourcemap: true,
});
