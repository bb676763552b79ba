import type { Page } from '@playwright/test';

import { collectErrors, e2eBase, expect, node, test } from './fixtures';

/** typeInNotify opens the workflow, selects its notify node and replaces its first field value with text, returning that field. */
async function typeInNotify(page: Page, url: string, text: string) {
  await page.goto(url);
  await node(page, 'notify').click();
  const value = page.getByRole('textbox', { name: 'Fields value 1' });
  await expect(value).toHaveAttribute('contenteditable', 'true');
  await value.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.type(text);
  return value;
}

// The expression editor: completion from the last run's data, a live preview evaluated by the server,
// and plain words for a bad expression — against the real server and its real last run.
test('expression field: completion from the last run, preview of the value, plain error', async ({ api, page, request }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow({
    edges: [
      { source: 'start', target: 'enrich' },
      { source: 'enrich', target: 'notify' },
    ],
    name: 'Expressions e2e',
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { config: { fields: { vip: '{{ input.total > 100 }}' }, keepInput: true }, id: 'enrich', position: { x: 300, y: 0 }, type: 'data.set' },
      { config: { fields: { note: 'hello' } }, id: 'notify', position: { x: 600, y: 0 }, type: 'data.set' },
    ],
  });
  const run = await request.post(`${e2eBase()}/api/v1/workflows/${wf.id}/executions?wait=30s`, { data: { input: { customer: 'ada', total: 150 } } });
  expect(run.ok(), await run.text()).toBe(true);
  expect(((await run.json()) as { status: string }).status).toBe('succeeded');

  // Type {{ input. : the list offers the fields notify's input had in the last run.
  const value = await typeInNotify(page, `/workflows/${wf.id}`, '{{ input.');
  const list = page.getByRole('listbox');
  await expect(list).toBeVisible();
  await expect(list.getByRole('option', { name: /customer/ })).toBeVisible();
  await expect(list.getByRole('option', { name: /vip/ })).toBeVisible();
  await list.getByRole('option', { name: /customer/ }).click();
  await expect(value).toContainText('{{ input.customer');

  // The preview shows the value from the last run.
  const preview = page.getByTestId('node-panel').getByTestId('expression-preview-value');
  await expect(preview).toContainText('"ada"');

  // A bad expression shows the server's error in plain words.
  await value.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('{{ input.total +');
  // (the editor closes the braces it opens, so the expression is closed and ends in +)
  await expect(page.getByTestId('node-panel').getByTestId('expression-preview-error')).toContainText('is incomplete: + at the end needs a value after it');
  expect(errors).toEqual([]);
});

// Before any run, completion offers what the upstream node types say they output: a webhook's
// request fields, through a condition, and the fields a data.set names.
test('expression field: completion before a run, from the upstream output schemas', async ({ api, page }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow({
    edges: [
      { source: 'hook', target: 'check' },
      { source: 'check', sourcePort: 'true', target: 'tag' },
      { source: 'tag', target: 'notify' },
    ],
    name: 'Schema completion e2e',
    nodes: [
      { config: { path: 'schema-completion-e2e' }, id: 'hook', position: { x: 0, y: 0 }, type: 'trigger.webhook' },
      { config: { condition: '{{ true }}' }, id: 'check', position: { x: 300, y: 0 }, type: 'flow.if' },
      { config: { fields: { vip: true } }, id: 'tag', position: { x: 600, y: 0 }, type: 'data.set' },
      { config: { fields: { note: 'hello' } }, id: 'notify', position: { x: 900, y: 0 }, type: 'data.set' },
    ],
  });
  await typeInNotify(page, `/workflows/${wf.id}`, '{{ input.');
  const list = page.getByRole('listbox');
  await expect(list).toBeVisible();
  for (const field of ['body', 'headers', 'method', 'vip']) await expect(list.getByRole('option', { name: new RegExp(field) })).toBeVisible();
  expect(errors).toEqual([]);
});
