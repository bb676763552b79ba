import { expect, node, test } from './fixtures';

test('the editor works from the keyboard: focus a node, open and close its panel, add from the palette and the quick-add menu', async ({ api, page }) => {
  const wf = await api.createWorkflow({
    edges: [{ source: 'start', target: 'tag' }],
    name: 'Keyboard',
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { config: { fields: { a: 1 } }, id: 'tag', position: { x: 320, y: 0 }, type: 'data.set' },
    ],
  });
  await page.goto(`/workflows/${wf.id}`);
  await expect(node(page, 'tag')).toBeVisible();

  await node(page, 'tag').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-panel')).toContainText('tag · data.set');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('node-panel')).toBeHidden();

  await page.getByRole('searchbox', { name: 'Search node types' }).fill('filter');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await expect(node(page, 'filter')).toBeVisible();

  // With one node selected, a node added from the quick-add menu is connected after it.
  await node(page, 'tag').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('/');
  await page.getByLabel('Node type to add').fill('merge');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await expect(node(page, 'merge')).toBeVisible();
  await expect(page.locator('.react-flow__edge')).toHaveCount(2);
});
