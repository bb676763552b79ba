import { collectErrors, expect, handle, node, test, viewportSettled } from './fixtures';

// Canvas authoring (issue 13, item 4): sticky notes, find, the right-click menu, dropping a connection
// on empty canvas, node titles, and the order auto-layout keeps.

test('a sticky note is added, written in Markdown, saved and still there after a reload', async ({ api, page }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow({ name: 'Notes', nodes: [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }] });
  await page.goto(`/workflows/${wf.id}`);
  await expect(node(page, 'start')).toBeVisible();

  // Right-click → Add note here, away from the node (the toolbar's button and N add one too).
  const pane = page.locator('.react-flow__pane');
  const canvas = (await pane.boundingBox())!;
  await pane.click({ button: 'right', position: { x: 60, y: canvas.height - 260 } });
  await page
    .getByRole('menu', { name: 'Canvas menu' })
    .getByRole('menuitem', { name: /Add note here/ })
    .click();
  const text = page.getByLabel('Note text (Markdown)');
  await expect(text).toBeFocused();
  await text.fill('# Read me\n\nCall **support** first.');
  await page.getByRole('radio', { name: 'blue' }).click();
  await expect(text).toBeFocused();
  await page.keyboard.press('Escape');
  const note = page.getByTestId('note');
  await expect(note.getByRole('heading', { name: 'Read me' })).toBeVisible();
  await expect(note.locator('strong')).toHaveText('support');

  // Double-click edits it again; the edit is one undo step.
  await note.dblclick();
  await page.getByLabel('Note text (Markdown)').fill('# Read me\n\nCall **support** first. Then <script>alert(1)</script>ops.');
  await page.keyboard.press('Escape');
  await expect(note.locator('script')).toHaveCount(0);
  await expect(note).toContainText('Then ops.');

  await page.keyboard.press('Control+s');
  await expect(page.getByText('Saved as version 2')).toBeVisible();
  const saved = await api.get<{ notes?: { color?: string; id: string; text: string }[] }>(`/api/v1/workflows/${wf.id}`);
  expect(saved.notes).toEqual([expect.objectContaining({ color: 'blue', id: 'n1', text: expect.stringContaining('Call **support** first.') })]);

  await page.reload();
  await expect(page.getByTestId('note').getByRole('heading', { name: 'Read me' })).toBeVisible();
  await expect(page.getByTestId('dirty')).toBeHidden();

  // Deleting it is undoable like a node.
  await page.getByTestId('note').click();
  await page.keyboard.press('Delete');
  await expect(page.getByTestId('note')).toHaveCount(0);
  await page.keyboard.press('Control+z');
  await expect(page.getByTestId('note')).toHaveCount(1);
  expect(errors).toEqual([]);
});

test('Ctrl+F finds a node by its title and centres the view on it', async ({ api, page }) => {
  const nodes = [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }];
  for (let i = 0; i < 30; i++)
    nodes.push({
      config: { fields: { i } },
      id: `set_${i}`,
      position: { x: 300 + (i % 6) * 300, y: Math.floor(i / 6) * 200 },
      type: 'data.set',
    } as (typeof nodes)[number]);
  nodes.push({
    config: { fields: { paid: true } },
    id: 'charge',
    name: 'Charge the card',
    position: { x: 6000, y: 4000 },
    type: 'data.set',
  } as (typeof nodes)[number]);
  const wf = await api.createWorkflow({ name: 'Find', nodes });
  await page.goto(`/workflows/${wf.id}`);
  await expect(node(page, 'start')).toBeVisible();
  await viewportSettled(page);

  await page.locator('.react-flow__pane').click({ position: { x: 10, y: 10 } });
  await page.keyboard.press('Control+f');
  const find = page.getByRole('combobox', { name: 'Find a node by title, id or type' });
  await expect(find).toBeFocused();
  await find.fill('charge card');
  await expect(page.getByTestId('find-node').getByRole('option')).toHaveCount(1);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('find-node')).toBeHidden();
  await expect(node(page, 'charge')).toHaveClass(/selected/);
  await expect(page.getByTestId('node-panel')).toContainText('Charge the card');
  await viewportSettled(page);
  const canvas = (await page.locator('.react-flow').boundingBox())!;
  const box = (await node(page, 'charge').boundingBox())!;
  expect(Math.abs(box.x + box.width / 2 - (canvas.x + canvas.width / 2))).toBeLessThan(8);
  expect(Math.abs(box.y + box.height / 2 - (canvas.y + canvas.height / 2))).toBeLessThan(8);

  // The toolbar button opens it too, and Escape closes it.
  await page.getByRole('button', { name: 'Find a node' }).click();
  await expect(find).toBeFocused();
  await find.fill('set_2');
  await expect(page.getByTestId('find-node').getByRole('option').first()).toContainText('set_2');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('find-node')).toBeHidden();
});

test('the right-click menu adds a node where it was opened, and works from the keyboard', async ({ api, page }) => {
  const wf = await api.createWorkflow({
    name: 'Menu',
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { config: { fields: { a: 1 } }, id: 'tag', position: { x: 320, y: 0 }, type: 'data.set' },
    ],
  });
  // Error events the page does not throw: a second ResizeObserver round in one frame is reported so.
  await page.addInitScript(() => {
    const w = window as unknown as { cmErrorEvents: string[] };
    w.cmErrorEvents = [];
    window.addEventListener('error', (e) => w.cmErrorEvents.push(String(e.message)));
  });
  await page.goto(`/workflows/${wf.id}`);
  await expect(node(page, 'tag')).toBeVisible();
  await viewportSettled(page);

  const pane = page.locator('.react-flow__pane');
  const canvas = (await pane.boundingBox())!;
  const at = { x: canvas.width / 2, y: canvas.height - 120 };
  await pane.click({ button: 'right', position: at });
  const menu = page.getByRole('menu', { name: 'Canvas menu' });
  await expect(menu.getByRole('menuitem', { name: /Add node here/ })).toBeFocused();
  await page.keyboard.press('Enter');
  await page.getByLabel('Node type to add').fill('merge');
  await page.keyboard.press('Enter');
  await expect(node(page, 'merge')).toBeVisible();
  // It lands where the menu was opened, below the nodes (the view may pan to keep it clear of the minimap).
  const box = (await node(page, 'merge').boundingBox())!;
  const tagBox = (await node(page, 'tag').boundingBox())!;
  expect(box.y).toBeGreaterThan(tagBox.y + tagBox.height);
  // It was shown at once with an estimate of its size (store.ts addNode), which never sizes the card:
  // React Flow measured the card itself, in one ResizeObserver round.
  const [outer, card] = await node(page, 'merge').evaluate((el) => [el.getBoundingClientRect().height, el.firstElementChild!.getBoundingClientRect().height]);
  expect(Math.abs(outer! - card!)).toBeLessThan(1);
  expect(await page.evaluate(() => (window as unknown as { cmErrorEvents: string[] }).cmErrorEvents)).toEqual([]);

  // On a node: Shift+F10 opens its menu; Rename edits the title in place.
  await node(page, 'tag').click();
  await page.keyboard.press('Shift+F10');
  const nodeMenu = page.getByRole('menu', { name: 'Node menu' });
  await expect(nodeMenu).toBeVisible();
  await expect(nodeMenu.getByRole('menuitem', { name: 'Test node' })).toBeFocused();
  // End goes to the last item (Delete); the arrows move from there.
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await expect(nodeMenu.getByRole('menuitem', { name: /Duplicate/ })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(node(page, 'tag_2')).toBeVisible();
  await expect(node(page, 'tag_2').getByTestId('node-title')).toHaveText('Set fields 2');

  await node(page, 'tag_2').click({ button: 'right' });
  await page
    .getByRole('menu', { name: 'Node menu' })
    .getByRole('menuitem', { name: /Delete/ })
    .click();
  await expect(node(page, 'tag_2')).toHaveCount(0);
});

test('a connection dropped on empty canvas opens the node picker there and connects the new node', async ({ api, page }) => {
  const wf = await api.createWorkflow({ name: 'Drop', nodes: [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }] });
  await page.goto(`/workflows/${wf.id}`);
  await expect(node(page, 'start')).toBeVisible();
  await viewportSettled(page);

  const from = (await handle(page, 'start', 'out').boundingBox())!;
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  // Right of the node and below it, on the canvas (the details panel starts a little further right).
  await page.mouse.move(from.x + 80, from.y + 60, { steps: 5 });
  await page.mouse.move(from.x + 140, from.y + 120, { steps: 5 });
  await page.mouse.up();
  await expect(page.getByTestId('quick-add')).toBeVisible();
  await page.getByLabel('Node type to add').fill('data.set');
  await page.keyboard.press('Enter');
  await expect(node(page, 'set')).toBeVisible();
  await expect(page.locator('.react-flow__edge')).toHaveCount(1);
  await expect(page.locator('.react-flow__edge[data-id="start:out->set:in"]')).toHaveCount(1);
  // It lands where the connection was dropped: right of the trigger (the view may pan to reveal it).
  const box = (await node(page, 'set').boundingBox())!;
  const startBox = (await node(page, 'start').boundingBox())!;
  expect(box.x).toBeGreaterThan(startBox.x + startBox.width - 10);
});

test('a renamed node is shown by its title in the run timeline and inspector', async ({ api, page }) => {
  const wf = await api.createWorkflow({
    edges: [{ source: 'start', target: 'tag' }],
    name: 'Titles',
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { config: { fields: { a: 1 } }, id: 'tag', position: { x: 320, y: 0 }, type: 'data.set' },
    ],
  });
  await page.goto(`/workflows/${wf.id}`);
  await expect(node(page, 'tag')).toBeVisible();

  await node(page, 'tag').getByTestId('node-title').dblclick();
  const title = page.getByLabel('Node title');
  await expect(title).toBeFocused();
  await title.fill('Tag the order');
  await page.keyboard.press('Enter');
  await expect(node(page, 'tag').getByTestId('node-title')).toHaveText('Tag the order');
  // F2 edits it too; Escape keeps the title as it was.
  await page.keyboard.press('F2');
  await page.getByLabel('Node title').fill('Something else');
  await page.keyboard.press('Escape');
  await expect(node(page, 'tag').getByTestId('node-title')).toHaveText('Tag the order');

  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByRole('dialog', { name: 'Run workflow' }).getByRole('button', { name: 'Run' }).click();
  await expect(page.getByTestId('run-bar').locator('[data-status=succeeded]')).toBeVisible();
  await page.getByTestId('run-bar').getByRole('link', { name: 'Details' }).click();
  await expect(page.getByTestId('timeline-node').filter({ hasText: 'Tag the order' })).toBeVisible();
  await expect(page.getByTestId('timeline-node').filter({ hasText: 'start' })).toBeVisible();
  await page.getByTestId('timeline-node').filter({ hasText: 'Tag the order' }).click();
  await expect(page.getByTestId('inspected-node')).toHaveText('Tag the order tag');
});

test('auto-layout keeps the true branch above the false branch', async ({ api, page }) => {
  const wf = await api.createWorkflow({
    edges: [
      { source: 'start', target: 'check' },
      { source: 'check', sourcePort: 'false', target: 'small' },
      { source: 'check', sourcePort: 'true', target: 'big' },
    ],
    name: 'Layout order',
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { id: 'small', config: { fields: { size: 'small' } }, position: { x: 600, y: -200 }, type: 'data.set' },
      { id: 'check', config: { condition: '{{ input.total > 100 }}' }, position: { x: 300, y: 0 }, type: 'flow.if' },
      { id: 'big', config: { fields: { size: 'big' } }, position: { x: 600, y: 200 }, type: 'data.set' },
    ],
  });
  await page.goto(`/workflows/${wf.id}`);
  await expect(node(page, 'big')).toBeVisible();
  await page.locator('.react-flow__pane').click({ position: { x: 10, y: 10 } });
  await page.keyboard.press('l');
  await viewportSettled(page);
  const big = (await node(page, 'big').boundingBox())!;
  const small = (await node(page, 'small').boundingBox())!;
  expect(big.y + big.height).toBeLessThan(small.y);
});
