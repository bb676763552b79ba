// The other two ways a waiting run goes on (issue 9's flow.wait), watched on the execution page
// without a reload: a request to the execution's resume URL, and a rejection with a comment.
import type { Page } from '@playwright/test';

import { collectErrors, expect, test } from './fixtures';

/** runStatus locates the status badge in the execution page's title. */
const runStatus = (page: Page) => page.getByRole('heading', { level: 1 }).locator('[data-status]');

interface Execution {
  id: string;
  nodeRuns: { nodeId: string; output?: Record<string, unknown> }[];
}

test('a run waiting for its resume URL says so, and a request to the URL resumes it live', async ({ api, page, request }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow({
    edges: [
      { source: 'start', target: 'share' },
      { source: 'share', target: 'hold' },
      { source: 'hold', target: 'after' },
    ],
    name: 'Callback',
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      // The node before the wait is where a workflow sends the URL on; here it only keeps it.
      { config: { fields: { resumeUrl: '{{ execution.resumeUrl }}' } }, id: 'share', position: { x: 300, y: 0 }, type: 'data.set' },
      { config: { mode: 'webhook' }, id: 'hold', position: { x: 600, y: 0 }, type: 'flow.wait' },
      { config: { fields: { answer: '{{ input.body.answer }}' }, keepInput: false }, id: 'after', position: { x: 900, y: 0 }, type: 'data.set' },
    ],
  });
  const r = await request.post(`/api/v1/workflows/${wf.id}/executions`, { data: { input: {} } });
  expect(r.status(), await r.text()).toBe(202);
  const { id } = (await r.json()) as { id: string };

  await page.goto(`/executions/${id}`);
  await expect(runStatus(page)).toHaveAttribute('data-status', 'waiting');
  const banner = page.locator('[data-testid=waiting-panel][data-variant=banner]');
  await expect(banner).toHaveAttribute('data-wait-mode', 'webhook');
  await expect(banner).toContainText('Waiting for a request to the execution’s resume URL');

  // The URL, as the node before the wait had it: called from outside, with no login.
  const run = await api.get<Execution>(`/api/v1/executions/${id}`);
  const url = run.nodeRuns.find((n) => n.nodeId === 'share')?.output?.resumeUrl as string;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
  const resumed = await fetch(url, { body: JSON.stringify({ answer: 42 }), headers: { 'Content-Type': 'application/json' }, method: 'POST' });
  expect(resumed.ok, await resumed.text()).toBe(true);

  await expect(runStatus(page)).toHaveAttribute('data-status', 'succeeded');
  await expect(page.locator('[data-testid=waiting-panel]')).toHaveCount(0);
  await expect(page.getByRole('tree', { name: 'Final output' })).toContainText('"answer": 42');
  // One request resumes one wait: the URL is spent.
  expect((await fetch(url, { method: 'POST' })).status).toBe(409);
  expect(errors).toEqual([]);
});

test('an approval rejected with a comment: the run goes on with the decision, shown on the page', async ({ api, page, request }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow({
    edges: [
      { source: 'start', target: 'ask' },
      { source: 'ask', target: 'after' },
    ],
    name: 'Refund rejection',
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { config: { message: 'Refund {{ input.amount }} EUR?', mode: 'approval' }, id: 'ask', position: { x: 300, y: 0 }, type: 'flow.wait' },
      {
        config: { fields: { approved: '{{ input.approved }}', comment: '{{ input.comment }}' }, keepInput: false },
        id: 'after',
        position: { x: 600, y: 0 },
        type: 'data.set',
      },
    ],
  });
  const r = await request.post(`/api/v1/workflows/${wf.id}/executions`, { data: { input: { amount: 900 } } });
  expect(r.status(), await r.text()).toBe(202);
  const { id } = (await r.json()) as { id: string };

  await page.goto(`/executions/${id}`);
  const banner = page.locator('[data-testid=waiting-panel][data-variant=banner]');
  await expect(banner.getByTestId('approval-message')).toHaveText('Refund 900 EUR?');
  await banner.getByLabel(/Comment/).fill('too much');
  await banner.getByRole('button', { name: 'Reject' }).click();
  await expect(page.getByText('ask rejected: the run goes on.')).toBeVisible();
  await expect(runStatus(page)).toHaveAttribute('data-status', 'succeeded');
  await expect(page.getByRole('tree', { name: 'Final output' })).toContainText('"approved": false');
  await expect(page.getByRole('tree', { name: 'Final output' })).toContainText('"comment": "too much"');
  expect(errors).toEqual([]);
});
