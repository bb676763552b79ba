import { test as base, expect, type APIRequestContext, type BrowserContext, type Page } from '@playwright/test';

import { signInContext, signInOwner, type OwnerSession } from './server.mjs';
import { workerEnv } from './workers.mjs';

/** Api is a thin client of the server under test, for setting up data. */
export interface Api {
  createWorkflow: (def: unknown) => Promise<{ id: string; version: number }>;
  get: <T>(path: string) => Promise<T>;
  put: (path: string, body: unknown, headers?: Record<string, string>) => Promise<number>;
}

/** e2eBase is the address of the server global-setup.ts started for this worker. */
export const e2eBase = () => workerEnv('CM_E2E_BASE_URL');

/** apiKey is the owner API key global-setup.ts made on this worker's server, for setting up data. */
export const apiKey = () => workerEnv('CM_E2E_API_KEY');

/** pluginDir is the plugin folder (CM_PLUGIN_DIR) of this worker's server. */
export const pluginDir = () => workerEnv('CM_E2E_PLUGIN_DIR');

/** authHeader is the header that authenticates a script with the owner API key. */
export const authHeader = () => ({ Authorization: `Bearer ${apiKey()}` });

/** owner is the e-mail and password of the server's owner. */
export const owner = () => ({ email: process.env.CM_E2E_OWNER_EMAIL as string, password: process.env.CM_E2E_OWNER_PASSWORD as string });

/** signIn gives a browser context a session of the owner's (its refresh cookie), with no login. */
export async function signIn(context: BrowserContext, session: OwnerSession, baseURL = e2eBase()): Promise<void> {
  await signInContext(context, baseURL, session);
}

/** loginAs signs a browser context in with an e-mail and a password (a real login: rate limited). */
export async function loginAs(
  request: APIRequestContext,
  email: string,
  password: string,
  baseURL = e2eBase(),
): Promise<{ accessToken: string; tenantId: string }> {
  const r = await request.post(`${baseURL}/api/v1/auth/login`, { data: { email, password } });
  expect(r.status(), await r.text()).toBe(200);
  return (await r.json()) as { accessToken: string; tenantId: string };
}

/**
 * test is Playwright's test with baseURL set to this worker's server (started by global-setup.ts), an api fixture
 * and a request fixture that act with the owner API key, a page signed in as the owner (test.use({
 * signedIn: false }) for a signed-out one), and a check, in every test, that the pages never broke
 * their Content-Security-Policy: Chromium reports each blocked script, style, eval or connection on
 * the console.
 */
export const test = base.extend<{ api: Api; contentSecurityPolicy: void; signedIn: boolean }, { ownerSession: OwnerSession }>({
  // One login per worker; every test's page gets a session of its own from it (signIn).
  ownerSession: [async ({}, use) => use(await signInOwner(e2eBase())), { scope: 'worker' }],
  signedIn: [true, { option: true }],
  page: async ({ ownerSession, page, signedIn }, use) => {
    if (signedIn) await signIn(page.context(), ownerSession);
    await use(page);
  },
  request: async ({ playwright }, use) => {
    const ctx = await playwright.request.newContext({ baseURL: e2eBase(), extraHTTPHeaders: authHeader() });
    await use(ctx);
    await ctx.dispose();
  },
  contentSecurityPolicy: [
    async ({ page }, use) => {
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      page.on('pageerror', (e) => {
        if (/Content Security Policy|unsafe-eval/i.test(e.message)) violations.push(e.message);
      });
      await use();
      expect(violations, 'the pages broke their Content-Security-Policy').toEqual([]);
    },
    { auto: true },
  ],
  api: async ({ playwright }, use) => {
    const ctx = await playwright.request.newContext({ baseURL: e2eBase(), extraHTTPHeaders: authHeader() });
    await use({
      createWorkflow: async (def) => {
        const r = await ctx.post('/api/v1/workflows', { data: def });
        expect(r.status(), await r.text()).toBe(201);
        return (await r.json()) as { id: string; version: number };
      },
      get: async <T>(path: string) => (await (await ctx.get(path)).json()) as T,
      put: async (path, body, headers) => (await ctx.put(path, { data: body, headers })).status(),
    });
    await ctx.dispose();
  },
  baseURL: async ({}, use) => {
    await use(e2eBase());
  },
});

export { expect };

/** handle locates a port handle of a node on the canvas. */
export function handle(page: Page, node: string, port: string) {
  return page.locator(`.react-flow__handle[data-nodeid="${node}"][data-handleid="${port}"]`);
}

/** connect drags a connection from an output port to an input port, as a user does. */
export async function connect(page: Page, from: [string, string], to: [string, string]) {
  const a = await handle(page, ...from).boundingBox();
  const b = await handle(page, ...to).boundingBox();
  if (!a || !b) throw new Error(`handle not visible: ${from.join('.')} or ${to.join('.')}`);
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
  await page.mouse.up();
}

/** node locates a node card on the canvas by id. */
export function node(page: Page, id: string) {
  return page.locator(`.react-flow__node[data-id="${id}"]`);
}

/** collectErrors fails the test on uncaught page errors. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** viewportSettled waits until the canvas stops moving (after a zoom-to-fit animation). */
export async function viewportSettled(page: Page) {
  await expect(page.locator('[data-page=editor]')).toHaveAttribute('data-layout', 'idle');
  await page.waitForFunction(
    () =>
      new Promise<boolean>((resolve) => {
        const el = document.querySelector('.react-flow__viewport');
        const before = el?.getAttribute('style');
        setTimeout(() => resolve(el?.getAttribute('style') === before), 150);
      }),
  );
}
