import { collectErrors, expect, test } from './fixtures';

/** unique makes names this spec owns, so that other specs' workflows never match its filters. */
const unique = `lists-${Date.now().toString(36)}`;

test('workflows: tags set in the editor filter the list, and the Active switch turns triggers on and off', async ({ api, page, request }) => {
  const errors = collectErrors(page);
  const hook = {
    edges: [],
    name: `${unique} hook`,
    nodes: [{ config: { path: `${unique}/in` }, id: 'hook', position: { x: 0, y: 0 }, type: 'trigger.webhook' }],
    tags: ['Finance'],
  };
  const tagged = await api.createWorkflow(hook);
  const plain = await api.createWorkflow({
    ...hook,
    name: `${unique} plain`,
    nodes: [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }],
    tags: [],
  });

  // A tag added in the editor's workflow panel is saved with the workflow.
  await page.goto(`/workflows/${plain.id}`);
  await page.getByLabel('Tags').fill(`${unique}-ops`);
  await page.getByLabel('Tags').press('Enter');
  await expect(page.getByTestId('tags-input')).toContainText(`${unique}-ops`);
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('dirty')).toHaveCount(0);
  const saved = await api.get<{ tags: string[] }>(`/api/v1/workflows/${plain.id}`);
  expect(saved.tags).toEqual([`${unique}-ops`]);

  // The list shows the tags; the filter (from the tag list, or a click on a chip) keeps the tagged ones.
  await page.goto(`/workflows?q=${unique}`);
  const rows = page.getByTestId('workflow-row');
  await expect(rows).toHaveCount(2);
  await page.getByTestId('tag-filter').selectOption(`${unique}-ops`);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(`${unique} plain`);
  expect(page.url()).toContain(`tag=${unique}-ops`);
  await page.getByTestId('tag-filter').selectOption('');
  await expect(rows).toHaveCount(2);
  await rows
    .filter({ hasText: `${unique} hook` })
    .getByRole('button', { name: 'Finance' })
    .click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(`${unique} hook`);

  // The Active switch activates the webhook workflow: its webhook answers, then stops again.
  const toggle = page.getByRole('switch', { name: `${unique} hook active` });
  await expect(toggle).toHaveAttribute('aria-checked', 'false');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-checked', 'true');
  expect((await request.post(`/hooks/${unique}/in`, { data: {} })).status()).toBeLessThan(300);
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-checked', 'false');
  expect((await request.post(`/hooks/${unique}/in`, { data: {} })).status()).toBe(404);
  const after = await api.get<{ active: boolean }>(`/api/v1/workflows/${tagged.id}`);
  expect(after.active).toBe(false);
  expect(errors).toEqual([]);
});

test("executions: the editor links to its workflow's runs, which filter by trigger and time", async ({ api, page, request }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow({
    edges: [{ source: 'start', target: 'set' }],
    name: `${unique} runs`,
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { config: { fields: { ok: true } }, id: 'set', position: { x: 300, y: 0 }, type: 'data.set' },
    ],
  });
  for (let i = 0; i < 2; i++) {
    const r = await request.post(`/api/v1/workflows/${wf.id}/executions?wait=10s`, { data: { input: {} } });
    expect(r.status(), await r.text()).toBe(200);
  }
  await page.goto(`/workflows/${wf.id}`);
  await page.getByTestId('workflow-executions-link').click();
  await expect(page).toHaveURL(new RegExp(`/executions\\?workflowId=${wf.id}`));
  const rows = page.getByTestId('execution-row');
  await expect(rows).toHaveCount(2);

  await page.getByLabel('Trigger').selectOption('webhook');
  await expect(page.getByText('No execution matches these filters')).toBeVisible();
  await page.getByLabel('Trigger').selectOption('manual');
  await expect(rows).toHaveCount(2);

  // A window that starts tomorrow holds none of them; clearing it brings them back.
  const tomorrow = new Date(Date.now() + 24 * 3600 * 1000);
  const local = new Date(tomorrow.getTime() - tomorrow.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  await page.getByRole('textbox', { name: 'From' }).fill(local);
  await expect(page.getByText('No execution matches these filters')).toBeVisible();
  expect(page.url()).toContain('from=');
  await page.getByRole('textbox', { name: 'From' }).fill('');
  await expect(rows).toHaveCount(2);
  expect(errors).toEqual([]);
});
