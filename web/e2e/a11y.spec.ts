import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import type { Locator, Page } from '@playwright/test';

import { startServer } from './server.mjs';
import { expect, node, test } from './fixtures';

/**
 * The accessibility pass of issue 13: axe-core (injected from node_modules, no extra browser) runs on
 * every page, in the light and the dark theme, and the test fails on any serious or critical
 * violation, naming the rule, its help and the elements.
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

/** audit runs axe on the page as it is and answers its serious and critical violations, one line each. */
async function audit(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const res = await axe.run(document, { resultTypes: ['violations'] });
    return res.violations;
  });
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
  // Transitions (the theme's colours, dialogs) finish before axe reads the contrast.
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => undefined))));
}

/** useTheme makes every page of the context start in a theme, as the theme toggle would leave it. */
async function useTheme(page: Page, theme: 'dark' | 'light') {
  await page.emulateMedia({ colorScheme: theme });
  await page.addInitScript((t) => localStorage.setItem('cm-theme', t), theme);
}

const THEMES = ['light', 'dark'] as const;

let workflowId = '';
let executionId = '';

test.beforeAll(async ({ playwright }) => {
  const api = await playwright.request.newContext({
    baseURL: process.env.CM_E2E_BASE_URL,
    extraHTTPHeaders: { Authorization: `Bearer ${process.env.CM_E2E_API_KEY}` },
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

for (const theme of THEMES) {
  test.describe(`${theme} theme`, () => {
    for (const { name, path, prepare, ready } of PAGES) {
      test(`${name}: no serious or critical axe violation`, async ({ page }) => {
        await useTheme(page, theme);
        await page.goto(path());
        await settle(page, ready(page));
        await expect(page.locator('html')).toHaveClass(theme === 'dark' ? /\bdark\b/ : /^(?!.*\bdark\b)/);
        if (prepare) {
          await prepare(page);
          await settle(page, ready(page));
        }
        expect(await audit(page)).toEqual([]);
      });
    }

    test.describe('signed out', () => {
      test.use({ signedIn: false });

      test('login: no serious or critical axe violation', async ({ page }) => {
        await useTheme(page, theme);
        await page.goto('/login');
        await settle(page, page.locator('[data-page=login]'));
        expect(await audit(page)).toEqual([]);
      });

      test('setup: no serious or critical axe violation', async ({ browser }) => {
        const server = await startServer({ setup: false });
        const page = await browser.newPage({ baseURL: server.baseURL });
        try {
          await useTheme(page, theme);
          await page.goto('/setup');
          await settle(page, page.getByRole('button', { name: 'Create the owner account' }));
          expect(await audit(page)).toEqual([]);
        } finally {
          await page.close();
          await server.stop();
        }
      });
    });
  });
}

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
