import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';

import { e2eWorkers } from './workers.mjs';
import { buildPluginDir } from './plugins.mjs';
import { OWNER, requireChromium, startServer } from './server.mjs';

/**
 * globalSetup checks for Chromium, builds the plugin folder (plugins.mjs: the hello-wasm example and
 * a folder that is refused), then starts one server per Playwright worker (e2eWorkers), each the
 * binary on a free port with a fresh database and a copy of that plugin folder, set up with the e2e
 * owner (CM_BOOTSTRAP_EMAIL/PASSWORD); it stops them after. Workers share nothing: a test sees only
 * its own worker's server. The tests get each server's address, an owner API key and its plugin
 * folder through the environment, suffixed with the worker's parallel index (fixtures.ts reads them),
 * and the owner's credentials.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  requireChromium();
  const built = buildPluginDir();
  const dirs: string[] = [];
  const servers: Awaited<ReturnType<typeof startServer>>[] = [];
  const cleanup = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of [built, ...dirs]) rmSync(d, { force: true, recursive: true });
  };
  try {
    for (let i = 0; i < e2eWorkers(); i++) {
      const plugins = `${built}-${i}`;
      cpSync(built, plugins, { recursive: true });
      dirs.push(plugins);
      const server = await startServer({ env: { CM_PLUGIN_DIR: plugins } });
      servers.push(server);
      process.env[`CM_E2E_BASE_URL_${i}`] = server.baseURL;
      process.env[`CM_E2E_API_KEY_${i}`] = server.apiKey ?? '';
      process.env[`CM_E2E_PLUGIN_DIR_${i}`] = plugins;
      console.log(`concertmaster for e2e worker ${i}: ${server.baseURL}, plugins in ${plugins}`);
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
  process.env.CM_E2E_OWNER_EMAIL = OWNER.email;
  process.env.CM_E2E_OWNER_PASSWORD = OWNER.password;
  return async () => {
    // The servers' logs, for reading after a failed run (CI keeps test-results/).
    mkdirSync('test-results', { recursive: true });
    servers.forEach((s, i) => writeFileSync(`test-results/server-${i}.log`, s.logs()));
    await cleanup();
  };
}
