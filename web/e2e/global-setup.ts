import { mkdirSync, writeFileSync } from 'node:fs';

import { OWNER, requireChromium, startServer } from './server.mjs';

/**
 * globalSetup checks for Chromium, starts the binary on a free port with a fresh database, set up
 * with the e2e owner (CM_BOOTSTRAP_EMAIL/PASSWORD), and stops it after. The tests get the server's
 * address, the owner's credentials and an owner API key through the environment.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  requireChromium();
  const server = await startServer();
  process.env.CM_E2E_BASE_URL = server.baseURL;
  process.env.CM_E2E_API_KEY = server.apiKey ?? '';
  process.env.CM_E2E_OWNER_EMAIL = OWNER.email;
  process.env.CM_E2E_OWNER_PASSWORD = OWNER.password;
  console.log(`concertmaster for e2e tests: ${server.baseURL}`);
  return async () => {
    await server.stop();
    // The server's log, for reading after a failed run (CI keeps test-results/).
    mkdirSync('test-results', { recursive: true });
    writeFileSync('test-results/server.log', server.logs());
  };
}
