import type { Page, Request } from '@playwright/test';

import { signInContext, startServer } from './server.mjs';
import { collectErrors, e2eBase, expect, node, test } from './fixtures';

/** delayWorkflow is start → wait (flow.delay) → done: long enough to watch on a loaded CI machine, short enough for a fast test. */
function delayWorkflow(name: string, delay = '3s', trigger: Record<string, unknown> = { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }) {
  return {
    edges: [
      { source: trigger.id, target: 'wait' },
      { source: 'wait', target: 'done' },
    ],
    name,
    nodes: [
      trigger,
      { config: { duration: delay }, id: 'wait', position: { x: 300, y: 0 }, type: 'flow.delay' },
      { config: { expression: '{{ "done" }}' }, id: 'done', position: { x: 600, y: 0 }, type: 'data.transform' },
    ],
  };
}

/** apiCalls records the page's API requests under a path prefix, from now on. */
function apiCalls(page: Page, prefix: string): string[] {
  const seen: string[] = [];
  page.on('request', (r: Request) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith(prefix)) seen.push(`${r.method()} ${u.pathname}${u.search}`);
  });
  return seen;
}

const status = (page: Page, id: string) => node(page, id).getByTestId('workflow-node');

test('(a) a run with a delay paints node states live on the canvas, without polling', async ({ api, page }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow(delayWorkflow('Live canvas'));
  await page.goto(`/workflows/${wf.id}`);
  await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-live-state', 'live');
  await expect(page.getByRole('status').filter({ hasText: 'Live updates: connected' })).toBeAttached();
  const calls = apiCalls(page, '/api/v1/executions');

  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByRole('dialog', { name: 'Run workflow' }).getByRole('button', { name: 'Run' }).click();
  await expect(status(page, 'wait')).toHaveAttribute('data-status', 'waiting');
  await expect(status(page, 'start')).toHaveAttribute('data-status', 'succeeded');
  // A delay over 2 s (the engine's suspend threshold) parks the whole run as waiting.
  await expect(page.getByTestId('run-bar').locator('[data-status=waiting]')).toBeVisible();
  const whileWaiting = calls.length;
  await expect(status(page, 'done')).toHaveAttribute('data-status', 'succeeded', { timeout: 8000 });
  await expect(status(page, 'wait')).toHaveAttribute('data-status', 'succeeded');
  await expect(page.getByTestId('run-bar').locator('[data-status=succeeded]')).toBeVisible();

  // No polling: over a run of more than 3 s, the page read the execution a bounded number of times
  // (the start, once when it finished) instead of every 400 ms; nothing at all while it waited.
  await page.waitForLoadState('networkidle');
  expect(
    calls.filter((c) => !c.startsWith('GET')),
    calls.join('\n'),
  ).toEqual([]);
  expect(calls.length, calls.join('\n')).toBeLessThanOrEqual(3);
  expect(calls.length - whileWaiting, calls.join('\n')).toBeLessThanOrEqual(2);
  expect(errors).toEqual([]);
});

test('(b) a webhook run appears in the executions list without a reload, and finishes there', async ({ api, page, request }) => {
  const path = `live-${Date.now()}`;
  const wf = await api.createWorkflow(
    delayWorkflow('Live webhook', '800ms', { config: { path }, id: 'hook', position: { x: 0, y: 0 }, type: 'trigger.webhook' }),
  );
  expect((await request.post(`/api/v1/workflows/${wf.id}/activate`)).ok()).toBeTruthy();
  await page.goto(`/executions?workflowId=${wf.id}`);
  await expect(page.getByText('No execution matches these filters')).toBeVisible();
  await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-live-state', 'live');
  const loads: string[] = [];
  page.on('load', () => loads.push(page.url()));

  // The webhook answers when the run is over: the row shows up, running, before that.
  const call = fetch(`${e2eBase()}/hooks/${path}`, {
    body: JSON.stringify({ order: 1 }),
    headers: { 'Content-Type': 'application/json' },
    method: 'POST',
  });
  const row = page.getByTestId('execution-row');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('webhook');
  await expect(row.getByText(/queued|running/)).toBeVisible();
  const r = await call;
  expect(r.status).toBe(200);
  const executionId = r.headers.get('X-Execution-ID')!;
  await expect(row.getByRole('link', { name: executionId.slice(-8) })).toHaveAttribute('href', `/executions/${executionId}`);
  await expect(row.getByText('succeeded')).toBeVisible();
  expect(loads).toEqual([]);
});

test('(c) after a server restart the client reconnects and catches up on what it missed', async ({ browser }) => {
  const server = await startServer();
  const page = await browser.newPage({ baseURL: server.baseURL });
  const headers = { Authorization: `Bearer ${server.apiKey}` };
  try {
    await signInContext(page.context(), server.baseURL, server.owner!);
    const errors = collectErrors(page);
    const res = await page.request.post('/api/v1/workflows', { data: delayWorkflow('Across a restart', '4s'), headers });
    const wf = (await res.json()) as { id: string };
    const run = await page.request.post(`/api/v1/workflows/${wf.id}/executions`, { data: { input: {} }, headers });
    const exec = (await run.json()) as { id: string };

    await page.goto(`/executions/${exec.id}`);
    const indicator = page.getByTestId('live-indicator');
    await expect(indicator).toHaveAttribute('data-live-state', 'live');
    const header = page.locator('[data-page=execution] h1');
    await expect(status(page, 'wait')).toHaveAttribute('data-status', 'waiting');
    await expect(header).toContainText(/running|waiting/);

    // The server goes away and comes back; a second run starts and finishes before the page has
    // reconnected or while it does, and the first one's delay runs out.
    const states: string[] = [];
    await page.exposeFunction('liveState', (s: string) => states.push(s));
    await page.evaluate(() => {
      const el = document.querySelector('[data-testid=live-indicator]')!;
      new MutationObserver(() => (window as unknown as { liveState: (s: string) => void }).liveState(el.getAttribute('data-live-state') ?? '')).observe(el, {
        attributes: true,
      });
    });
    await server.restart();
    const quick = await page.request.post('/api/v1/workflows', {
      data: { edges: [], name: 'Across a restart, quick', nodes: [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }] },
      headers,
    });
    const second = await page.request.post(`/api/v1/workflows/${((await quick.json()) as { id: string }).id}/executions?wait=10s`, {
      data: { input: {} },
      headers,
    });
    expect(((await second.json()) as { status: string }).status).toBe('succeeded');

    await expect(indicator).toHaveAttribute('data-live-state', 'live', { timeout: 8000 });
    expect(states).toContain('reconnecting');
    await expect(header).toContainText('succeeded', { timeout: 8000 });
    await expect(status(page, 'done')).toHaveAttribute('data-status', 'succeeded');

    // The list, opened by navigation (no reload), has both runs.
    await page.getByRole('link', { name: 'Executions' }).first().click();
    await expect(page.getByTestId('execution-row').filter({ hasText: 'Across a restart' })).toHaveCount(2);
    expect(errors).toEqual([]);
  } finally {
    await page.close();
    await server.stop();
  }
});

test('(d) listen for test event: the webhook run called from outside shows live on the canvas', async ({ api, page }) => {
  const errors = collectErrors(page);
  const path = `listen-${Date.now()}`;
  const wf = await api.createWorkflow(
    delayWorkflow('Listen here', '800ms', { config: { method: 'PUT', path }, id: 'hook', position: { x: 0, y: 0 }, type: 'trigger.webhook' }),
  );
  await page.goto(`/workflows/${wf.id}`);
  await node(page, 'hook').click();
  const url = `${e2eBase()}/hooks/${path}`;
  const panel = page.getByRole('region', { name: 'Webhook URL' });
  await expect(panel.getByTestId('webhook-url')).toHaveText(url);
  await expect(panel).toContainText('PUT');
  await expect(panel.getByRole('button', { name: 'Copy the webhook URL' })).toBeVisible();

  // The workflow is inactive: listening turns its triggers on first.
  await panel.getByRole('button', { name: 'Activate and listen for test event' }).click();
  await expect(page.getByTestId('listening-bar')).toBeVisible();
  await expect(page.getByRole('switch')).toHaveAttribute('aria-checked', 'true');

  // Called from outside; it answers when the run is over, and the canvas shows the run as it goes.
  const call = fetch(url, { body: '{"hello":"world"}', headers: { 'Content-Type': 'application/json' }, method: 'PUT' });
  await expect(page.getByTestId('listening-bar')).toBeHidden();
  await expect(status(page, 'hook')).toHaveAttribute('data-status', 'succeeded');
  await expect(status(page, 'wait')).toHaveAttribute('data-status', 'waiting');
  await expect(status(page, 'done')).toHaveAttribute('data-status', 'succeeded', { timeout: 8000 });
  expect((await call).status).toBe(200);
  expect(errors).toEqual([]);
});

test('(e) without a WebSocket the page falls back to Server-Sent Events and stays live', async ({ api, page }) => {
  const errors = collectErrors(page);
  // A proxy that refuses WebSockets: every connection closes at once.
  await page.routeWebSocket(/\/api\/v1\/ws$/, (ws) => ws.close({ code: 1011, reason: 'no websockets here' }));
  const wf = await api.createWorkflow(delayWorkflow('Live over SSE', '1200ms'));
  await page.goto(`/workflows/${wf.id}`);
  await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-live-state', 'fallback-sse');
  const streams: string[] = [];
  page.on('request', (r) => {
    if (r.headers().accept === 'text/event-stream') streams.push(new URL(r.url()).pathname);
  });
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByRole('dialog', { name: 'Run workflow' }).getByRole('button', { name: 'Run' }).click();
  await expect(status(page, 'wait')).toHaveAttribute('data-status', 'waiting');
  await expect(status(page, 'done')).toHaveAttribute('data-status', 'succeeded', { timeout: 8000 });
  expect(
    streams.some((p) => /^\/api\/v1\/executions\/[^/]+\/events$/.test(p)),
    streams.join('\n'),
  ).toBe(true);
  expect(errors).toEqual([]);
});
