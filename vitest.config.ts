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
    // A worker keeps the modules it has loaded from one test file to the next: loading the
    // application's modules and compiling PGlite's WebAssembly once per worker rather than once
    // per file takes about a third off the run. Every test file opens its own database and
    // app, and time comes from the clock each app is given, so files share nothing else.
    isolate: false,
  },
});
