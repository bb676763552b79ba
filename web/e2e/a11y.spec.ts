import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import type { Locator, Page } from '@playwright/test';

import { startServer } from './server.mjs';
import { authHeader, e2eBase, expect, node, test } from './fixtures';

/**
 * The accessibility pass of issue 13: axe-core (injected from node_modules, no extra browser) runs on
 * every page, in the light and the dark theme, and the test fails on any serious or critical
 * violation, naming the rule, its help and the elements. Each page is audited whole in the light
 * theme, then switched to the dark one in place (the system's colour scheme changes and the app,
 * following it, repaints) and audited again for the rules that read colours: the markup, roles and
 * names are the same in both themes, only the colours differ.
 */

// Evaluated through the DevTools protocol rather than added as a <script>: the pages' CSP forbids
// inline scripts, and the fixtures fail a test on any CSP violation.
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeNode {
  failureSummary?: string;
  target: unknown[];
}
interface AxeViolation {
  help: string;
  id: string;
  impact?: string | null;
  nodes: AxeNode[];
}

/** COLOUR_RULES are the axe rules whose outcome depends on the theme: they read computed colours. */
const COLOUR_RULES = ['color-contrast', 'link-in-text-block'];

/**
 * audit runs axe on the page as it is (every rule, or only those named) and answers its serious and
 * critical violations, one line each.
 */
async function audit(page: Page, rules?: string[]): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async (only) => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const res = await axe.run(document, { resultTypes: ['violations'], ...(only ? { runOnly: { type: 'rule', values: only } } : {}) });
    return res.violations;
  }, rules);
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.impact} ${v.id} (${v.help}): ${v.nodes.map((n) => `${n.target.join(' ')}${n.failureSummary ? ` — ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`).join('; ')}`,
    );
}

/** settle waits for the page's ready element and for every loading spinner to go. */
async function settle(page: Page, ready: Locator) {
  await expect(ready).toBeVisible();
  await expect(page.locator('[role=status]:has(.animate-spin)')).toHaveCount(0);
  await transitionsDone(page);
}

/** transitionsDone waits for running transitions (the theme's colours, dialogs): axe reads the contrast after. */
async function transitionsDone(page: Page) {
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => undefined))));
}

/** followSystemTheme makes every page of the context follow the system's colour scheme, which starts light. */
async function followSystemTheme(page: Page) {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.addInitScript(() => localStorage.setItem('cm-theme', 'system'));
}

/**
 * expectAccessible audits the page in the light theme (every rule), then turns the system's colour
 * scheme dark, waits for the app to follow, and audits the colour rules again.
 */
async function expectAccessible(page: Page) {
  const html = page.locator('html');
  await expect(html).not.toHaveClass(/\bdark\b/);
  expect(await audit(page), 'light theme').toEqual([]);
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(html).toHaveClass(/\bdark\b/);
  await transitionsDone(page);
  expect(await audit(page, COLOUR_RULES), 'dark theme').toEqual([]);
}

let workflowId = '';
let executionId = '';

test.beforeAll(async ({ playwright }) => {
  const api = await playwright.request.newContext({
    baseURL: e2eBase(),
    extraHTTPHeaders: authHeader(),
  });
  const created = await api.post('/api/v1/workflows', {
    data: {
      edges: [{ source: 'start', target: 'greet' }],
      name: 'Accessible greeting',
      nodes: [
        { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
        { config: { fields: { greeting: 'Hello {{ input.name }}' } }, id: 'greet', position: { x: 300, y: 0 }, type: 'data.set' },
      ],
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  workflowId = ((await created.json()) as { id: string }).id;
  const run = await api.post(`/api/v1/workflows/${workflowId}/executions?wait=20s`, { data: { input: { name: 'Ada' } } });
  expect(run.ok(), await run.text()).toBeTruthy();
  executionId = ((await run.json()) as { id: string }).id;
  // A pinned trigger: the editor pages show its pin badge in both themes.
  const pin = await api.put(`/api/v1/workflows/${workflowId}/pins/start`, { data: { data: { name: 'Ada' } } });
  expect(pin.status(), await pin.text()).toBe(200);
  await api.dispose();
});

/** PAGES are the signed-in pages: where to go, what shows the page is ready, and what to do first. */
const PAGES: { name: string; path: () => string; prepare?: (page: Page) => Promise<void>; ready: (page: Page) => Locator }[] = [
  { name: 'workflows', path: () => '/workflows', ready: (p) => p.locator('[data-page=workflows][data-ready=true]') },
  { name: 'editor', path: () => `/workflows/${workflowId}`, ready: (p) => node(p, 'greet') },
  {
    name: 'editor with the node panel',
    path: () => `/workflows/${workflowId}`,
    prepare: async (p) => {
      await node(p, 'greet').click();
      await expect(p.getByTestId('node-panel')).toBeVisible();
    },
    ready: (p) => node(p, 'greet'),
  },
  {
    name: 'editor with the pin dialog',
    path: () => `/workflows/${workflowId}`,
    prepare: async (p) => {
      await expect(p.getByRole('img', { name: 'Pinned output' })).toBeVisible();
      // The pinned trigger's panel says it is pinned; the dialog opens over it.
      await node(p, 'start').click();
      await expect(p.getByTestId('pinned-notice')).toBeVisible();
      await node(p, 'greet').click({ button: 'right' });
      await p.getByRole('menuitem', { name: 'Pin output…' }).click();
      await expect(p.getByRole('dialog', { name: /^Pin output of / })).toBeVisible();
    },
    ready: (p) => node(p, 'greet'),
  },
  { name: 'executions', path: () => '/executions', ready: (p) => p.getByTestId('execution-row').first() },
  { name: 'execution', path: () => `/executions/${executionId}`, ready: (p) => p.getByTestId('timeline') },
  { name: 'node types', path: () => '/node-types', ready: (p) => p.getByRole('heading', { name: 'Node types' }) },
  { name: 'credentials', path: () => '/credentials', ready: (p) => p.locator('[data-page=credentials][data-ready=true]') },
  { name: 'plugins', path: () => '/plugins', ready: (p) => p.locator('[data-page=plugins][data-ready=true]') },
  { name: 'members', path: () => '/settings/members', ready: (p) => p.locator('[data-page=members]') },
  { name: 'API keys', path: () => '/settings/api-keys', ready: (p) => p.locator('[data-page=api-keys]') },
  { name: 'audit log', path: () => '/settings/audit', ready: (p) => p.locator('[data-page=audit]') },
];

for (const { name, path, prepare, ready } of PAGES) {
  test(`${name}: no serious or critical axe violation, light or dark`, async ({ page }) => {
    await followSystemTheme(page);
    await page.goto(path());
    await settle(page, ready(page));
    if (prepare) {
      await prepare(page);
      await settle(page, ready(page));
    }
    await expectAccessible(page);
  });
}

test.describe('signed out', () => {
  test.use({ signedIn: false });

  test('login: no serious or critical axe violation, light or dark', async ({ page }) => {
    await followSystemTheme(page);
    await page.goto('/login');
    await settle(page, page.locator('[data-page=login]'));
    await expectAccessible(page);
  });

  test('setup: no serious or critical axe violation, light or dark', async ({ browser }) => {
    const server = await startServer({ setup: false });
    const page = await browser.newPage({ baseURL: server.baseURL });
    try {
      await followSystemTheme(page);
      await page.goto('/setup');
      await settle(page, page.getByRole('button', { name: 'Create the owner account' }));
      await expectAccessible(page);
    } finally {
      await page.close();
      await server.stop();
    }
  });
});

test('keyboard: Tab reaches every control of the workflows page, each with a visible focus ring', async ({ page }) => {
  await page.goto('/workflows');
  await settle(page, page.locator('[data-page=workflows][data-ready=true]'));
  const controls = await page.evaluate(
    () =>
      [
        ...document.querySelectorAll<HTMLElement>(
          'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])',
        ),
      ].filter((el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden').length,
  );
  expect(controls).toBeGreaterThan(3);
  const seen = new Set<string>();
  const unringed: string[] = [];
  // Bounded: twice the controls, then Tab has cycled back at least once.
  for (let i = 0; i < controls * 2 && seen.size < controls; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const s = getComputedStyle(el);
      const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || /rgb|#/.test(s.boxShadow);
      const path: string[] = [];
      for (let e: Element | null = el; e && e !== document.body; e = e.parentElement)
        path.unshift(`${e.tagName.toLowerCase()}:${[...(e.parentElement?.children ?? [])].indexOf(e)}`);
      return { id: path.join('>'), label: el.getAttribute('aria-label') || el.textContent?.trim().slice(0, 40) || el.tagName, ring };
    });
    if (!focused) continue;
    seen.add(focused.id);
    if (!focused.ring) unringed.push(focused.label);
  }
  expect(seen.size).toBe(controls);
  expect(unringed, 'controls with no visible focus ring').toEqual([]);
});
