import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // oidc-provider warns once per process about Node 20; keep test output readable.
    env: { NODE_NO_WARNINGS: '1' },
  },
});
