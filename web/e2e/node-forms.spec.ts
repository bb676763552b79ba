import type { Page } from '@playwright/test';

import { expect, node, test } from './fixtures';

// Every node type the server has (GET /api/v1/node-types: built-ins and plugins alike) gets a form
// generated from its JSON Schema. These tests open each one in the real editor, against the real
// server, so that a schema no test has seen (oneOf, anyOf, formats, writeOnly, examples, defaults…)
// cannot break the editor unnoticed.

interface NodeType {
  configSchema: { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  title: string;
  type: string;
}

/**
 * CONFIGS hold a valid configuration for the types whose required fields have neither a default
 * nor an example in their schema (or whose example reads another node).
 */
const CONFIGS: Record<string, Record<string, unknown>> = {
  'ai.chat': { credential: 'cred_openai', model: 'gpt-4o-mini', prompt: 'Say hello' },
  'email.send': { credential: 'cred_smtp', subject: 'Hello', text: 'Hi there', to: ['ada@example.com'] },
  'redis.command': { credential: 'cred_redis', key: 'greeting', operation: 'get' },
  's3.delete': { credential: 'cred_s3', key: 'exports/old.json' },
  's3.put': { body: 'hello', credential: 'cred_s3', key: 'exports/hello.txt' },
  'trigger.nats': { credential: 'cred_nats', durable: 'orders-worker', stream: 'ORDERS' },
  'data.html': { extract: [{ key: 'title', selector: 'h1' }] },
  'file.write': { content: 'hello', path: 'out.txt' },
  'flow.delay': { duration: '1s' },
  'flow.switch': { cases: [{ condition: '{{ input.total > 100 }}', port: 'big' }] },
  'hello.greet': { name: 'Ada' }, // the hello-wasm plugin global-setup.ts builds
  'trigger.schedule': { cron: '@daily' },
  'trigger.webhook': { path: `forms/${Date.now()}` },
};

/** validConfig builds a type's configuration from its required fields' defaults and first examples. */
function validConfig(t: NodeType, configs: Record<string, Record<string, unknown>>): Record<string, unknown> {
  if (configs[t.type]) return configs[t.type]!;
  const out: Record<string, unknown> = {};
  for (const key of t.configSchema.required ?? []) {
    const p = t.configSchema.properties?.[key] ?? {};
    if ('default' in p) out[key] = p.default;
    else if (Array.isArray(p.examples) && p.examples.length > 0) out[key] = p.examples[0];
  }
  return out;
}

/** consoleErrors records the page's console errors and uncaught exceptions, but not failed requests (the editor validates as you type: a 422 is expected). */
function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** formShown waits until the node panel shows the form of a node (or says the type has no configuration). */
async function formShown(page: Page, id: string, type: string) {
  const panel = page.getByTestId('node-panel');
  await expect(panel).toContainText(`${id} · ${type}`);
  await expect(panel.getByRole('status')).toHaveCount(0); // the lazy form has loaded
  await expect(panel.locator('.cm-form').or(panel.getByText('This node type takes no configuration.'))).toBeVisible();
  await expect(panel.getByText(/Unknown node type/)).toHaveCount(0);
}

test('every node type can be added from the palette and opens its form without errors', async ({ api, page }) => {
  test.setTimeout(180_000);
  const types = (await api.get<{ items: NodeType[] }>('/api/v1/node-types')).items;
  expect(types.length).toBeGreaterThanOrEqual(34);
  const errors = consoleErrors(page);
  await page.goto('/workflows');
  await page.getByRole('button', { name: 'New workflow' }).click();
  await expect(node(page, 'start')).toBeVisible();
  const search = page.getByRole('searchbox', { name: 'Search node types' });
  for (const t of types) {
    await search.fill(t.type);
    const before = await page.locator('.react-flow__node').count();
    await page.locator(`[data-testid=palette-item][data-type="${t.type}"]`).click();
    await expect(page.locator('.react-flow__node')).toHaveCount(before + 1);
    const id = (await page.getByTestId('node-panel').locator('.font-mono').first().textContent())?.split(' · ')[0] ?? '';
    await formShown(page, id, t.type);
    // Back out of it, so that the canvas holds one node at a time.
    await page.getByTestId('node-panel').getByRole('button', { name: 'Delete node' }).click();
    await expect(page.locator('.react-flow__node')).toHaveCount(before);
    expect(errors, `opening the form of ${t.type}`).toEqual([]);
  }
});

test('a workflow with a node of every type: every form shows its config, changes nothing, and the workflow saves as it was', async ({ api, page }) => {
  test.setTimeout(360_000); // ~65 node types, each form opened in turn
  const types = (await api.get<{ items: NodeType[] }>('/api/v1/node-types')).items;
  // flow.call must name a workflow that exists, with a manual trigger to start at.
  const callee = await api.createWorkflow({ edges: [], name: 'Callee', nodes: [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }] });
  const configs = { ...CONFIGS, 'flow.call': { workflowId: callee.id } };
  const nodes = types.map((t, i) => ({
    config: validConfig(t, configs),
    id: `n_${t.type.replace(/\./g, '_')}`,
    position: { x: (i % 11) * 320, y: Math.floor(i / 11) * 220 },
    type: t.type,
  }));
  const wf = await api.createWorkflow({ edges: [], name: 'Every node type', nodes });
  const errors = consoleErrors(page);
  await page.goto(`/workflows/${wf.id}`);
  await expect(page.locator('.react-flow__node')).toHaveCount(nodes.length);
  await expect(page.getByTestId('validation-status')).toHaveText('Valid');
  for (const n of nodes) {
    await node(page, n.id).click({ timeout: 20_000 });
    await formShown(page, n.id, n.type);
    expect(errors, `opening the form of ${n.type}`).toEqual([]);
  }
  // Opening the forms changed no configuration.
  await expect(page.getByTestId('dirty')).toBeHidden();

  // Save (after a change elsewhere) and read the workflow back: every config is as it was.
  await page.getByRole('button', { name: 'Close panel' }).click();
  await page.getByRole('textbox', { name: 'Workflow name' }).fill('Every node type, saved');
  await page.keyboard.press('Control+s');
  await expect(page.getByText(`Saved as version ${wf.version + 1}`)).toBeVisible();
  const saved = await api.get<{ name: string; nodes: { config?: Record<string, unknown>; id: string }[] }>(`/api/v1/workflows/${wf.id}`);
  expect(saved.name).toBe('Every node type, saved');
  for (const n of nodes) {
    expect(saved.nodes.find((x) => x.id === n.id)?.config ?? {}, n.type).toEqual(n.config);
  }
  expect(errors).toEqual([]);
});
