// A schedule trigger from the editor (issue 9): its next fire times show as the expression is typed,
// a bad expression says why, and once the workflow is active it fires, live on the canvas, until it
// is switched off.
import type { Page } from '@playwright/test';

import { collectErrors, expect, node, test } from './fixtures';

/** field finds a string field of the node panel once the code editor has replaced the plain text box. */
async function field(page: Page, name: string) {
  // A required field's name ends in "*".
  const box = page.getByTestId('node-panel').getByRole('textbox', { name: new RegExp(`^${name}\\*?$`) });
  await expect(box).toHaveAttribute('contenteditable', 'true');
  return box;
}

test('a schedule shows its next fire times as it is typed, fires while the workflow is active, and stops when it is not', async ({ api, page }) => {
  const errors = collectErrors(page);
  const wf = await api.createWorkflow({
    edges: [{ source: 'clock', target: 'tick' }],
    name: `Scheduled ${Date.now()}`,
    nodes: [
      { config: { cron: '@daily' }, id: 'clock', position: { x: 0, y: 0 }, type: 'trigger.schedule' },
      { config: { fields: { ticked: true } }, id: 'tick', position: { x: 320, y: 0 }, type: 'data.set' },
    ],
  });
  await page.goto(`/workflows/${wf.id}`);
  await node(page, 'clock').click();
  const times = page.getByRole('list', { name: 'Next fire times' }).locator('time');
  await expect(times).toHaveCount(5);
  expect(await times.evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')!.slice(11)))).toEqual(Array(5).fill('00:00:00Z'));

  // 9:00 on weekdays in Paris: five weekday mornings, at 9 o'clock Paris time.
  await (await field(page, 'Cron')).fill('0 9 * * 1-5');
  await (await field(page, 'Time zone')).fill('Europe/Paris');
  await expect(page.getByRole('region', { name: 'Next fire times' })).toContainText('Next fire times (Europe/Paris)');
  await expect
    .poll(async () =>
      (await times.evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')!))).map((iso) => {
        const parts = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Paris', weekday: 'short' }).formatToParts(
          new Date(iso),
        );
        const get = (type: string) => parts.find((p) => p.type === type)?.value;
        return `${['Sat', 'Sun'].includes(get('weekday')!) ? 'weekend' : 'weekday'} ${get('hour')}:${get('minute')}`;
      }),
    )
    .toEqual(Array(5).fill('weekday 09:00'));

  // A wrong expression says why instead of listing times.
  await (await field(page, 'Cron')).fill('every morning');
  await expect(page.getByRole('region', { name: 'Next fire times' }).getByRole('alert')).not.toBeEmpty();
  await expect(times).toHaveCount(0);

  // Every second, saved and switched on: the runs show on the canvas as they happen.
  await (await field(page, 'Cron')).fill('@every 1s');
  await expect(times).toHaveCount(5);
  await page.keyboard.press('Control+s');
  await expect(page.getByText('Saved as version 2')).toBeVisible();
  await page.getByRole('switch', { name: 'Inactive' }).click();
  await expect(page.getByRole('switch', { name: 'Active' })).toHaveAttribute('aria-checked', 'true');
  await expect(node(page, 'tick').getByTestId('workflow-node')).toHaveAttribute('data-status', 'succeeded', { timeout: 8000 });
  const runs = async () => (await api.get<{ items: { trigger: string }[] }>(`/api/v1/executions?workflowId=${wf.id}&trigger=schedule&limit=100`)).items.length;
  await expect.poll(runs, { timeout: 8000 }).toBeGreaterThanOrEqual(2);

  // Switched off, it fires no more: nothing new over two would-be fire times.
  await page.getByRole('switch', { name: 'Active' }).click();
  await expect(page.getByRole('switch', { name: 'Inactive' })).toHaveAttribute('aria-checked', 'false');
  const settled = await runs();
  await page.waitForTimeout(2000);
  expect(await runs()).toBe(settled);
  expect(errors).toEqual([]);
});
