import { test as base, expect, type Page } from '@playwright/test';

/** Api is a thin client of the server under test, for setting up data. */
export interface Api {
  createWorkflow: (def: unknown) => Promise<{ id: string; version: number }>;
  get: <T>(path: string) => Promise<T>;
  put: (path: string, body: unknown, headers?: Record<string, string>) => Promise<number>;
}

/**
 * test is Playwright's test with baseURL set to the server started by global-setup.ts, an api fixture,
 * and a check, in every test, that the pages never broke their Content-Security-Policy: Chromium reports
 * each blocked script, style, eval or connection on the console.
 */
export const test = base.extend<{ api: Api; contentSecurityPolicy: void }>({
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
    const ctx = await playwright.request.newContext({ baseURL: process.env.CM_E2E_BASE_URL });
    await use({
      createWorkflow: async (def) => {
        const r = await ctx.post('/api/v1/workflows', { data: def });
        expect(r.status(), await r.text()).toBe(201);
        return (await r.json()) as { id: string; version: number };
      },
      get: async <T,>(path: string) => (await (await ctx.get(path)).json()) as T,
      put: async (path, body, headers) => (await ctx.put(path, { data: body, headers })).status(),
    });
    await ctx.dispose();
  },
  baseURL: async ({}, use) => {
    await use(process.env.CM_E2E_BASE_URL);
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
