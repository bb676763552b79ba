import { collectErrors, expect, node, test } from './fixtures';

interface Definition {
  edges: { source: string; sourcePort?: string; target: string; targetPort?: string }[];
  name: string;
  nodes: { config?: Record<string, unknown>; id: string; position?: { x: number; y: number }; type: string }[];
}

const v1: Definition = {
  edges: [{ source: 'start', target: 'size' }],
  name: 'Versions e2e',
  nodes: [
    { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
    { config: { fields: { size: 'big' } }, id: 'size', position: { x: 320, y: 0 }, type: 'data.set' },
  ],
};
// Version 2 moves a node and changes its configuration; version 3 adds a node after it.
const v2: Definition = {
  ...v1,
  nodes: [v1.nodes[0]!, { config: { fields: { size: 'small' } }, id: 'size', position: { x: 360, y: 40 }, type: 'data.set' }],
};
const v3: Definition = {
  edges: [...v2.edges, { source: 'size', target: 'notify' }],
  name: v1.name,
  nodes: [...v2.nodes, { config: { fields: { notified: true } }, id: 'notify', position: { x: 700, y: 40 }, type: 'data.set' }],
};

/** graph is what a version draws: its nodes and edges, in a stable order, with default ports filled in. */
function graph(d: Definition) {
  return {
    edges: d.edges.map((e) => `${e.source}:${e.sourcePort ?? 'out'}->${e.target}:${e.targetPort ?? 'in'}`).sort(),
    nodes: d.nodes.map((n) => ({ config: n.config ?? {}, id: n.id, position: n.position, type: n.type })).sort((a, b) => a.id.localeCompare(b.id)),
  };
}

test('history: three saved versions, the diff of v1 and v3, and v1 restored as version 4', async ({ api, page }) => {
  const errors = collectErrors(page);
  const { id } = await api.createWorkflow(v1);
  expect(await api.put(`/api/v1/workflows/${id}`, v2, { 'If-Match': '"1"' })).toBe(200);
  expect(await api.put(`/api/v1/workflows/${id}`, v3, { 'If-Match': '"2"' })).toBe(200);

  await page.goto(`/workflows/${id}`);
  await expect(node(page, 'notify')).toBeVisible();

  // The history opens from the toolbar: newest first, the current version marked.
  await page.getByRole('button', { name: 'History' }).click();
  const panel = page.getByRole('complementary', { name: 'History' });
  const rows = panel.getByTestId('version-row');
  await expect(rows).toHaveCount(3);
  await expect(rows.first()).toHaveAttribute('data-version', '3');
  await expect(rows.first().getByTestId('current-version')).toHaveText('Current');
  await expect(rows.nth(2)).toContainText('Version 1');
  await expect(rows.nth(2).locator('time')).toHaveText('just now');
  // Who saved each: these three were saved with the owner's API key.
  await expect(rows.nth(2)).toContainText('by API key');

  // Compare v1 with the current version (v3): the added node and the changed config, in the list and on the canvas.
  await rows.nth(2).getByRole('button', { name: 'Compare version 1 with the current version' }).click();
  await expect(page.getByRole('dialog', { name: 'Changes from version 1 to version 3' })).toBeVisible();
  const dialog = page.getByRole('dialog', { name: /^Changes from version/ });
  const list = dialog.getByTestId('diff-list');
  await expect(list.locator('[data-kind=added]')).toContainText('notify');
  await expect(list.locator('[data-kind=config]')).toContainText('fields.size');
  await expect(list.locator('[data-kind=config]')).toContainText('"big"');
  await expect(list.locator('[data-kind=config]')).toContainText('"small"');
  await expect(list.locator('[data-kind=moved]')).toContainText('(320, 0) → (360, 40)');
  await expect(list.locator('[data-kind=edges-added]')).toContainText('size.out → notify.in');
  await expect(list.locator('[data-kind=removed]')).toHaveCount(0);
  const canvas = dialog.getByTestId('diff-canvas');
  await expect(canvas.locator('.react-flow__node[data-id=notify]')).toHaveClass(/cm-diff-added/);
  await expect(canvas.locator('.react-flow__node[data-id=size]')).toHaveClass(/cm-diff-changed/);
  await expect(canvas.locator('.react-flow__node[data-id=start]')).not.toHaveClass(/cm-diff-/);
  await expect(canvas.locator('.react-flow__edge.cm-diff-added')).toHaveCount(1);
  // The diff canvas is read-only: its nodes cannot be dragged or connected.
  await expect(canvas.locator('.react-flow__node.draggable')).toHaveCount(0);

  // Pick the pair by keyboard: v2 → v3 shows only the added node and its edge.
  const from = dialog.getByLabel('From', { exact: true });
  await from.focus();
  // Newest first: the version above 1 is 2.
  await page.keyboard.press('ArrowUp');
  await expect(from).toHaveValue('2');
  await expect(page.getByRole('dialog', { name: 'Changes from version 2 to version 3' })).toBeVisible();
  await expect(list.locator('[data-kind=config]')).toHaveCount(0);
  await expect(list.locator('[data-kind=added]')).toContainText('notify');
  await from.selectOption('1');
  await expect(page.getByRole('dialog', { name: 'Changes from version 1 to version 3' })).toBeVisible();

  // Restore v1 from the diff, after confirming: a new version 4 whose graph equals v1's.
  await dialog.getByRole('button', { name: 'Restore version 1' }).click();
  const confirm = page.getByRole('dialog', { name: 'Restore version 1?' });
  await expect(confirm.getByTestId('restore-dirty-warning')).toHaveCount(0);
  await confirm.getByRole('button', { name: 'Restore' }).click();
  await expect(page.getByText('Restored version 1 as version 4')).toBeVisible();
  await expect(rows).toHaveCount(4);
  await expect(rows.first()).toHaveAttribute('data-version', '4');
  await expect(rows.first().getByTestId('current-version')).toBeVisible();
  // Version 4 was saved by the signed-in user, not the API key.
  await expect(rows.first()).toContainText('by ');
  await expect(rows.first()).not.toContainText('API key');
  await expect(node(page, 'notify')).toHaveCount(0);
  await expect(page.locator('.react-flow__node')).toHaveCount(2);
  await expect(page.getByTestId('dirty')).toBeHidden();

  const v4 = await api.get<{ definition: Definition; version: number }>(`/api/v1/workflows/${id}/versions/4`);
  expect(v4.version).toBe(4);
  expect(graph(v4.definition)).toEqual(graph(v1));
  const wf = await api.get<Definition & { version: number }>(`/api/v1/workflows/${id}`);
  expect(wf.version).toBe(4);

  // Comparing v1 with the restored v4 finds nothing.
  await rows.nth(3).getByRole('button', { name: 'Compare version 1 with the current version' }).click();
  await expect(page.getByRole('dialog', { name: 'Changes from version 1 to version 4' }).getByTestId('diff-list')).toHaveText(
    'Both versions hold the same workflow.',
  );
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('restoring with unsaved changes asks first, and keeps them when the user says no', async ({ api, page }) => {
  const { id } = await api.createWorkflow(v1);
  expect(await api.put(`/api/v1/workflows/${id}`, v2, { 'If-Match': '"1"' })).toBe(200);
  await page.goto(`/workflows/${id}`);
  await expect(node(page, 'size')).toBeVisible();

  // An unsaved change: the node is deleted on the canvas.
  await node(page, 'size').click();
  await page.keyboard.press('Delete');
  await expect(page.getByTestId('dirty')).toBeVisible();

  await page.getByRole('button', { name: 'History' }).click();
  await page.getByRole('button', { name: 'Restore version 1' }).click();
  const confirm = page.getByRole('dialog', { name: 'Restore version 1?' });
  await expect(confirm.getByTestId('restore-dirty-warning')).toContainText('unsaved changes');
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('dirty')).toBeVisible();
  await expect(node(page, 'size')).toHaveCount(0);

  await page.getByRole('button', { name: 'Restore version 1' }).click();
  await confirm.getByRole('button', { name: 'Discard changes and restore' }).click();
  await expect(page.getByText('Restored version 1 as version 3')).toBeVisible();
  await expect(page.getByTestId('dirty')).toBeHidden();
  await expect(node(page, 'size')).toBeVisible();
});
