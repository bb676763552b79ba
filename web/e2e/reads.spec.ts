import { collectErrors, e2eBase, expect, test } from './fixtures';

// Reads of big executions (ADR 0008): a value over 4 KiB comes as a preview that the page says was
// cut and loads whole on demand, and node runs beyond the first 50 load page by page.
test('a big execution: cut values load whole on demand, and node runs page', async ({ api, page, request }) => {
  const errors = collectErrors(page);
  const steps = 55;
  const nodes: unknown[] = [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }];
  const edges: unknown[] = [];
  for (let i = 1; i <= steps; i++) {
    nodes.push({ config: { fields: { [`step${i}`]: i } }, id: `n_${i}`, position: { x: 260 * (i % 8), y: 140 * Math.floor(i / 8) }, type: 'data.set' });
    edges.push({ source: i === 1 ? 'start' : `n_${i - 1}`, target: `n_${i}` });
  }
  const wf = await api.createWorkflow({ edges, name: 'Big data', nodes });
  const blob = 'x'.repeat(20_000);
  const r = await request.post(`${e2eBase()}/api/v1/workflows/${wf.id}/executions?wait=60s`, { data: { input: { blob, tag: 'big' } } });
  expect(r.status()).toBe(200);
  const exec = (await r.json()) as { id: string; inputTruncated: boolean; nodeRuns: unknown[]; nodeRunsNextCursor?: string; status: string };
  expect(exec.status).toBe('succeeded');
  expect(exec.inputTruncated).toBe(true);
  expect(exec.nodeRuns).toHaveLength(50);
  expect(exec.nodeRunsNextCursor).toBeTruthy();

  await page.goto(`/executions/${exec.id}`);
  // The trigger input is cut: its head, its size, and the whole value on demand.
  const input = page.getByLabel('Trigger input preview');
  await expect(input.getByRole('note')).toHaveText(/^Cut: 19\.\d KiB in all; showing the first 4\.0 KiB\.$/);
  await expect(input).toContainText('{"blob":"xxxx');
  await expect(input.getByRole('link', { name: 'Download' })).toHaveAttribute('href', `/api/v1/executions/${exec.id}/input`);
  await input.getByRole('button', { name: /Load the whole trigger input/ }).click();
  const whole = page.getByRole('tree', { name: 'Trigger input' });
  await expect(whole).toContainText('"tag": "big"');
  await expect(page.getByText(/^The whole trigger input, 19\.\d KiB\.$/)).toBeVisible();

  // Node runs: the first 50 come with the execution, the rest on demand.
  const bars = page.getByTestId('timeline-bar');
  await expect(bars).toHaveCount(50);
  await expect(page.getByTestId('more-node-runs')).toContainText('50 node runs loaded; there are more.');
  await page.getByRole('button', { name: 'Load more node runs' }).click();
  await expect(bars).toHaveCount(steps + 1);
  await expect(page.getByTestId('more-node-runs')).toHaveCount(0);

  // A node's output in the inspector: cut, then loaded whole.
  await page.getByTestId('timeline-bar').and(page.locator('[aria-label^="n_9 "]')).click();
  const inspector = page.getByTestId('run-inspector');
  const output = inspector.getByLabel('Output preview');
  await expect(output.getByRole('note')).toContainText('Cut:');
  await output.getByRole('button', { name: /Load the whole output/ }).click();
  await expect(inspector.getByRole('tree', { name: 'Output' })).toContainText('"step9": 9');
  expect(errors).toEqual([]);
});
