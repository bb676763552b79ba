import type { Page } from '@playwright/test';

import { collectErrors, connect, expect, node, test, viewportSettled } from './fixtures';

// Approvals (flow.wait) and sub-workflows (flow.call) from the execution pages and the editor,
// against the real server.

/** runStatus locates the status badge in the execution page's title. */
const runStatus = (page: Page) => page.getByRole('heading', { level: 1 }).locator('[data-status]');

test('an approval: the execution page asks, Approve with a comment resumes the run, and it succeeds', async ({ api, page, request }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow({
    edges: [
      { source: 'start', target: 'ask' },
      { source: 'ask', target: 'after' },
    ],
    name: 'Refund approval',
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      {
        config: { message: 'Refund {{ input.amount }} EUR to {{ input.customer }}?', mode: 'approval' },
        id: 'ask',
        position: { x: 300, y: 0 },
        type: 'flow.wait',
      },
      {
        config: { fields: { approved: '{{ input.approved }}', comment: '{{ input.comment }}' }, keepInput: false },
        id: 'after',
        position: { x: 600, y: 0 },
        type: 'data.set',
      },
    ],
  });
  const r = await request.post(`/api/v1/workflows/${wf.id}/executions`, { data: { input: { amount: 12, customer: 'Ada' } } });
  expect(r.status(), await r.text()).toBe(202);
  const { id } = (await r.json()) as { id: string };

  await page.goto(`/executions/${id}`);
  await expect(runStatus(page)).toHaveAttribute('data-status', 'waiting');
  const banner = page.locator('[data-testid=waiting-panel][data-variant=banner]');
  await expect(banner).toContainText('Waiting for approval');
  // The message is a template: the page shows it as the run evaluated it.
  await expect(banner.getByTestId('approval-message')).toHaveText('Refund 12 EUR to Ada?');

  // The node's inspector offers the same decision.
  await page.getByTestId('timeline').getByRole('button', { name: 'ask', exact: true }).click();
  const inspector = page.getByRole('complementary', { name: 'Node run' });
  await expect(inspector.getByRole('region', { name: 'Approval: ask' })).toBeVisible();

  await banner.getByLabel(/Comment/).fill('ok, refund it');
  await banner.getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByText('ask approved: the run goes on.')).toBeVisible();
  // Live: the run resumes and finishes without a reload.
  await expect(runStatus(page)).toHaveAttribute('data-status', 'succeeded');
  await expect(page.locator('[data-testid=waiting-panel]')).toHaveCount(0);
  await expect(page.getByRole('tree', { name: 'Final output' })).toContainText('"comment": "ok, refund it"');
  await expect(page.getByRole('tree', { name: 'Final output' })).toContainText('"approved": true');
  const decision = inspector.getByRole('region', { name: 'Decision' });
  await expect(decision).toContainText('Approved by you');
  await expect(decision).toContainText('“ok, refund it”');

  // A second decision is refused by the server: the API says 409.
  const again = await request.post(`/api/v1/executions/${id}/nodes/ask/reject`, { data: {} });
  expect(again.status()).toBe(409);
  expect(errors).toEqual([]);
});

test('a sub-workflow: pick the child in the editor, run the parent, follow the link to the child and back', async ({ api, page }) => {
  const errors = collectErrors(page);
  const child = await api.createWorkflow({
    edges: [{ source: 'start', target: 'double' }],
    name: `Double it ${Date.now()}`,
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { config: { fields: { doubled: '{{ input.n * 2 }}' }, keepInput: false }, id: 'double', position: { x: 300, y: 0 }, type: 'data.set' },
    ],
  });
  const childName = (await api.get<{ name: string }>(`/api/v1/workflows/${child.id}`)).name;

  // The parent is drawn in the editor: a flow.call whose workflow is picked by name.
  await page.goto('/workflows');
  await page.getByRole('button', { name: 'New workflow' }).click();
  await expect(page).toHaveURL(/\/workflows\/new$/);
  await expect(node(page, 'start')).toBeVisible();
  await page.getByRole('searchbox', { name: 'Search node types' }).fill('flow.call');
  await page.locator('[data-testid=palette-item][data-type="flow.call"]').click();
  await expect(node(page, 'call')).toBeVisible();
  const panel = page.getByTestId('node-panel');
  await panel.getByRole('searchbox', { name: 'Search workflow' }).fill(childName);
  await panel.getByRole('combobox', { name: /Workflow/ }).selectOption({ label: childName });
  await panel.getByLabel('Input', { exact: true }).fill('{{ {n: input.n} }}');
  await page.getByRole('button', { name: 'Close panel' }).click();
  await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
  await page.keyboard.press('l');
  await viewportSettled(page);
  await connect(page, ['start', 'out'], ['call', 'in']);
  await expect(page.locator('.react-flow__edge')).toHaveCount(1);
  await expect(page.getByTestId('validation-status')).toHaveText('Valid');
  // The draft saved itself once valid, and has its own address.
  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]{36}$/);
  const parentId = page.url().split('/').pop()!;
  await page.keyboard.press('Control+s');
  await expect(page.getByText('Saved as version 2')).toBeVisible();
  const saved = await api.get<{ nodes: { config?: Record<string, unknown>; id: string }[] }>(`/api/v1/workflows/${parentId}`);
  expect(saved.nodes.find((n) => n.id === 'call')?.config).toEqual({ input: '{{ {n: input.n} }}', workflowId: child.id });

  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByLabel('Input (JSON)').fill('{"n": 21}');
  await page.getByRole('dialog', { name: 'Run workflow' }).getByRole('button', { name: 'Run' }).click();
  await expect(page.getByTestId('run-bar').locator('[data-status=succeeded]')).toBeVisible();

  // The executions list tells the sub-workflow run by its badge and links it to its parent.
  const parentRun = (await api.get<{ items: { id: string }[] }>(`/api/v1/executions?workflowId=${parentId}`)).items[0]!;
  await page.goto(`/executions?workflowId=${child.id}`);
  const row = page.getByTestId('execution-row');
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('trigger-badge')).toHaveAttribute('data-trigger', 'call');
  await expect(row.getByRole('link', { name: parentRun.id.slice(-8) })).toHaveAttribute('href', `/executions/${parentRun.id}`);

  // Parent page: the call node lists its child; the link leads to the child's page.
  await page.goto(`/executions/${parentRun.id}`);
  await expect(runStatus(page)).toHaveAttribute('data-status', 'succeeded');
  await expect(page.getByRole('tree', { name: 'Final output' })).toContainText('"doubled": 42');
  await page.getByTestId('timeline').getByRole('button', { name: 'call', exact: true }).click();
  const children = page.getByRole('region', { name: 'Sub-workflow runs' });
  await expect(children.getByTestId('child-execution')).toHaveCount(1);
  await expect(children.getByTestId('child-execution').locator('[data-status]')).toHaveAttribute('data-status', 'succeeded');
  await children.getByTestId('child-execution').getByRole('link').click();

  // Wait for the navigation to the child (the parent's address matches the pattern too).
  await expect(page).not.toHaveURL(new RegExp(parentRun.id));
  await expect(page).toHaveURL(/\/executions\/(?!.*\?)/);
  await expect(page.getByTestId('trigger-badge')).toHaveAttribute('data-trigger', 'call');
  const back = page.getByTestId('parent-link');
  await expect(back).toContainText(`Called by execution ${parentRun.id.slice(-8)} (node call)`);
  await back.getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/executions/${parentRun.id}$`));
  await expect(page.getByTestId('parent-link')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('an error workflow: chosen in the workflow settings, started by a failed run, and linked to it', async ({ api, page, request }) => {
  const errors = collectErrors(page);
  const stamp = Date.now();
  const plain = await api.createWorkflow({
    edges: [],
    name: `Not a handler ${stamp}`,
    nodes: [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }],
  });
  const handler = await api.createWorkflow({
    edges: [{ source: 'failed', target: 'note' }],
    name: `Page on-call ${stamp}`,
    nodes: [
      { id: 'failed', position: { x: 0, y: 0 }, type: 'trigger.error' },
      { config: { fields: { seen: '{{ input.execution.id }}' } }, id: 'note', position: { x: 300, y: 0 }, type: 'data.set' },
    ],
  });
  const wf = await api.createWorkflow({
    edges: [{ source: 'start', target: 'boom' }],
    name: `Breaks ${stamp}`,
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { config: { code: 'stock', message: 'out of stock' }, id: 'boom', position: { x: 300, y: 0 }, type: 'flow.fail' },
    ],
  });

  await page.goto(`/workflows/${wf.id}`);
  const settings = page.getByRole('complementary').filter({ has: page.getByRole('heading', { name: 'Workflow' }) });
  const select = settings.getByRole('combobox', { name: 'Error workflow' });
  // A workflow without a trigger.error node is refused when saving, on the field.
  await settings.getByRole('searchbox', { name: 'Search error workflow' }).fill(String(stamp));
  await select.selectOption({ label: `Not a handler ${stamp}` });
  await page.keyboard.press('Control+s');
  await expect(settings.getByTestId('field-error')).toContainText('has no trigger.error node');
  await select.selectOption({ label: `Page on-call ${stamp}` });
  await page.keyboard.press('Control+s');
  await expect(page.getByText('Saved as version 2')).toBeVisible();
  await expect(settings.getByTestId('field-error')).toHaveCount(0);
  expect((await api.get<{ settings: { errorWorkflow?: string } }>(`/api/v1/workflows/${wf.id}`)).settings.errorWorkflow).toBe(handler.id);
  expect(plain.id).not.toBe(handler.id);

  const run = await request.post(`/api/v1/workflows/${wf.id}/executions?wait=30s`, { data: { input: {} } });
  const failed = (await run.json()) as { id: string; status: string };
  expect(failed.status).toBe('failed');
  await page.goto(`/executions?workflowId=${handler.id}`);
  const row = page.getByTestId('execution-row');
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('trigger-badge')).toHaveAttribute('data-trigger', 'error');
  await row.getByRole('link').first().click();
  const link = page.getByTestId('failed-link');
  await expect(link).toContainText(`Handles the failure of execution ${failed.id.slice(-8)}`);
  await link.getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/executions/${failed.id}$`));
  await expect(page.getByRole('alert').filter({ hasText: 'out of stock' })).toBeVisible();
  expect(errors).toEqual([]);
});
