// Takes the screenshots of the main screens for docs/screenshots/ (npm run screenshots), against the
// real binary with a fresh database seeded here: the workflows list, the editor with a run painted
// (light and dark), an execution with its timeline, the node types page with a type's docs open, and the
// plugins page (the hello-wasm example and a refused folder, plugins.mjs). 1440×900.
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { bigWorkflow } from './big-workflow.mjs';
import { buildPluginDir } from './plugins.mjs';
import { CHROMIUM, CHROMIUM_ARGS, requireChromium, signInContext, startServer } from './server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', '..', 'docs', 'screenshots');
const { chromium } = createRequire(import.meta.url)('playwright-core');

requireChromium();
mkdirSync(out, { recursive: true });

let calls = 0;
const flaky = createServer((_req, res) => {
  calls++;
  if (calls === 1) res.writeHead(503, { 'Content-Type': 'application/json' }).end('{"error":"warming up"}');
  else
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(
      JSON.stringify({
        orders: [
          { id: 1, total: 120 },
          { id: 2, total: 40 },
        ],
      }),
    );
});
await new Promise((r) => flaky.listen(0, '127.0.0.1', r));
const flakyUrl = `http://127.0.0.1:${flaky.address().port}/orders`;

const plugins = buildPluginDir();
const server = await startServer({ env: { CM_PLUGIN_DIR: plugins } });
const browser = await chromium.launch({ args: CHROMIUM_ARGS, executablePath: CHROMIUM });
try {
  const post = async (path, body) => {
    const r = await fetch(server.baseURL + path, {
      body: JSON.stringify(body),
      headers: { Authorization: `Bearer ${server.apiKey}`, 'Content-Type': 'application/json' },
      method: 'POST',
    });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const at = (x, y) => ({ x, y });
  await post('/api/v1/workflows', bigWorkflow(200));
  await post('/api/v1/workflows', {
    edges: [
      { source: 'hook', target: 'route' },
      { source: 'route', sourcePort: 'vip', target: 'welcome_vip' },
      { source: 'route', sourcePort: 'default', target: 'welcome' },
    ],
    name: 'New signups',
    description: 'Greets every new user; VIPs get a personal welcome.',
    tags: ['onboarding'],
    nodes: [
      { config: { path: 'signups' }, id: 'hook', position: at(0, 0), type: 'trigger.webhook' },
      { config: { cases: [{ condition: "{{ input.body.plan == 'vip' }}", port: 'vip' }] }, id: 'route', position: at(320, 0), type: 'flow.switch' },
      { config: { fields: { message: 'Welcome aboard, {{ input.body.name }}!' } }, id: 'welcome_vip', position: at(640, -90), type: 'data.set' },
      { config: { fields: { message: 'Welcome!' } }, id: 'welcome', position: at(640, 90), type: 'data.set' },
    ],
  });
  const count = await post('/api/v1/workflows', {
    edges: [
      { source: 'start', target: 'fetch' },
      { source: 'fetch', target: 'big_ones' },
      { source: 'big_ones', target: 'summary' },
    ],
    name: 'Nightly order report',
    description: 'Fetches the day’s orders and keeps the big ones.',
    tags: ['finance', 'nightly'],
    nodes: [
      { id: 'start', position: at(0, 0), type: 'trigger.manual' },
      { config: { url: flakyUrl }, id: 'fetch', position: at(320, 0), retry: { initialInterval: '200ms', maxAttempts: 3 }, type: 'http.request' },
      { config: { condition: '{{ item.total > 100 }}', items: '{{ input.body.orders }}' }, id: 'big_ones', position: at(640, 0), type: 'data.filter' },
      { config: { expression: '{{ {count: len(input), ids: map(input, #.id)} }}' }, id: 'summary', position: at(960, 0), type: 'data.transform' },
    ],
  });
  const fail = await post('/api/v1/workflows', {
    edges: [{ source: 'start', target: 'check' }],
    name: 'Inventory check',
    nodes: [
      { id: 'start', position: at(0, 0), type: 'trigger.manual' },
      { config: { code: 'stock_low', message: 'Stock below threshold' }, id: 'check', position: at(320, 0), type: 'flow.fail' },
    ],
  });
  // The orders example, with a sticky note and a tag; its trigger's data is pinned (the badge on the
  // canvas), which test runs use and production runs, such as the one shot below, do not.
  const ordersDef = JSON.parse(readFileSync(join(here, '..', '..', 'examples', 'orders.json'), 'utf8'));
  ordersDef.tags = ['finance'];
  ordersDef.notes = [
    { color: 'yellow', height: 130, id: 'why', position: at(-20, -230), text: '## Orders\nBig orders pay **tax**; the rest get a discount.', width: 260 },
  ];
  const orders = await post('/api/v1/workflows', ordersDef);
  const pin = await fetch(`${server.baseURL}/api/v1/workflows/${orders.id}/pins/start`, {
    body: JSON.stringify({ data: { customer: 'ada', total: 150 } }),
    headers: { Authorization: `Bearer ${server.apiKey}`, 'Content-Type': 'application/json' },
    method: 'PUT',
  });
  if (!pin.ok) throw new Error(`pin: ${pin.status} ${await pin.text()}`);
  const run = (id, input) => post(`/api/v1/workflows/${id}/executions?wait=20s`, { input });
  await run(orders.id, { customer: 'lin', total: 60 });
  await run(fail.id, {});
  const report = await run(count.id, { day: '2026-11-26' });

  const shoot = async (scheme, path, name, prepare) => {
    const ctx = await browser.newContext({ colorScheme: scheme, deviceScaleFactor: 1, viewport: { height: 900, width: 1440 } });
    await signInContext(ctx, server.baseURL, server.owner);
    const page = await ctx.newPage();
    await page.goto(server.baseURL + path);
    await page.waitForLoadState('networkidle');
    await page.locator('[data-testid=live-indicator][data-live-state=live]').waitFor();
    if (prepare) await prepare(page);
    await page.waitForTimeout(400);
    await page.screenshot({ path: join(out, name) });
    console.log(`docs/screenshots/${name}`);
    await ctx.close();
  };
  const editorWithRun = async (page) => {
    await page.locator('.react-flow__node').first().waitFor();
    await page.getByRole('button', { name: 'Node palette' }).click();
    await page.keyboard.press('l');
    await page.waitForTimeout(500);
    await page.getByRole('button', { exact: true, name: 'Run' }).click();
    await page.getByLabel('Input (JSON)').fill('{ "total": 150, "customer": "ada" }');
    await page.getByRole('dialog', { name: 'Run workflow' }).getByRole('button', { name: /run/i }).click();
    await page.locator('[data-testid=run-bar] [data-status=succeeded]').waitFor();
    await page.locator('.react-flow__node[data-id="tax"]').click();
    await page.getByTestId('run-inspector').waitFor();
    await page.mouse.move(700, 800);
  };
  await shoot('light', '/workflows', 'workflows.png');
  await shoot('light', `/workflows/${orders.id}`, 'editor-run.png', editorWithRun);
  await shoot('dark', `/workflows/${orders.id}`, 'editor-run-dark.png', editorWithRun);
  await shoot('light', `/executions/${report.id}`, 'execution.png', async (page) => {
    await page.locator('[data-testid=timeline-bar][aria-label^="fetch attempt 2"]').click();
    await page.getByTestId('run-inspector').waitFor();
  });
  await shoot('light', '/executions', 'executions.png');
  await shoot('light', '/node-types', 'node-types.png', async (page) => {
    await page.locator('[data-testid=node-type-card][data-type="trigger.manual"]').getByText('Documentation').click();
    await page.evaluate(() => document.getElementById('main')?.scrollTo(0, 0));
  });
  await shoot('light', '/plugins', 'plugins.png', async (page) => {
    await page.locator('[data-page=plugins][data-ready=true]').waitFor();
  });
} finally {
  await browser.close();
  await server.stop();
  rmSync(plugins, { force: true, recursive: true });
  flaky.close();
}
