import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // examples/: unit tests of the example hook modules, written with the hook test kit.
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    // The package test runs on its own afterwards (vitest.package.config.ts, `npm test`).
    exclude: [...configDefaults.exclude, 'test/package/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // oidc-provider warns once per process about Node 20; keep test output readable.
    env: { NODE_NO_WARNINGS: '1' },
  },
});
