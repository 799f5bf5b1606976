// The package test (npm pack, install the tarball with production dependencies, start the installed
// `baton`) compiles better-sqlite3 for minutes: it runs on its own after the other suites (`npm test`),
// so it never competes with their timed browser flows for the CPU.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/package/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { NODE_NO_WARNINGS: '1' },
  },
});
