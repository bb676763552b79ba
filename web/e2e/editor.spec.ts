import { collectErrors, connect, expect, node, test, viewportSettled } from './fixtures';

test('build a multi-branch workflow by dragging and connecting, configure it, validate, save, reload, run and inspect', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/workflows');
  await page.getByRole('button', { name: 'New workflow' }).click();
  // A draft: nothing is saved until it changes and is valid.
  await expect(page).toHaveURL(/\/workflows\/new$/);
  await expect(page.getByTestId('version')).toHaveText('Draft');
  await expect(node(page, 'start')).toBeVisible();

  // Drag three node types from the palette onto the canvas, each found with the palette's search (the
  // list is virtualized: only the rows in view exist), which shows each type's description.
  const pane = page.locator('.react-flow__pane');
  const paletteSearch = page.getByRole('searchbox', { name: 'Search node types' });
  await paletteSearch.fill('flow.if');
  await expect(page.locator('[data-testid=palette-item][data-type="flow.if"] [data-testid=palette-description]')).toContainText('true port');
  await page.locator('[data-testid=palette-item][data-type="flow.if"]').dragTo(pane, { targetPosition: { x: 150, y: 150 } });
  await expect(node(page, 'if')).toBeVisible();
  await paletteSearch.fill('data.set');
  await page.locator('[data-testid=palette-item][data-type="data.set"]').dragTo(pane, { targetPosition: { x: 560, y: 150 } });
  await page.locator('[data-testid=palette-item][data-type="data.set"]').dragTo(pane, { targetPosition: { x: 480, y: 600 } });
  await expect(node(page, 'set')).toBeVisible();
  await expect(node(page, 'set_2')).toBeVisible();
  await paletteSearch.fill('');

  // Auto-layout (L) makes room, then the ports are connected by dragging.
  await pane.click({ position: { x: 20, y: 20 } });
  await page.keyboard.press('l');
  await viewportSettled(page);
  await connect(page, ['start', 'out'], ['if', 'in']);
  await connect(page, ['if', 'true'], ['set', 'in']);
  await connect(page, ['if', 'false'], ['set_2', 'in']);
  await expect(page.locator('.react-flow__edge')).toHaveCount(3);

  // A connection that would close a cycle is refused, with the reason.
  await connect(page, ['set', 'out'], ['if', 'in']);
  await expect(page.getByRole('alert').filter({ hasText: 'cycle' })).toBeVisible();
  await expect(page.locator('.react-flow__edge')).toHaveCount(3);

  // The new nodes are not configured yet: the server's validation errors show on the nodes.
  await expect(node(page, 'if').getByTestId('node-problem')).toContainText('condition');
  await expect(node(page, 'set').getByTestId('node-problem')).toContainText('fields');
  await expect(page.getByTestId('validation-status')).toHaveText('3 problems');

  // Configure the if node through its form, with an expression.
  await node(page, 'if').click();
  const condition = page.getByLabel('Condition');
  await expect(page.getByTestId('node-panel').getByTestId('field-error')).toBeVisible();
  await condition.fill('{{ input.total > 100 }}');
  await expect(condition).toHaveAttribute('data-expression', 'true');
  await expect(page.getByTestId('node-panel').getByTestId('expression-badge')).toHaveAttribute('aria-label', 'Expression');
  await expect(node(page, 'if').getByTestId('node-problem')).toBeHidden();

  await expect(page.getByTestId('node-panel').getByTestId('field-error')).toBeHidden();

  // The set nodes need fields: the error is on the field in the panel, and goes away once one is added.
  await node(page, 'set').click();
  await expect(page.getByTestId('node-panel').getByTestId('field-error')).toContainText('fields is required');
  await page.getByRole('button', { name: 'Add field' }).click();
  await page.getByLabel('Fields name 1').fill('size');
  await page.getByLabel('Fields value 1').fill('big');
  await expect(node(page, 'set').getByTestId('node-problem')).toBeHidden();
  await expect(page.getByTestId('node-panel').getByTestId('field-error')).toBeHidden();

  await node(page, 'set_2').click();
  await page.getByRole('button', { name: 'Add field' }).click();
  await page.getByLabel('Fields name 1').fill('size');
  await page.getByLabel('Fields value 1').fill('small');
  await expect(page.getByTestId('validation-status')).toHaveText('Valid');
  // Once valid, the draft saved itself: version 1 at its own address, in the same editor.
  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('version')).toHaveText('v1');
  await expect(page.getByTestId('dirty')).toBeHidden();

  // Save with Ctrl+S, then reload: the workflow comes back as saved.
  await page.getByLabel('Workflow name').fill('Branches');
  await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
  await expect(page.getByTestId('dirty')).toBeVisible();
  await page.keyboard.press('Control+s');
  await expect(page.getByText('Saved as version 2')).toBeVisible();
  await expect(page.getByTestId('dirty')).toBeHidden();
  await page.reload();
  await expect(page.locator('.react-flow__node')).toHaveCount(4);
  await expect(page.locator('.react-flow__edge')).toHaveCount(3);
  await node(page, 'if').click();
  // The code editor loads lazily, a text box standing in until then: read the editor once it is there.
  await expect(page.locator('.cm-content').and(page.getByLabel('Condition'))).toHaveText('{{ input.total > 100 }}');

  // Run with an input, and see the result painted on the canvas.
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByLabel('Input (JSON)').fill('{"total": 150}');
  await page.getByRole('dialog', { name: 'Run workflow' }).getByRole('button', { name: 'Run' }).click();
  await expect(page.getByTestId('run-bar').locator('[data-status=succeeded]')).toBeVisible();
  await expect(node(page, 'set').getByTestId('workflow-node')).toHaveAttribute('data-status', 'succeeded');
  await expect(node(page, 'set_2').getByTestId('workflow-node')).toHaveAttribute('data-status', 'skipped');
  await expect(node(page, 'if').getByTestId('node-status')).toContainText('succeeded');

  // Click a node: its output is in the inspector's JSON viewer.
  await node(page, 'set').click();
  const inspector = page.getByTestId('run-inspector');
  await expect(inspector).toBeVisible();
  await expect(inspector.getByRole('tree', { name: 'Output' })).toContainText('"size": "big"');
  await expect(inspector.getByRole('tree', { name: 'Output' })).toContainText('"total": 150');

  expect(errors).toEqual([]);
});

test('a stale save is refused with a 412 and offers to reload; leaving with unsaved changes asks first', async ({ api, page }) => {
  const wf = await api.createWorkflow({
    edges: [{ source: 'start', target: 'tag' }],
    name: 'Concurrent edits',
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { config: { fields: { by: 'me' } }, id: 'tag', position: { x: 320, y: 0 }, type: 'data.set' },
    ],
  });
  await page.goto(`/workflows/${wf.id}`);
  await expect(node(page, 'tag')).toBeVisible();

  // Someone else saves version 2 meanwhile.
  const status = await api.put(
    `/api/v1/workflows/${wf.id}`,
    { edges: [], name: 'Changed elsewhere', nodes: [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }] },
    { 'If-Match': '"1"' },
  );
  expect(status).toBe(200);

  await page.getByLabel('Workflow name').fill('My edit');
  await page.getByRole('button', { name: 'Save' }).click();
  const dialog = page.getByRole('dialog', { name: 'This workflow changed' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Reload their version' }).click();
  await expect(page.getByLabel('Workflow name')).toHaveValue('Changed elsewhere');
  await expect(page.locator('.react-flow__node')).toHaveCount(1);
  await expect(page.getByTestId('version')).toHaveText('v2');

  // Undo / redo from the keyboard, and the guard on leaving.
  await page.locator('.react-flow__pane').click({ position: { x: 30, y: 30 } });
  await page.keyboard.press('a');
  await page.getByLabel('Node type to add').fill('transform');
  await page.keyboard.press('Enter');
  await expect(page.locator('.react-flow__node')).toHaveCount(2);
  await page.keyboard.press('Control+z');
  await expect(page.locator('.react-flow__node')).toHaveCount(1);
  await page.keyboard.press('Control+Shift+z');
  await expect(page.locator('.react-flow__node')).toHaveCount(2);

  // Copy / paste, duplicate and delete from the keyboard; the shortcuts are listed in the help dialog.
  await node(page, 'transform').click();
  await page.keyboard.press('Control+c');
  await page.mouse.move(700, 300);
  await page.keyboard.press('Control+v');
  await expect(page.locator('.react-flow__node')).toHaveCount(3);
  await expect(node(page, 'transform_2')).toBeVisible();
  await page.keyboard.press('d');
  await expect(node(page, 'transform_3')).toBeVisible();
  await page.keyboard.press('Delete');
  await expect(page.locator('.react-flow__node')).toHaveCount(3);
  await page.keyboard.press('Shift+?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(help).toContainText('Auto-layout');
  await page.keyboard.press('Escape');
  await expect(help).toBeHidden();
  await page.getByRole('link', { name: 'Back to workflows' }).click();
  const guard = page.getByRole('dialog', { name: 'Leave with unsaved changes?' });
  await expect(guard).toBeVisible();
  await guard.getByRole('button', { name: 'Stay' }).click();
  await expect(page).toHaveURL(new RegExp(`/workflows/${wf.id}$`));
  await page.getByRole('link', { name: 'Back to workflows' }).click();
  await guard.getByRole('button', { name: 'Leave without saving' }).click();
  await expect(page).toHaveURL(/\/workflows$/);
});
