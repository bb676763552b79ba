import type { Page } from '@playwright/test';

import { collectErrors, expect, node, test } from './fixtures';

/**
 * Issue 13 item 2 against the real binary: pin a node's output, edit the pin, test one node with it,
 * execute up to a node, debug a past execution in the editor, unpin. Everything is done as a user
 * does it; the right-click menu is opened with Shift+F10 from the selected node, as a keyboard user would.
 */

/** card is a node's card, which carries its run status and its pin badge. */
const card = (page: Page, id: string) => node(page, id).getByTestId('workflow-node');
const pinBadge = (page: Page, id: string) => node(page, id).getByRole('img', { name: 'Pinned output' });

/** nodeMenu selects a node and opens its menu from the keyboard (Shift+F10). */
async function nodeMenu(page: Page, id: string) {
  await page.keyboard.press('Escape');
  await node(page, id).click();
  await expect(page.getByTestId('node-panel')).toBeVisible();
  await node(page, id).focus();
  await page.keyboard.press('Shift+F10');
  const menu = page.getByRole('menu', { name: 'Node menu' });
  await expect(menu).toBeVisible();
  return menu;
}

/** runBarId is the execution the canvas shows, read from the run bar's Details link. */
async function runBarId(page: Page): Promise<string> {
  const href = await page.getByTestId('run-bar').getByRole('link', { name: 'Details' }).getAttribute('href');
  return href!.split('/').pop()!;
}

/** inspect opens a node's run in the side panel (its Output tab). */
async function inspect(page: Page, id: string) {
  await page.keyboard.press('Escape');
  await node(page, id).click();
  const panel = page.getByTestId('node-panel');
  await panel.getByRole('tab', { name: /Output/ }).click();
  await expect(panel.getByTestId('run-inspector')).toBeVisible();
  return panel;
}

test('pin an output, edit it, test a node with it, execute up to here, debug in editor, unpin', async ({ api, page }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow({
    edges: [
      { source: 'start', target: 'set1' },
      { source: 'set1', target: 'set2' },
    ],
    name: `Pins ${Date.now()}`,
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { config: { fields: { name: 'Ada' } }, id: 'set1', position: { x: 300, y: 0 }, type: 'data.set' },
      { config: { fields: { greeting: 'Hello {{ input.name }}' } }, id: 'set2', position: { x: 600, y: 0 }, type: 'data.set' },
    ],
  });
  await page.goto(`/workflows/${wf.id}`);
  await expect(node(page, 'set2')).toBeVisible();

  // A production run first: its outputs are what the inspector pins.
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByRole('dialog', { name: 'Run workflow' }).getByRole('button', { name: 'Run' }).click();
  await expect(card(page, 'set2')).toHaveAttribute('data-status', 'succeeded');
  await expect(page.getByTestId('run-bar')).toContainText(/^\s*\S*\s*Run /);
  const firstRun = await runBarId(page);

  // Pin set1's output from the run inspector: the server copies it from the execution.
  let panel = await inspect(page, 'set1');
  await panel.getByRole('button', { name: 'Pin this output' }).click();
  await expect(pinBadge(page, 'set1')).toBeVisible();
  await expect(panel.getByRole('button', { name: 'Pin this output instead' })).toBeVisible();
  let pins = await api.get<{ items: { data: unknown; nodeId: string }[] }>(`/api/v1/workflows/${wf.id}/pins`);
  expect(pins.items).toEqual([expect.objectContaining({ data: { name: 'Ada' }, nodeId: 'set1' })]);

  // Edit the pin: invalid JSON is refused as you type, the edited value is saved.
  await (await nodeMenu(page, 'set1')).getByRole('menuitem', { name: 'Edit pinned output…' }).click();
  const dialog = page.getByRole('dialog', { name: /^Edit pinned output of / });
  const box = dialog.getByRole('textbox', { name: 'Pinned output (JSON)' });
  await expect(box).toBeFocused();
  await expect(box).toHaveValue(/"name": "Ada"/);
  await box.fill('{"name": "Grace", ');
  await expect(dialog.getByTestId('pin-json-error')).toContainText('Not JSON');
  await expect(dialog.getByRole('button', { name: 'Save pin' })).toBeDisabled();
  await box.fill('{"name": "Grace", "pinned": true}');
  await dialog.getByRole('button', { name: 'Save pin' }).click();
  await expect(dialog).toBeHidden();
  pins = await api.get(`/api/v1/workflows/${wf.id}/pins`);
  expect(pins.items).toEqual([expect.objectContaining({ data: { name: 'Grace', pinned: true }, nodeId: 'set1' })]);

  // Test node on set2: it runs alone, its input is set1's pinned output.
  await (await nodeMenu(page, 'set2')).getByRole('menuitem', { name: 'Test node' }).click();
  await expect(page.getByTestId('run-bar')).toContainText('Test run');
  const testRun = await runBarId(page);
  expect(testRun).not.toBe(firstRun);
  await expect(card(page, 'set2')).toHaveAttribute('data-status', 'succeeded');
  panel = await inspect(page, 'set2');
  await expect(panel.getByRole('tree', { name: 'Input' })).toContainText('"Grace"');
  await expect(panel.getByRole('tree', { name: 'Output' })).toContainText('Hello Grace');
  const detail = await api.get<{ trigger: { kind: string } }>(`/api/v1/executions/${testRun}`);
  expect(detail.trigger.kind).toBe('test');

  // Execute up to here on set2: set1 is pinned, so it does not run, and the trigger is not needed.
  await (await nodeMenu(page, 'set2')).getByRole('menuitem', { name: 'Execute up to here' }).click();
  await expect.poll(() => runBarId(page)).not.toBe(testRun);
  await expect(page.getByTestId('run-bar')).toContainText('Test run');
  await expect(card(page, 'set2')).toHaveAttribute('data-status', 'succeeded');
  await expect(card(page, 'set1')).toHaveAttribute('data-status', 'succeeded');
  await expect(card(page, 'start')).toHaveAttribute('data-status', 'skipped');
  panel = await inspect(page, 'set1');
  await expect(panel.getByTestId('run-inspector')).toContainText('pinned output used; the node did not run');
  panel = await inspect(page, 'set2');
  await expect(panel.getByRole('tree', { name: 'Output' })).toContainText('Hello Grace');

  // Debug in editor from the first run's page: its trigger data is pinned and the editor shows that run.
  await page.goto(`/executions/${firstRun}`);
  await page.getByRole('button', { name: 'Debug in editor' }).click();
  await expect(page).toHaveURL(new RegExp(`/workflows/${wf.id}\\?execution=${firstRun}$`));
  await expect(pinBadge(page, 'start')).toBeVisible();
  await expect(pinBadge(page, 'set1')).toBeVisible();
  await expect.poll(() => runBarId(page)).toBe(firstRun);
  await expect(page.getByTestId('run-bar')).not.toContainText('Test run');
  await expect(card(page, 'set2')).toHaveAttribute('data-status', 'succeeded');

  // Unpin set1 from its menu: the badge goes, the server has only the trigger's pin left.
  await (await nodeMenu(page, 'set1')).getByRole('menuitem', { name: 'Unpin' }).click();
  await expect(pinBadge(page, 'set1')).toBeHidden();
  await expect(pinBadge(page, 'start')).toBeVisible();
  pins = await api.get(`/api/v1/workflows/${wf.id}/pins`);
  expect(pins.items.map((p) => p.nodeId)).toEqual(['start']);

  // Production runs never use pins: a Run runs set1 again, with its configured value.
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByRole('dialog', { name: 'Run workflow' }).getByRole('button', { name: 'Run' }).click();
  await expect.poll(() => runBarId(page)).not.toBe(firstRun);
  await expect(card(page, 'set2')).toHaveAttribute('data-status', 'succeeded');
  panel = await inspect(page, 'set2');
  await expect(panel.getByRole('tree', { name: 'Output' })).toContainText('Hello Ada');
  expect(errors).toEqual([]);
});

test('Test workflow runs the whole workflow with pins and says in one toast why a test cannot start', async ({ api, page, request }) => {
  const wf = await api.createWorkflow({
    edges: [{ source: 'start', target: 'set1' }],
    name: `Pins test workflow ${Date.now()}`,
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { config: { fields: { name: 'Ada' } }, id: 'set1', position: { x: 300, y: 0 }, type: 'data.set' },
    ],
  });
  await page.goto(`/workflows/${wf.id}`);
  await expect(node(page, 'set1')).toBeVisible();

  // Nothing ran yet and nothing is pinned: testing set1 alone has no input, and the server says so.
  await (await nodeMenu(page, 'set1')).getByRole('menuitem', { name: 'Test node' }).click();
  const alert = page.getByRole('alert').filter({ hasText: 'Test run not started' });
  await expect(alert).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(1);
  await expect(page.getByTestId('run-bar')).toBeHidden();

  // Pin the trigger's data through the API; Test workflow (Ctrl+Shift+Enter) then uses it.
  const put = await request.put(`/api/v1/workflows/${wf.id}/pins/start`, { data: { data: { from: 'pin' } } });
  expect(put.status(), await put.text()).toBe(200);
  await page.reload();
  await expect(pinBadge(page, 'start')).toBeVisible();
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+Shift+Enter');
  await expect(page.getByTestId('run-bar')).toContainText('Test run');
  await expect(card(page, 'set1')).toHaveAttribute('data-status', 'succeeded');
  const panel = await inspect(page, 'set1');
  await expect(panel.getByRole('tree', { name: 'Input' })).toContainText('"pin"');
});
