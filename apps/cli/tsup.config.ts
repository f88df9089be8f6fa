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
});
