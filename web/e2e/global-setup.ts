import { mkdirSync, writeFileSync } from 'node:fs';

import { requireChromium, startServer } from './server.mjs';

/** globalSetup checks for Chromium, starts the binary on a free port with a fresh database, and stops it after. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  requireChromium();
  const server = await startServer();
  process.env.CM_E2E_BASE_URL = server.baseURL;
  console.log(`concertmaster for e2e tests: ${server.baseURL}`);
  return async () => {
    await server.stop();
    // The server's log, for reading after a failed run (CI keeps test-results/).
    mkdirSync('test-results', { recursive: true });
    writeFileSync('test-results/server.log', server.logs());
  };
}
