import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // One migrated database per driver for the whole run; each test file copies it.
    globalSetup: ['test/support/global-setup.ts'],
    // PGlite takes seconds to start: one migrated instance per worker file, shared by its tests.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
