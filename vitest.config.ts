import { defineConfig } from 'vitest/config';

// One runner for every suite. Suites that share loopback servers run their files one at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // One testbed (Prosody, dnsmasq, nginx on loopback) shared by the suites that need it.
          globalSetup: ['test/support/testbed-setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'ui',
          // The built UI in Debian's Chromium through the browser shell, on the same testbed.
          include: ['test/ui/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 90_000,
          globalSetup: ['test/support/testbed-setup.ts'],
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
