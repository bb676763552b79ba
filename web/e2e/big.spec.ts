import { bigWorkflow } from './big-workflow.mjs';
import { collectErrors, expect, node, test } from './fixtures';

test('a 200-node workflow opens, pans, zooms, lays out and saves', async ({ api, page }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow(bigWorkflow(200));
  await page.goto(`/workflows/${wf.id}`);
  await expect(page.locator('.react-flow__node')).toHaveCount(200);
  await expect(page.getByTestId('validation-status')).toHaveText('Valid');

  // Pan and zoom with the wheel and the mouse.
  const pane = page.locator('.react-flow__pane');
  const box = (await pane.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 5; i++) await page.mouse.wheel(0, -200);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 200, box.y + box.height / 2 - 100, { steps: 10 });
  await page.mouse.up();

  // Drag one node, then auto-layout and save.
  await page.keyboard.press('f');
  await page.keyboard.press('l');
  await expect(page.getByTestId('dirty')).toBeVisible();
  await page.keyboard.press('Control+s');
  await expect(page.getByText('Saved as version 2')).toBeVisible();
  await expect(node(page, 'step_199')).toBeAttached();
  expect(errors).toEqual([]);
});
