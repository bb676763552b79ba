// Members and roles from the settings page (issue 8): the owner adds a member (a new user with an
// initial password), changes their role and removes them; the server agrees at each step.
import { expect, loginAs, test } from './fixtures';

interface Member {
  email: string;
  role: string;
  userId: string;
}

test('members: the owner adds a new user with an initial password, changes their role, and removes them', async ({ api, page, playwright }) => {
  const email = `member-${Date.now()}@e2e.test`;
  const password = 'member e2e: amber lanterns drift upriver';
  const member = async () => (await api.get<{ items: Member[] }>('/api/v1/members?limit=500')).items.find((m) => m.email === email);

  await page.goto('/settings/members');
  await page.getByRole('button', { name: 'Add member' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add member' });
  await dialog.getByLabel('E-mail').fill(email);
  // Nobody has this e-mail yet: without a password the dialog says what to do.
  await dialog.getByRole('button', { name: 'Add member' }).click();
  const emailBox = dialog.getByLabel('E-mail');
  await expect(emailBox).toHaveAttribute('aria-invalid', 'true');
  await expect(emailBox).toHaveAccessibleDescription(/no user has this e-mail: give a password to create their account/);
  await dialog.getByLabel('Role').selectOption('viewer');
  await dialog.getByLabel('Name (optional)').fill('Mira Member');
  await dialog.getByLabel('Initial password (optional)').fill(password);
  await dialog.getByRole('button', { name: 'Add member' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText('Added Mira Member as viewer')).toBeVisible();
  const row = page.getByTestId('member-row').filter({ hasText: email });
  await expect(row).toContainText('Mira Member');
  expect((await member())?.role).toBe('viewer');

  // The new user signs in with the initial password.
  const ctx = await playwright.request.newContext();
  try {
    await loginAs(ctx, email, password);
  } finally {
    await ctx.dispose();
  }

  // A role change asks first, then holds on the server.
  const role = row.getByLabel('Role of Mira Member');
  await expect(role).toHaveValue('viewer');
  await role.selectOption('editor');
  const confirm = page.getByRole('dialog', { name: 'Make Mira Member editor?' });
  await confirm.getByRole('button', { name: 'Change role' }).click();
  await expect(confirm).toBeHidden();
  await expect(role).toHaveValue('editor');
  await expect.poll(async () => (await member())?.role).toBe('editor');

  // Removed, after a confirmation: gone from the list and from the workspace.
  await row.getByRole('button', { name: 'Remove Mira Member' }).click();
  await page.getByRole('dialog', { name: 'Remove Mira Member?' }).getByRole('button', { name: 'Remove' }).click();
  await expect(row).toHaveCount(0);
  expect(await member()).toBeUndefined();
});
