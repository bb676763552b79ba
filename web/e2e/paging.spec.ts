// Cursor pagination of the workflows and executions lists (issue 3): Next and Previous move through
// pages of the server's cursor, with filters kept.
import { expect, test } from './fixtures';

test('the workflows and executions lists page forward and back, keeping their filters', async ({ api, page, request }) => {
  const stamp = Date.now().toString(36);
  // 21 workflows: one more than a page of the workflows list.
  const ids: string[] = [];
  for (let i = 1; i <= 21; i++) {
    const wf = await api.createWorkflow({
      edges: [],
      name: `Paged ${stamp} ${String(i).padStart(2, '0')}`,
      nodes: [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }],
    });
    ids.push(wf.id);
  }
  await page.goto(`/workflows?q=${encodeURIComponent(`Paged ${stamp}`)}`);
  const rows = page.getByTestId('workflow-row');
  const pager = page.getByRole('navigation', { name: 'Pagination' });
  await expect(rows).toHaveCount(20);
  await expect(pager).toContainText('Page 1');
  await expect(pager.getByRole('button', { name: 'Previous' })).toBeDisabled();
  const firstPage = await rows.allTextContents();
  await pager.getByRole('button', { name: 'Next' }).click();
  await expect(pager).toContainText('Page 2');
  await expect(rows).toHaveCount(1);
  await expect(pager.getByRole('button', { name: 'Next' })).toBeDisabled();
  const last = (await rows.first().textContent())!;
  expect(firstPage).not.toContain(last);
  await pager.getByRole('button', { name: 'Previous' }).click();
  await expect(rows).toHaveCount(20);
  expect(await rows.allTextContents()).toEqual(firstPage);

  // 26 runs of one workflow: one more than a page of the executions list, filtered to that workflow.
  for (let i = 0; i < 26; i++) {
    const r = await request.post(`/api/v1/workflows/${ids[0]}/executions`, { data: { input: { i } } });
    expect(r.status(), await r.text()).toBe(202);
  }
  await page.goto(`/executions?workflowId=${ids[0]}`);
  const runs = page.getByTestId('execution-row');
  await expect(runs).toHaveCount(25);
  await expect(pager).toContainText('Page 1');
  await pager.getByRole('button', { name: 'Next' }).click();
  await expect(pager).toContainText('Page 2');
  await expect(runs).toHaveCount(1);
  await expect(page).toHaveURL(new RegExp(`workflowId=${ids[0]}`));
  await pager.getByRole('button', { name: 'Previous' }).click();
  await expect(runs).toHaveCount(25);
});
