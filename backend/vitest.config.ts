import { defineConfig } from 'vitest/config';

/**
 * Test tiers (see ARCHITECTURE.md): unit (pure logic), contract (every store
 * adapter against one suite), integration (the real app over HTTP on SQLite),
 * e2e (the built gateway as a process, and the UI in Debian's Chromium).
 */
export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'contract', include: ['test/contract/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'], testTimeout: 30_000 } },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false },
      },
    ],
    pool: 'forks',
    reporters: ['default'],
  },
});
