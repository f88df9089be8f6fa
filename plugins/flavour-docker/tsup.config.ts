import { defineConfig } from 'tsup';

export default defineConfig({
  // deployer.ts is its own entry so index.js can import it lazily (keeps dockerode off the CLI's start-up path).
  entry: ['src/index.ts', 'src/deployer.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  target: 'node20',
  sourcemap: true,
  splitting: true,
});
