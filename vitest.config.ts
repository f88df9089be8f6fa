import { defineConfig } from 'vitest/config';

// One vitest run for the whole repository: unit tests live beside the code,
// end-to-end tests under test/. Real engines (dockerd, nix, qemu) are shared
// resources on a 2-core machine, so files run one at a time.
export default defineConfig({
  test: {
    // nxc keeps project keys under $XDG_STATE_HOME: one throw-away folder per run
    globalSetup: ['./test/isolated-state-home.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'plugins/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: [
            'test/**/*.test.ts',
            'plugins/*/test/**/*.test.ts',
            'apps/*/test/**/*.test.ts',
            'packages/*/test/**/*.test.ts',
          ],
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
