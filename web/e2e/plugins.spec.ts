import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Page } from '@playwright/test';

import { collectErrors, expect, node, pluginDir, test } from './fixtures';
import { HELLO_PLUGIN, REFUSED_PLUGIN } from './plugins.mjs';

// The e2e server loads the plugin folder global-setup.ts built (plugins.mjs): hello-wasm, active, and
// a folder it refuses.

const BADGE_TITLE = 'From plugin hello-wasm@1.0.0 (WebAssembly)';

function card(page: Page, folder: string) {
  return page.locator(`[data-testid=plugin-card][data-folder="${folder}"]`);
}

test('plugins page: hello-wasm active, the refused folder with its reason, reload, and the folder followed as it changes', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/workflows');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Plugins' }).click();
  await expect(page).toHaveURL(/\/plugins$/);

  const hello = card(page, HELLO_PLUGIN);
  await expect(hello.getByRole('heading', { level: 2 })).toHaveText('hello-wasm v1.0.0');
  await expect(hello.getByTestId('plugin-status')).toHaveText('Active');
  await expect(hello).toContainText('WebAssembly · by ConcertMaster');
  await expect(hello.getByRole('link', { name: 'hello.greet' })).toBeVisible();
  await expect(hello.getByTestId('plugin-runtime')).toContainText('0 failures');

  const refused = card(page, REFUSED_PLUGIN);
  await expect(refused.getByTestId('plugin-status')).toHaveText('Refused');
  await expect(refused.getByTestId('plugin-refusal')).toContainText('Version 0.1.0 was refused');
  await expect(refused.getByTestId('plugin-problem')).toHaveCount(1);
  // The pointer into its plugin.json, then the server's reason: the schema breaks the JSON Schema metaschema.
  await expect(refused.getByTestId('plugin-problem')).toContainText(/^\/nodes\/0\/schema — compile schema: /);
  await expect(refused.getByTestId('plugin-problem')).toContainText('the schema is not valid JSON Schema: at /properties/text/type: value must be one of');
  await expect(refused.getByTestId('plugin-serving')).toHaveText('Nothing from this folder serves until it is fixed.');

  // Reload, as the owner (an admin and above): the server looks at the folder now.
  await page.getByRole('button', { name: 'Reload' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Plugins reloaded' })).toContainText('2 plugins: 1 active, 1 refused');

  // A folder dropped in is picked up by the server's watch and shows without a reload, and goes
  // once removed: the page reads the list every few seconds.
  const late = join(pluginDir(), 'late-arrival');
  mkdirSync(late);
  try {
    writeFileSync(join(late, 'plugin.json'), '{"name": "late-arrival", "version": ');
    await expect(card(page, 'late-arrival').getByTestId('plugin-status')).toHaveText('Refused', { timeout: 10_000 });
  } finally {
    rmSync(late, { force: true, recursive: true });
  }
  await expect(card(page, 'late-arrival')).toHaveCount(0, { timeout: 10_000 });

  // The node type leads to its documentation, which shows like a built-in type's.
  await hello.getByRole('link', { name: 'hello.greet' }).click();
  await expect(page).toHaveURL(/\/node-types\?q=hello\.greet$/);
  const type = page.locator('[data-testid=node-type-card][data-type="hello.greet"]');
  await expect(type.getByTestId('plugin-badge')).toHaveAttribute('title', BADGE_TITLE);
  await expect(type.getByRole('document', { name: 'hello.greet documentation' })).toContainText('Hello, Ada!');
  expect(errors).toEqual([]);
});

test('hello.greet from the palette, with its badge, runs in a workflow: "Hello, Ada!"', async ({ api, page }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow({ edges: [], name: 'Greetings', nodes: [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }] });
  await page.goto(`/workflows/${wf.id}`);
  await expect(node(page, 'start')).toBeVisible();

  // The palette lists the plugin's type under its category, with the badge naming the plugin.
  await page.getByRole('searchbox', { name: 'Search node types' }).fill('hello');
  const item = page.locator('[data-testid=palette-item][data-type="hello.greet"]');
  await expect(item).toContainText('Greet');
  await expect(item.getByTestId('plugin-badge')).toHaveAttribute('title', BADGE_TITLE);

  // Added after the selected trigger, it is connected to it; its form comes from the plugin's schema.
  await node(page, 'start').click();
  await item.click();
  await expect(node(page, 'greet')).toBeVisible();
  await expect(page.locator('.react-flow__edge')).toHaveCount(1);
  const panel = page.getByTestId('node-panel');
  await expect(panel).toContainText('greet · hello.greet');
  await expect(panel.getByTestId('plugin-badge')).toHaveAttribute('title', BADGE_TITLE);
  await panel.getByRole('textbox', { name: /^Name\*?$/ }).fill('Ada');
  await expect(page.getByTestId('validation-status')).toHaveText('Valid');

  // Run (which saves first): the plugin's output is the node's.
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByRole('dialog', { name: 'Run workflow' }).getByRole('button', { name: 'Run' }).click();
  await expect(page.getByTestId('run-bar').locator('[data-status=succeeded]')).toBeVisible();
  await expect(node(page, 'greet').getByTestId('workflow-node')).toHaveAttribute('data-status', 'succeeded');
  await panel.getByRole('tab', { name: /^Output/ }).click();
  await expect(page.getByTestId('run-inspector').getByRole('tree', { name: 'Output' })).toContainText('"greeting": "Hello, Ada!"');
  expect(errors).toEqual([]);
});
