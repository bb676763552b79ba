// Starts the real concertmaster binary for browser tests and the benchmark: a free port, a fresh
// SQLite database in a temp directory, waits for /readyz; stop() ends it and removes the directory.
// Unless asked not to, the server sets itself up on first start with OWNER (CM_BOOTSTRAP_EMAIL and
// CM_BOOTSTRAP_PASSWORD), and startServer signs the owner in and makes an owner API key for scripts.
import { execSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** CHROMIUM is Debian's Chromium; the tests never download a browser. */
export const CHROMIUM = process.env.CM_E2E_CHROMIUM || '/usr/bin/chromium';

/** CHROMIUM_ARGS are the flags Chromium needs on a machine with no network and no GPU. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * requireChromium makes sure Debian's Chromium is there: as root it installs the package (never a
 * downloaded browser); otherwise, or if that fails, it stops with the exact command to run.
 * CM_E2E_NO_INSTALL=1 turns the install off.
 */
export function requireChromium() {
  if (existsSync(CHROMIUM)) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const cmd = root ? 'apt-get update && apt-get install -y chromium' : 'sudo apt-get update && sudo apt-get install -y chromium';
  if (root && CHROMIUM === '/usr/bin/chromium' && !process.env.CM_E2E_NO_INSTALL) {
    console.error(`Debian's Chromium is missing: installing it (${cmd})`);
    try {
      execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', { stdio: 'inherit' });
    } catch {
      // Reported below with the command to run by hand.
    }
    if (existsSync(CHROMIUM)) return;
  }
  throw new Error(
    `Browser tests need Debian's Chromium at ${CHROMIUM}, which is missing. Install it with:\n\n    ${cmd}\n\n(never a downloaded browser: do not run "npx playwright install").`,
  );
}

/** OWNER is the account an e2e server is set up with. */
export const OWNER = { email: 'owner@e2e.test', password: 'e2e owner: correct horse battery staple' };

/**
 * signInOwner logs owner in through the API and returns a function that answers a valid access token
 * and the workspace, refreshing it (with the refresh token in the body) when half its life is gone.
 * @returns {Promise<() => Promise<{accessToken: string, tenantId: string}>>}
 */
export async function signInOwner(baseURL, owner = OWNER) {
  const post = async (path, body) => {
    const r = await fetch(baseURL + path, { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' }, method: 'POST' });
    if (!r.ok) throw new Error(`POST ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  let pair = await post('/api/v1/auth/login', { email: owner.email, password: owner.password });
  let at = Date.now();
  return async () => {
    if (Date.now() - at > (pair.expiresIn * 1000) / 2) {
      pair = await post('/api/v1/auth/refresh', { refreshToken: pair.refreshToken });
      at = Date.now();
    }
    return { accessToken: pair.accessToken, tenantId: pair.tenantId };
  };
}

/**
 * signInContext signs a browser context in as the owner: a session of its own (POST /auth/switch to
 * the owner's workspace, which starts a new refresh family) whose cookie lands in the context, so
 * that the app's first refresh finds it. No login: logins are rate limited.
 * @param {{request: {post: Function}}} context a Playwright BrowserContext
 * @param {string} baseURL
 * @param {() => Promise<{accessToken: string, tenantId: string}>} owner from signInOwner
 */
export async function signInContext(context, baseURL, owner) {
  const { accessToken, tenantId } = await owner();
  const r = await context.request.post(`${baseURL}/api/v1/auth/switch`, { data: { tenantId }, headers: { Authorization: `Bearer ${accessToken}` } });
  if (!r.ok()) throw new Error(`signing the browser in failed: ${r.status()} ${await r.text()}`);
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => res(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/**
 * launch starts the binary on port with the database in dir and resolves once /readyz answers.
 * @returns {Promise<{exited: () => boolean, kill: () => Promise<void>}>}
 */
async function launch(bin, dir, port, log, extraEnv) {
  const baseURL = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['serve'], {
    // CM_HTTP_ALLOW_PRIVATE lets http.request nodes reach the tests' own fake services on loopback.
    env: {
      ...process.env,
      CM_HTTP_ALLOW_PRIVATE: 'true',
      CM_ADDR: `127.0.0.1:${port}`,
      CM_DATABASE_URL: `sqlite://${join(dir, 'cm.db')}`,
      CM_LOG_LEVEL: process.env.CM_LOG_LEVEL || 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', log);
  child.stderr.on('data', log);
  let exited = false;
  const exit = new Promise((res) =>
    child.on('exit', () => {
      exited = true;
      res(undefined);
    }),
  );
  // Generous: on a loaded machine compiling the WebAssembly plugins alone can take most of a minute.
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited) throw new Error('concertmaster exited before it was ready');
    try {
      const r = await fetch(`${baseURL}/readyz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('concertmaster was not ready within 120s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    exited: () => exited,
    kill: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(t);
    },
  };
}

/**
 * startServer starts bin/concertmaster (or CM_E2E_BINARY) and resolves once it is ready. restart()
 * stops it (SIGTERM, a graceful shutdown) and starts it again on the same port with the same data.
 * With setup (the default) the server makes OWNER on first start; owner() then answers the owner's
 * access token and apiKey is an owner API key (for scripts: Authorization: Bearer). env adds settings.
 * @param {{setup?: boolean, env?: Record<string, string>}} [options]
 * @returns {Promise<{baseURL: string, apiKey: string | null, owner: (() => Promise<{accessToken: string, tenantId: string}>) | null, stop: () => Promise<void>, restart: () => Promise<void>, logs: () => string}>}
 */
export async function startServer({ env = {}, setup = true } = {}) {
  const bin = resolve(process.env.CM_E2E_BINARY || join(here, '..', '..', 'bin', 'concertmaster'));
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build it first (make build, which also builds web/dist).`);
  const dir = mkdtempSync(join(tmpdir(), 'cm-e2e-'));
  const port = await freePort();
  let out = '';
  const log = (d) => (out += d);
  const extraEnv = setup ? { CM_BOOTSTRAP_EMAIL: OWNER.email, CM_BOOTSTRAP_PASSWORD: OWNER.password, ...env } : env;
  const start = async () => {
    try {
      return await launch(bin, dir, port, log, extraEnv);
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : e}:\n${out}`);
    }
  };
  let proc = await start();
  const baseURL = `http://127.0.0.1:${port}`;
  let owner = null;
  let apiKey = null;
  if (setup) {
    try {
      owner = await signInOwner(baseURL);
      const { accessToken } = await owner();
      const r = await fetch(`${baseURL}/api/v1/api-keys`, {
        body: JSON.stringify({ name: 'e2e scripts', role: 'owner' }),
        headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' },
        method: 'POST',
      });
      if (!r.ok) throw new Error(`creating the e2e API key: ${r.status} ${await r.text()}`);
      apiKey = (await r.json()).key;
    } catch (e) {
      await proc.kill();
      throw new Error(`${e instanceof Error ? e.message : e}:\n${out}`);
    }
  }
  return {
    apiKey,
    baseURL,
    owner,
    logs: () => out,
    restart: async () => {
      await proc.kill();
      proc = await start();
    },
    stop: async () => {
      await proc.kill();
      rmSync(dir, { force: true, recursive: true });
    },
  };
}
