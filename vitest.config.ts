import { defineConfig } from 'vitest/config';

// Three tiers: unit tests need no service; the integration tier (contract suites, integration and
// end-to-end tests) shares one pair of Google emulators started on free ports; the cloud tier runs
// the deploy plan through the real gcloud and client libraries against a local fake of Google's APIs.
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/contract/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/emulators.global.ts'],
        },
      },
      { extends: true, test: { name: 'cloud', include: ['test/cloud/**/*.test.ts'], testTimeout: 240_000, hookTimeout: 120_000 } },
    ],
  },
});
