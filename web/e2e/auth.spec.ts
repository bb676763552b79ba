import { readFileSync } from 'node:fs';

import { startServer } from './server.mjs';
import { collectErrors, e2eBase, expect, loginAs, owner, test } from './fixtures';

const manualFlow = (name: string) => ({ edges: [], name, nodes: [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }] });

test.describe('signed out', () => {
  test.use({ signedIn: false });

  test('first run: the setup screen makes the owner, who lands on the workflows', async ({ browser }) => {
    const server = await startServer({ setup: false });
    const page = await browser.newPage({ baseURL: server.baseURL });
    try {
      const errors = collectErrors(page);
      await page.goto('/workflows');
      await expect(page).toHaveURL(/\/setup$/);
      await page.getByLabel('Your name').fill('Ada Lovelace');
      await page.getByLabel('E-mail').fill('ada@example.com');
      await page.getByLabel('Password', { exact: true }).fill('password123');
      await page.getByLabel('Workspace name').fill('Analytical Engines');
      await page.getByRole('button', { name: 'Create the owner account' }).click();
      // The server's reason shows on the password field.
      const password = page.getByLabel('Password', { exact: true });
      await expect(password).toHaveAttribute('aria-invalid', 'true');
      await expect(password).toHaveAccessibleDescription(/password is too easy to guess/);

      await password.fill('the analytical engine weaves algebraic patterns');
      await page.getByRole('button', { name: 'Create the owner account' }).click();
      await expect(page).toHaveURL(/\/workflows$/);
      await expect(page.getByTestId('current-workspace')).toHaveText('Analytical Engines');
      await expect(page.getByTestId('my-role')).toHaveText('owner');
      await expect(page.getByText('No workflows yet')).toBeVisible();

      // A reload keeps the session (the refresh cookie), and setup is over for good.
      await page.reload();
      await expect(page.getByTestId('current-workspace')).toHaveText('Analytical Engines');
      await page.goto('/setup');
      await expect(page).toHaveURL(/\/workflows$/);
      const again = await page.request.post('/api/v1/auth/setup', {
        data: { email: 'eve@example.com', password: 'the analytical engine weaves algebraic patterns' },
      });
      expect(again.status()).toBe(409);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await server.stop();
    }
  });

  test('a wrong password is refused with one message; the right one returns to the page asked for', async ({ page }) => {
    const errors = collectErrors(page);
    await page.goto('/executions?status=failed');
    await expect(page).toHaveURL(/\/login\?next=/);
    await page.getByLabel('E-mail').fill(owner().email);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Invalid e-mail or password');

    await page.getByLabel('Password').fill(owner().password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/executions\?status=failed$/);
    await expect(page.locator('[data-page=executions]')).toBeVisible();

    // The access token lives in memory only; the refresh token is an HttpOnly, SameSite=Strict cookie
    // for the auth routes alone.
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }))).not.toMatch(/eyJ|cm_rt_/);
    expect(await page.evaluate(() => document.cookie)).not.toContain('cm_refresh');
    const cookie = (await page.context().cookies()).find((c) => c.name === 'cm_refresh');
    expect(cookie).toMatchObject({ httpOnly: true, path: '/api/v1/auth', sameSite: 'Strict' });

    // Logging out ends the session: the app asks for a login again, even after a reload.
    await page.getByRole('button', { name: /^User menu:/ }).click();
    await page.getByRole('menuitem', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await page.goto('/workflows');
    await expect(page).toHaveURL(/\/login\?next=%2Fworkflows$/);
    expect(errors).toEqual([]);
  });
});

test('a viewer sees no edit or run buttons, and the server refuses them anyway', async ({ api, browser, request }) => {
  const wf = await api.createWorkflow(manualFlow('Readable by viewers'));
  const email = `viewer-${Date.now()}@e2e.test`;
  const password = 'viewer e2e: lunar tide pools shimmer softly';
  const added = await request.post('/api/v1/members', { data: { email, name: 'Vera Viewer', password, role: 'viewer' } });
  expect(added.status(), await added.text()).toBe(201);

  const ctx = await browser.newContext({ baseURL: e2eBase() });
  const page = await ctx.newPage();
  try {
    const errors = collectErrors(page);
    await page.goto('/login');
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/workflows$/);
    await expect(page.getByTestId('my-role')).toHaveText('viewer');
    const row = page.getByTestId('workflow-row').filter({ hasText: 'Readable by viewers' });
    await expect(row).toBeVisible();
    await expect(row.getByRole('button', { name: /^Export/ })).toBeVisible();
    for (const name of ['New workflow', 'Import']) await expect(page.getByRole('button', { name, exact: true })).toHaveCount(0);
    for (const name of [/^Rename/, /^Duplicate/, /^Delete/]) await expect(row.getByRole('button', { name })).toHaveCount(0);
    await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' })).toHaveCount(0);

    // The editor opens read-only.
    await row.getByRole('link', { name: 'Readable by viewers' }).click();
    await expect(page.getByTestId('read-only')).toBeVisible();
    for (const name of ['Run', 'Save', 'Undo', 'Node palette']) await expect(page.getByRole('button', { name, exact: true })).toHaveCount(0);

    // Settings are for admins, even by address.
    await page.goto('/settings/members');
    await expect(page.getByText('Settings are for admins')).toBeVisible();

    // The server refuses what the UI does not offer, with the viewer's own token.
    const { accessToken } = await loginAs(ctx.request, email, password);
    const headers = { Authorization: `Bearer ${accessToken}` };
    expect((await ctx.request.get(`/api/v1/workflows/${wf.id}`, { headers })).status()).toBe(200);
    for (const r of [
      await ctx.request.post(`/api/v1/workflows/${wf.id}/executions`, { data: { input: {} }, headers }),
      await ctx.request.delete(`/api/v1/workflows/${wf.id}`, { headers }),
      await ctx.request.post('/api/v1/workflows', { data: manualFlow('Planted by a viewer'), headers }),
      await ctx.request.get('/api/v1/members', { headers }),
    ]) {
      expect(r.status(), r.url()).toBe(403);
    }
    expect((await api.get<{ id: string }>(`/api/v1/workflows/${wf.id}`)).id).toBe(wf.id);
    expect(errors).toEqual([]);
  } finally {
    await ctx.close();
  }
});

test('a member demoted while the page is open is refused by the server, told why, and loses the buttons', async ({ browser, request }) => {
  const email = `editor-${Date.now()}@e2e.test`;
  const password = 'editor e2e: copper kettles hum at dawn';
  const added = await request.post('/api/v1/members', { data: { email, password, role: 'editor' } });
  expect(added.status(), await added.text()).toBe(201);
  const { userId } = (await added.json()) as { userId: string };

  const ctx = await browser.newContext({ baseURL: e2eBase() });
  const page = await ctx.newPage();
  try {
    await page.goto('/login');
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByTestId('my-role')).toHaveText('editor');
    const create = page.getByRole('button', { name: 'New workflow' });
    await expect(create).toBeVisible();

    // The owner makes them a viewer; the page still shows what an editor may do, until it hears.
    const demoted = await request.patch(`/api/v1/members/${userId}`, { data: { role: 'viewer' } });
    expect(demoted.status(), await demoted.text()).toBe(200);
    // "New workflow" opens a draft; its first change is refused, said so, and the role is read again.
    await create.click();
    await expect(page).toHaveURL(/\/workflows\/new$/);
    await page.getByLabel('Workflow name').fill('Not mine to make');
    await expect(page.getByRole('alert').filter({ hasText: 'Your role (viewer) cannot do this' })).toBeVisible();
    await expect(page.getByTestId('my-role')).toHaveText('viewer');
    await expect(page.getByRole('heading', { name: 'You cannot create a workflow' })).toBeVisible();
    await page.goto('/workflows');
    await expect(create).toHaveCount(0);
  } finally {
    await ctx.close();
  }
});

test('the owner creates an API key, sees it once, and revokes it', async ({ page, request }) => {
  const errors = collectErrors(page);
  await page.goto('/settings/api-keys');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const form = page.getByRole('dialog', { name: 'Create API key' });
  await form.getByLabel('Name').fill('Deploy bot');
  await form.getByLabel('Role').selectOption('viewer');
  await form.getByRole('button', { name: 'Create key' }).click();

  const shown = page.getByRole('dialog', { name: 'API key “Deploy bot” created' });
  await expect(shown.getByRole('note')).toContainText('only time it is shown');
  const key = (await shown.getByTestId('new-api-key').textContent())!.trim();
  expect(key).toMatch(/^cm_ak_[A-Za-z0-9_-]{20,}$/);
  const asKey = { Authorization: `Bearer ${key}` };
  expect((await request.get('/api/v1/workflows', { headers: asKey })).status()).toBe(200);
  // A viewer key: it reads, it does not write.
  expect((await request.post('/api/v1/workflows', { data: manualFlow('By a viewer key'), headers: asKey })).status()).toBe(403);

  await shown.getByRole('button', { name: 'I have saved the key' }).click();
  const row = page.getByTestId('api-key-row').filter({ hasText: 'Deploy bot' });
  await expect(row.getByTestId('api-key-status')).toHaveText('active');
  await page.reload();
  await expect(row).toBeVisible();
  expect(await page.content()).not.toContain(key);

  await row.getByRole('button', { name: 'Revoke Deploy bot' }).click();
  await page.getByRole('dialog', { name: 'Revoke “Deploy bot”?' }).getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toHaveCount(0);
  await page.getByRole('checkbox', { name: 'Show revoked keys' }).check();
  await expect(row.getByTestId('api-key-status')).toHaveText('revoked');
  expect((await request.get('/api/v1/workflows', { headers: asKey })).status()).toBe(401);
  expect(errors).toEqual([]);
});

test('the audit log lists the sign-in and the workflow change, with details, and exports them', async ({ api, page }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow(manualFlow('Audited'));
  expect(await api.put(`/api/v1/workflows/${wf.id}`, { ...manualFlow('Audited, renamed') }, { 'If-Match': `"${wf.version}"` })).toBe(200);

  await page.goto('/settings/audit');
  const actions = page.getByTestId('audit-action');
  await expect(actions.first()).toBeVisible();
  expect(await actions.allTextContents()).toEqual(expect.arrayContaining(['auth.login', 'workflow.created', 'workflow.updated']));

  await page.getByLabel('Action').selectOption('workflow.updated');
  await page.getByLabel('Target id').fill(wf.id);
  await expect(page.getByTestId('audit-row')).toHaveCount(1);
  await page.getByRole('button', { name: /^Details of workflow.updated/ }).click();
  const details = page.getByRole('tree', { name: 'Details' });
  await expect(details).toContainText('Audited, renamed');
  await expect(details).toContainText('before');

  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export JSON lines' }).click();
  const file = await (await download).path();
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { action: string; targetId: string });
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ action: 'workflow.updated', targetId: wf.id });
  expect(errors).toEqual([]);
});

test('the workspace switcher opens another workspace, with its own (empty) workflows, and comes back', async ({ api, page }) => {
  const errors = collectErrors(page);
  await api.createWorkflow(manualFlow('In the first workspace'));
  const me = await api.get<{ tenant: { name: string } }>('/api/v1/auth/me');
  await page.goto('/workflows');
  await expect(page.getByTestId('workflow-row').filter({ hasText: 'In the first workspace' })).toBeVisible();

  const second = `Second workspace ${Date.now()}`;
  await page.getByRole('button', { name: /^Workspace:/ }).click();
  await page.getByRole('menuitem', { name: 'New workspace' }).click();
  const dialog = page.getByRole('dialog', { name: 'New workspace' });
  await dialog.getByLabel('Name').fill(second);
  await dialog.getByRole('button', { name: 'Create and switch' }).click();
  await expect(page.getByTestId('current-workspace')).toHaveText(second);
  await expect(page).toHaveURL(/\/workflows$/);
  await expect(page.getByText('No workflows yet')).toBeVisible();
  await expect(page.getByTestId('my-role')).toHaveText('owner');
  // The live connection follows the new workspace.
  await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-live-state', 'live');

  await page.getByRole('button', { name: /^Workspace:/ }).click();
  await page.getByRole('menuitem', { name: new RegExp(`^${me.tenant.name}`) }).click();
  await expect(page.getByTestId('current-workspace')).toHaveText(me.tenant.name);
  await expect(page.getByTestId('workflow-row').filter({ hasText: 'In the first workspace' })).toBeVisible();
  // A reload stays in the workspace switched to (the cookie's session is for it).
  await page.reload();
  await expect(page.getByTestId('current-workspace')).toHaveText(me.tenant.name);
  expect(errors).toEqual([]);
});
