import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { chromium } from '@playwright/test';

import { CHROMIUM, CHROMIUM_ARGS } from './server.mjs';
import { apiKey, authHeader, collectErrors, e2eBase, expect, test } from './fixtures';

// Besides its login, the server defends itself against web pages that would drive it through the
// user's browser: DNS rebinding (Host check), cross-site state changes (Sec-Fetch-Site/Origin), and a
// strict Content-Security-Policy on the app (checked in every test by the fixture).

const base = e2eBase;

/** attackerSite serves a plain page on localhost, another site than the server's 127.0.0.1. */
async function attackerSite(): Promise<{ close: () => Promise<void>; url: string }> {
  const srv: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>elsewhere</title><p>a page on another site</p>');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return { close: () => new Promise((r) => srv.close(() => r())), url: `http://localhost:${port}/` };
}

const hookFlow = (path: string) => ({
  name: `Hook ${path}`,
  nodes: [{ config: { path, respond: 'immediately' }, id: 'hook', position: { x: 0, y: 0 }, type: 'trigger.webhook' }],
});

test('the app is served with strict security headers and works under them', async ({ page }) => {
  const errors = collectErrors(page);
  const resp = await page.goto('/');
  const h = resp!.headers();
  expect(h['content-security-policy']).toContain("script-src 'self';");
  // Inline style attributes are allowed for the code editor (ADR 0026); scripts and <style> never are.
  expect((h['content-security-policy'] ?? '').replace("style-src-attr 'unsafe-inline'", '')).not.toContain('unsafe-inline');
  expect(h['content-security-policy']).toMatch(/style-src 'self' 'nonce-[A-Za-z0-9+/]+=*';/);
  expect(h['content-security-policy']).not.toContain('unsafe-eval');
  expect(h['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(h['x-content-type-options']).toBe('nosniff');
  expect(h['x-frame-options']).toBe('DENY');
  expect(h['referrer-policy']).toBe('no-referrer');
  // The theme bootstrap is a file now, and it still runs before the app.
  await page.evaluate(() => localStorage.setItem('cm-theme', 'dark'));
  await page.reload();
  await expect(page.locator('html')).toHaveClass(/dark/);
  await page.evaluate(() => localStorage.removeItem('cm-theme'));
  // The API reference runs its one inline script, allowed by hash, and nothing else.
  const docs = await page.goto('/docs');
  expect(docs!.headers()['content-security-policy']).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
  await expect(page.getByText('/api/v1/workflows/{id}/executions').first()).toBeVisible();
  expect(errors).toEqual([]);
});

test('a page on another site cannot change state, not even with a body-less POST', async ({ api, page }) => {
  const wf = await api.createWorkflow(hookFlow('csrf-target'));
  const activate = await page.request.post(`${base()}/api/v1/workflows/${wf.id}/activate`, { headers: authHeader() });
  expect(activate.status()).toBe(200);
  const attacker = await attackerSite();
  try {
    // A page on another site fires requests at the server: a create (whose Content-Type cannot be JSON
    // without a preflight, so the API would refuse it anyway) and a body-less deactivate, which only the
    // cross-origin check stops. The browser sends both (no-cors). The page never sees an answer:
    // Cross-Origin-Resource-Policy makes the browser withhold it and fetch rejects; what matters is what
    // the server did.
    await page.goto(attacker.url);
    const before = await api.get<{ items: unknown[] }>('/api/v1/workflows');
    const outcomes = await page.evaluate(
      async ([target, id]) => {
        const send = (url: string, init: RequestInit) =>
          fetch(url, { ...init, method: 'POST', mode: 'no-cors' }).then(
            () => 'answered',
            (e: Error) => `withheld: ${e.message}`,
          );
        return [
          await send(`${target}/api/v1/workflows`, { body: JSON.stringify({ name: 'Planted', nodes: [] }) }),
          await send(`${target}/api/v1/workflows/${id}/deactivate`, {}),
        ];
      },
      [base(), wf.id],
    );
    expect(outcomes).toEqual(['withheld: Failed to fetch', 'withheld: Failed to fetch']);
    const after = await api.get<{ items: { name: string }[] }>('/api/v1/workflows');
    expect(after.items.map((w) => w.name)).not.toContain('Planted');
    expect(after.items.length).toBe(before.items.length);
    expect((await api.get<{ active: boolean }>(`/api/v1/workflows/${wf.id}`)).active).toBe(true);

    // Webhooks stay callable from anywhere, pages on other sites included.
    const runs = async () => (await api.get<{ items: unknown[] }>(`/api/v1/executions?workflowId=${wf.id}`)).items.length;
    const n = await runs();
    await page.evaluate(async (target) => {
      await fetch(`${target}/hooks/csrf-target`, { body: '{}', method: 'POST', mode: 'no-cors' }).catch(() => undefined);
    }, base());
    await expect.poll(runs).toBe(n + 1);
  } finally {
    await attacker.close();
  }

  // What the server answered, seen by a program that sends the headers the browser sent (and a valid
  // key: only the cross-site check refuses it).
  const refused = await page.request.post(`${base()}/api/v1/workflows/${wf.id}/deactivate`, {
    headers: { ...authHeader(), Origin: 'http://localhost:1', 'Sec-Fetch-Site': 'cross-site' },
  });
  expect(refused.status()).toBe(403);
  expect(refused.headers()['content-type']).toContain('application/problem+json');
  // The app itself, same-origin, still can.
  await page.goto('/');
  const ok = await page.evaluate(
    async ([id, key]) => (await fetch(`/api/v1/workflows/${id}/deactivate`, { headers: { Authorization: `Bearer ${key}` }, method: 'POST' })).status,
    [wf.id, apiKey()],
  );
  expect(ok).toBe(200);
});

test('a name that resolves to the server but is not one of its names is refused (DNS rebinding)', async () => {
  // Chromium resolves rebind.test to the server's loopback address, as a rebinding attacker's DNS would.
  const browser = await chromium.launch({
    args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP rebind.test 127.0.0.1'],
    executablePath: CHROMIUM,
  });
  try {
    const page = await browser.newPage();
    const port = new URL(base()).port;
    const app = await page.goto(`http://rebind.test:${port}/`);
    expect(app!.status()).toBe(421);
    const api = await page.goto(`http://rebind.test:${port}/api/v1/workflows`);
    expect(api!.status()).toBe(421);
    expect(await api!.text()).toContain('misdirected-request');
    // The same server under localhost is fine (a public route: the others want a token).
    const local = await page.goto(`http://localhost:${port}/api/v1/auth/setup`);
    expect(local!.status()).toBe(200);
    expect((await page.goto(`http://localhost:${port}/api/v1/workflows`))!.status()).toBe(401);
  } finally {
    await browser.close();
  }
});
