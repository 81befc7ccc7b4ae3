import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Brings the JavaScript that child processes run up to date (test/fixtures/test-build.ts).
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    // Property and simulation suites are CPU-bound; two workers match the 2-core machines.
    maxWorkers: 2,
    // Test files share a worker's module cache instead of each importing the sources again
    // in a fresh process: that import was 76 s of the 289 s run on 2 idle cores, and the
    // run takes about a minute less. Tests must not leave state behind them (restore spies,
    // stop what they start, no module-level singletons), which they must do anyway.
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
})
