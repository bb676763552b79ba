import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

import { buildPluginDir } from './plugins.mjs';
import { OWNER, requireChromium, startServer } from './server.mjs';

/**
 * globalSetup checks for Chromium, builds the plugin folder (plugins.mjs: the hello-wasm example and
 * a folder that is refused), starts the binary on a free port with a fresh database and that plugin
 * folder, set up with the e2e owner (CM_BOOTSTRAP_EMAIL/PASSWORD), and stops it after. The tests get
 * the server's address, the owner's credentials, an owner API key and the plugin folder through the
 * environment.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  requireChromium();
  const plugins = buildPluginDir();
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ env: { CM_PLUGIN_DIR: plugins } });
  } catch (e) {
    rmSync(plugins, { force: true, recursive: true });
    throw e;
  }
  process.env.CM_E2E_BASE_URL = server.baseURL;
  process.env.CM_E2E_API_KEY = server.apiKey ?? '';
  process.env.CM_E2E_OWNER_EMAIL = OWNER.email;
  process.env.CM_E2E_OWNER_PASSWORD = OWNER.password;
  process.env.CM_E2E_PLUGIN_DIR = plugins;
  console.log(`concertmaster for e2e tests: ${server.baseURL}, plugins in ${plugins}`);
  return async () => {
    await server.stop();
    rmSync(plugins, { force: true, recursive: true });
    // The server's log, for reading after a failed run (CI keeps test-results/).
    mkdirSync('test-results', { recursive: true });
    writeFileSync('test-results/server.log', server.logs());
  };
}
