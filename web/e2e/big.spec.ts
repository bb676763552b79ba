import type { Locator } from '@playwright/test';

import { bigWorkflow } from './big-workflow.mjs';
import { collectErrors, expect, node, test } from './fixtures';

/** painted is the share of a canvas's pixels that are not transparent. */
function painted(canvas: Locator): Promise<number> {
  return canvas.evaluate((c: HTMLCanvasElement) => {
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return n / (c.width * c.height);
  });
}

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

test('a large graph is drawn on a canvas while the view moves, and its DOM is back when the view rests', async ({ api, page }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow(bigWorkflow(200));
  await page.goto(`/workflows/${wf.id}`);
  await expect(page.locator('.react-flow__node')).toHaveCount(200);
  const flow = page.locator('.react-flow');
  const motion = page.locator('canvas.cm-motion');
  const target = node(page, 'step_101');
  const before = (await target.boundingBox())!;
  await expect(motion).toBeHidden();

  // Zoomed out to fit the graph, a drag on the pane moves a drawing of it, not its 200 cards.
  const box = (await page.locator('.react-flow__pane').boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  await page.mouse.move(cx - 120, cy - 60, { steps: 6 });
  await expect(flow).toHaveAttribute('data-moving', '');
  await expect(page.locator('.react-flow__viewport')).toHaveCSS('content-visibility', 'hidden');
  await expect(motion).toBeVisible();
  expect(await painted(motion), 'share of the canvas painted').toBeGreaterThan(0.05);
  await page.mouse.up();

  // At rest the cards are back, moved with the view, and take clicks.
  await expect(flow).not.toHaveAttribute('data-moving');
  await expect(motion).toBeHidden();
  const after = (await target.boundingBox())!;
  expect(after.x).toBeCloseTo(before.x - 120, 0);
  expect(after.y).toBeCloseTo(before.y - 60, 0);
  await target.click();
  await expect(target).toHaveClass(/selected/);
  expect(errors).toEqual([]);
});

test('the minimap of a large graph is one canvas that shows the graph and moves the view where it is clicked', async ({ api, page }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow(bigWorkflow(200));
  await page.goto(`/workflows/${wf.id}`);
  await expect(page.locator('.react-flow__node')).toHaveCount(200);
  const minimap = page.getByRole('img', { name: 'Mini map' });
  await expect(minimap).toBeVisible();
  await expect(page.locator('.react-flow__minimap svg')).toHaveCount(0);
  await expect.poll(() => painted(minimap), 'share of the minimap painted').toBeGreaterThan(0.05);

  // Zoomed in on the start of the graph, a click on the minimap's far right brings its end into view.
  await page.keyboard.press('f');
  const pane = (await page.locator('.react-flow__pane').boundingBox())!;
  await page.mouse.move(pane.x + 200, pane.y + pane.height / 2);
  for (let i = 0; i < 8; i++) await page.mouse.wheel(0, -200);
  await expect(node(page, 'step_195')).not.toBeInViewport();
  const box = (await minimap.boundingBox())!;
  await page.mouse.click(box.x + box.width - 8, box.y + box.height / 2);
  await expect(node(page, 'step_195')).toBeInViewport();
  expect(errors).toEqual([]);
});
