import { defineConfig } from '@playwright/test';

import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from './e2e/server.mjs';
import { e2eWorkers } from './e2e/workers.mjs';

// Fail loudly, with the install command, before anything else when Debian's Chromium is missing.
requireChromium();

export default defineConfig({
  expect: { timeout: 10_000 },
  forbidOnly: Boolean(process.env.CI),
  fullyParallel: false,
  globalSetup: './e2e/global-setup.ts',
  outputDir: 'test-results',
  reporter: [['list']],
  retries: 0,
  testDir: 'e2e',
  timeout: 90_000,
  use: {
    browserName: 'chromium',
    launchOptions: { args: CHROMIUM_ARGS, executablePath: CHROMIUM },
    trace: 'retain-on-failure',
    viewport: { height: 900, width: 1440 },
  },
  // Each worker has a server of its own (e2e/global-setup.ts); a spec file runs in one worker, in order.
  workers: e2eWorkers(),
});
