import type { APIRequestContext, Page } from '@playwright/test';

import { collectErrors, expect, node, test } from './fixtures';

// Credentials from the browser: the secret goes in once and never comes back — not in the page, not
// in any answer the page receives — and a credential is picked, not typed, by the nodes that use it.

const TOKEN = 's3cr3t-e2e-token';

/** watchResponses records the body of every API answer the page receives. */
function watchResponses(page: Page): { bodies: { body: string; url: string }[]; pending: Promise<void>[] } {
  const seen = { bodies: [] as { body: string; url: string }[], pending: [] as Promise<void>[] };
  page.on('response', (r) => {
    if (!r.url().includes('/api/')) return;
    seen.pending.push(
      r.text().then(
        (body) => void seen.bodies.push({ body, url: r.url() }),
        () => undefined, // a redirect or an aborted request has no body
      ),
    );
  });
  return seen;
}

/** unlabelled lists the form controls of the page that have no label (no <label>, aria-label or aria-labelledby). */
async function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('input, select, textarea')]
      .filter((el) => !(el instanceof HTMLInputElement && (el.type === 'hidden' || el.type === 'file')))
      .filter((el) => el.getClientRects().length > 0)
      .filter((el) => !((el.labels?.length ?? 0) > 0 || el.getAttribute('aria-label')?.trim() || el.getAttribute('aria-labelledby')))
      .map((el) => el.outerHTML.slice(0, 160)),
  );
}

/** secretInPage reports where the token shows in the page: its markup, or the value of a control. */
async function secretInPage(page: Page): Promise<string[]> {
  return page.evaluate((token) => {
    const out: string[] = [];
    if (document.documentElement.outerHTML.includes(token)) out.push('markup');
    for (const el of document.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input, textarea'))
      if (el.value.includes(token)) out.push(el.outerHTML.slice(0, 120));
    return out;
  }, TOKEN);
}

test('a credential is created, listed, renamed keeping its secret, tested, picked in an http.request node, and refused deletion while used', async ({
  page,
  request,
}) => {
  const errors = collectErrors(page);
  const seen = watchResponses(page);
  const name = `E2E token ${Date.now().toString(36)}`;

  await page.goto('/credentials');
  await expect(page.locator('[data-page=credentials][data-ready=true]')).toBeVisible();
  await page.getByRole('button', { name: 'New credential' }).click();
  const create = page.getByRole('dialog', { name: 'New credential' });
  await create.getByLabel('Type').selectOption({ label: 'HTTP bearer token' });
  await create.getByLabel(/^Name/).fill(name);
  const token = create.getByLabel(/^Token/);
  await expect(token).toHaveAttribute('type', 'password');
  await token.fill(TOKEN);
  expect(await unlabelled(page), 'every form control has a label').toEqual([]);
  await create.getByRole('button', { name: 'Create' }).click();
  await expect(create).toBeHidden();

  // Listed by name with its type.
  const row = page.getByTestId('credential-row').filter({ hasText: name });
  await expect(row).toContainText('HTTP bearer token');
  expect(await secretInPage(page)).toEqual([]);

  // Renamed: the token input is blank and says it is stored; saving sends no token and keeps it.
  await page.getByRole('button', { name: `Edit ${name}` }).click();
  const edit = page.getByRole('dialog', { name: `Edit “${name}”` });
  const stored = edit.getByLabel(/^Token/);
  await expect(stored).toHaveValue('');
  await expect(stored).toHaveAttribute('placeholder', 'Stored — leave blank to keep');
  expect(await unlabelled(page), 'every form control has a label').toEqual([]);
  await edit.getByLabel(/^Name/).fill(`${name} renamed`);
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  const renamed = `${name} renamed`;
  await expect(page.getByTestId('credential-row').filter({ hasText: renamed })).toBeVisible();
  const list = (await (await request.get('/api/v1/credentials?type=httpBearer')).json()) as {
    items: { data: Record<string, unknown>; id: string; name: string }[];
  };
  const cred = list.items.find((c) => c.name === renamed)!;
  expect(cred.data).toEqual({ token: '[stored]' });

  // Tested: the message shows, in green.
  await page.getByRole('button', { name: `Test ${renamed}` }).click();
  const result = page.getByTestId('credential-row').filter({ hasText: renamed }).getByTestId('credential-test-result');
  await expect(result).toHaveAttribute('data-ok', 'true');
  await expect(result).not.toHaveText('Testing…');

  // Picked in an http.request node: a select of the credentials that fit, never a text box.
  const wfName = `Uses ${renamed}`;
  const created = await request.post('/api/v1/workflows', {
    data: {
      edges: [{ source: 'start', target: 'call' }],
      name: wfName,
      nodes: [
        { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
        { config: { method: 'GET', url: 'https://api.example.com/orders' }, id: 'call', position: { x: 300, y: 0 }, type: 'http.request' },
      ],
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const wf = (await created.json()) as { id: string };
  await page.goto(`/workflows/${wf.id}`);
  await node(page, 'call').click();
  const panel = page.getByTestId('node-panel');
  const picker = panel.getByLabel(/^Credential/);
  await expect(picker).toHaveJSProperty('tagName', 'SELECT');
  await expect(panel.getByTestId('credential-picker')).toHaveAttribute('data-types', 'httpBearer httpBasic httpHeader oauth2ClientCredentials');
  await expect(picker.locator('option', { hasText: `${renamed} (HTTP bearer token)` })).toHaveCount(1);
  await picker.selectOption({ label: `${renamed} (HTTP bearer token)` });
  expect(await unlabelled(page), 'every form control has a label').toEqual([]);
  await page.keyboard.press('Control+s');
  await expect(page.getByText(/Saved as version 2/)).toBeVisible();
  const saved = (await (await request.get(`/api/v1/workflows/${wf.id}`)).json()) as { nodes: { config?: Record<string, unknown>; id: string }[] };
  expect(saved.nodes.find((n) => n.id === 'call')?.config?.credential).toBe(cred.id);
  // Reopened, the node shows the credential by name.
  await page.reload();
  await node(page, 'call').click();
  await expect(page.getByTestId('node-panel').getByLabel(/^Credential/)).toHaveValue(cred.id);

  // Deleting it is refused while the workflow uses it: the dialog names the workflow, with a link.
  await page.goto('/credentials');
  await page.getByRole('button', { name: `Delete ${renamed}` }).click();
  const del = page.getByRole('dialog', { name: `Delete “${renamed}”?` });
  await del.getByRole('button', { name: 'Delete' }).click();
  const inUse = del.getByTestId('credential-in-use');
  await expect(inUse.getByRole('link', { name: wfName })).toHaveAttribute('href', `/workflows/${wf.id}`);
  await del.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByTestId('credential-row').filter({ hasText: renamed })).toBeVisible();

  // Nowhere: not in the page, not in any answer the page received.
  expect(await secretInPage(page)).toEqual([]);
  await Promise.all(seen.pending);
  expect(seen.bodies.length).toBeGreaterThan(5);
  expect(seen.bodies.filter((b) => b.body.includes(TOKEN)).map((b) => b.url)).toEqual([]);
  expect(errors).toEqual([]);
});

interface TemplateFromAPI {
  credentialTypes?: string[] | null;
  id: string;
  name: string;
}
interface CredentialTypeFromAPI {
  name: string;
  schema: { anyOf?: { required: string[] }[]; properties?: Record<string, { enum?: string[]; type?: string }>; required?: string[] };
  title: string;
}

/** dummyData fills a credential type's required fields (and its first alternative set) with plausible values. */
function dummyData(t: CredentialTypeFromAPI): Record<string, unknown> {
  const props = t.schema.properties ?? {};
  const names = new Set([...(t.schema.required ?? []), ...(t.schema.anyOf?.[0]?.required ?? [])]);
  const out: Record<string, unknown> = {};
  for (const n of names) {
    const p = props[n] ?? {};
    out[n] = p.enum
      ? p.enum[0]
      : p.type === 'integer' || p.type === 'number'
        ? 1
        : p.type === 'boolean'
          ? false
          : p.type === 'array'
            ? ['localhost:9092']
            : n.toLowerCase().includes('url')
              ? 'https://example.com/x'
              : 'example';
  }
  return out;
}

async function credentialFor(request: APIRequestContext, type: CredentialTypeFromAPI, suffix: string): Promise<string> {
  const r = await request.post('/api/v1/credentials', { data: { data: dummyData(type), name: `Template ${type.name} ${suffix}`, type: type.name } });
  expect(r.status(), await r.text()).toBe(201);
  return `Template ${type.name} ${suffix}`;
}

test('New from template: pick the template, one credential per type, and land in the editor of the new workflow', async ({ page, request }) => {
  const errors = collectErrors(page);
  const templates = (await (await request.get('/api/v1/templates')).json()) as { items: TemplateFromAPI[] };
  expect(templates.items.length, 'the server offers templates').toBeGreaterThan(0);
  // The template that needs the most credentials exercises the step best.
  const tpl = [...templates.items].sort((a, b) => (b.credentialTypes?.length ?? 0) - (a.credentialTypes?.length ?? 0))[0]!;
  const types = (await (await request.get('/api/v1/credential-types')).json()) as { items: CredentialTypeFromAPI[] };
  const suffix = Date.now().toString(36);
  const names: Record<string, string> = {};
  for (const t of tpl.credentialTypes ?? [])
    names[t] = await credentialFor(
      request,
      types.items.find((x) => x.name === t)!,
      suffix,
    );

  await page.goto('/workflows');
  await page.getByRole('button', { name: 'New from template' }).click();
  const dialog = page.getByRole('dialog', { name: 'New from template' });
  await dialog.locator(`[data-template="${tpl.id}"]`).click();
  const setup = page.getByTestId('template-setup');
  const wfName = `From ${tpl.name} ${suffix}`;
  await setup.getByLabel('Workflow name').fill(wfName);
  for (const [t, credName] of Object.entries(names)) {
    const picker = setup.locator(`[data-credential-type="${t}"] select`);
    await expect(picker.locator('option', { hasText: credName })).toHaveCount(1);
    await picker.selectOption({ label: await picker.locator('option', { hasText: credName }).innerText() });
  }
  expect(await unlabelled(page), 'every form control has a label').toEqual([]);
  await setup.getByRole('button', { name: 'Create workflow' }).click();
  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]+$/);
  await expect(page.locator('.react-flow__node').first()).toBeVisible();
  const id = page.url().split('/').pop()!;
  const wf = (await (await request.get(`/api/v1/workflows/${id}`)).json()) as { name: string; nodes: { config?: Record<string, unknown> }[] };
  expect(wf.name).toBe(wfName);
  // Every credential field of the new workflow names one of the credentials chosen.
  const list = (await (await request.get('/api/v1/credentials')).json()) as { items: { id: string; name: string }[] };
  const chosen = new Set(list.items.filter((c) => Object.values(names).includes(c.name)).map((c) => c.id));
  const used = wf.nodes.map((n) => n.config?.credential).filter((c): c is string => typeof c === 'string');
  expect(used.length).toBeGreaterThanOrEqual(Object.keys(names).length);
  for (const c of used) expect(chosen.has(c), `credential ${c} is one of those chosen`).toBe(true);
  expect(errors).toEqual([]);
});

test('"Create new credential…" in a node\'s picker makes one of the types the node takes and picks it', async ({ api, page, request }) => {
  const errors = collectErrors(page);
  const name = `Picked new ${Date.now().toString(36)}`;
  const wf = await api.createWorkflow({
    edges: [{ source: 'start', target: 'call' }],
    name,
    nodes: [
      { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
      { config: { method: 'GET', url: 'https://api.example.com/orders' }, id: 'call', position: { x: 300, y: 0 }, type: 'http.request' },
    ],
  });
  await page.goto(`/workflows/${wf.id}`);
  await node(page, 'call').click();
  const picker = page.getByTestId('node-panel').getByLabel(/^Credential/);
  await picker.selectOption({ label: 'Create new credential…' });
  const create = page.getByRole('dialog', { name: 'New credential' });
  // Only the types an http.request node takes are offered.
  const offered = await create.getByLabel('Type').locator('option').allTextContents();
  expect(offered.filter((t) => t.trim() !== '' && !/^Choose/i.test(t)).sort()).toEqual(
    ['HTTP basic auth', 'HTTP bearer token', 'HTTP header', 'OAuth2 client credentials'].sort(),
  );
  await create.getByLabel('Type').selectOption({ label: 'HTTP bearer token' });
  await create.getByLabel(/^Name/).fill(name);
  await create.getByLabel(/^Token/).fill(TOKEN);
  await create.getByRole('button', { name: 'Create' }).click();
  await expect(create).toBeHidden();

  // The new credential is picked, and saved with the node.
  const creds = (await (await request.get('/api/v1/credentials?limit=200')).json()) as { items: { id: string; name: string }[] };
  const made = creds.items.find((c) => c.name === name);
  expect(made).toBeDefined();
  await expect(picker).toHaveValue(made!.id);
  await page.keyboard.press('Control+s');
  await expect(page.getByText(/Saved as version 2/)).toBeVisible();
  const saved = (await (await request.get(`/api/v1/workflows/${wf.id}`)).json()) as { nodes: { config?: Record<string, unknown>; id: string }[] };
  expect(saved.nodes.find((n) => n.id === 'call')?.config?.credential).toBe(made!.id);
  expect(errors).toEqual([]);
});
