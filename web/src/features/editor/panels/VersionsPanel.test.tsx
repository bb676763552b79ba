import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ReactFlowProvider } from '@xyflow/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { DefinitionFromAPI, VersionSummaryFromAPI } from '@services/workflows';
import { catalogFactory } from '@test/factories';
import { fakeApi, renderRoute, type FakeRoute } from '@test/render';

import { EditorStoreContext } from '../EditorContext';
import { definitionFromGraph } from '../graphModel';
import { createEditorStore, isDirty } from '../store';
import { author, VersionsPanel } from './VersionsPanel';

afterEach(() => {
  vi.unstubAllGlobals();
});

const W = '/api/v1/workflows/w1';

const v1: DefinitionFromAPI = {
  edges: [{ source: 'start', target: 'set' }],
  name: 'Orders',
  nodes: [
    { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
    { config: { fields: { size: 'big' } }, id: 'set', position: { x: 300, y: 0 }, type: 'data.set' },
  ],
};
const v3: DefinitionFromAPI = {
  edges: [
    { source: 'start', target: 'set' },
    { source: 'set', target: 'call' },
  ],
  name: 'Orders',
  nodes: [
    { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' },
    { config: { fields: { size: 'small' } }, id: 'set', position: { x: 300, y: 0 }, type: 'data.set' },
    { config: { url: 'https://a.example' }, id: 'call', position: { x: 600, y: 0 }, type: 'http.request' },
  ],
};

const NOW = Date.now();
const summary = (version: number) => ({ createdAt: new Date(NOW - (4 - version) * 3_600_000).toISOString(), version, workflowId: 'w1' });
const version = (n: number, definition: DefinitionFromAPI) => ({ createdAt: '2026-01-01T00:00:00Z', definition, version: n, workflowId: 'w1' });

function routes(extra: FakeRoute[] = []): FakeRoute[] {
  return [
    ...extra,
    { body: version(1, v1), path: `${W}/versions/1` },
    { body: version(2, { ...v1, name: 'Orders 2' }), path: `${W}/versions/2` },
    { body: version(3, v3), path: `${W}/versions/3` },
    { body: { items: [summary(1)] }, path: `${W}/versions?cursor=c2` },
    { body: { items: [summary(3), summary(2)], nextCursor: 'c2' }, path: `${W}/versions` },
  ];
}

function setup({ dirty = false, readOnly = false } = {}) {
  const store = createEditorStore({ catalog: catalogFactory(), definition: v3, readOnly, version: 3, workflowId: 'w1' });
  if (dirty) store.getState().setMeta({ name: 'Orders, edited' });
  const onClose = vi.fn();
  const user = userEvent.setup();
  renderRoute(
    <EditorStoreContext.Provider value={store}>
      <ReactFlowProvider>
        <VersionsPanel onClose={onClose} />
      </ReactFlowProvider>
    </EditorStoreContext.Provider>,
  );
  return { onClose, store, user };
}

describe('VersionsPanel', () => {
  it('lists versions newest first with relative and absolute times, marks the current one, and pages on', async () => {
    const calls = fakeApi(routes());
    const { onClose, user } = setup();
    const rows = await screen.findAllByTestId('version-row');
    expect(rows.map((r) => r.dataset.version)).toEqual(['3', '2']);
    expect(rows[0]).toHaveAttribute('aria-current', 'true');
    expect(within(rows[0]!).getByTestId('current-version')).toHaveTextContent('Current');
    expect(within(rows[1]!).getByText('2 hours ago')).toBeInTheDocument();
    expect(within(rows[1]!).getByRole('time')).toHaveAttribute('title', new Date(summary(2).createdAt).toLocaleString());
    // The current version is not offered for restore; older ones are.
    expect(within(rows[0]!).queryByRole('button', { name: /Restore/ })).toBeNull();
    expect(within(rows[1]!).getByRole('button', { name: 'Restore version 2' })).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Load older versions' }));
    await waitFor(() => expect(screen.getAllByTestId('version-row').map((r) => r.dataset.version)).toEqual(['3', '2', '1']));
    expect(calls.map((c) => c.url)).toEqual([`${W}/versions?limit=20`, `${W}/versions?cursor=c2&limit=20`]);
    expect(screen.queryByRole('button', { name: 'Load older versions' })).toBeNull();

    // Esc closes the panel from anywhere in it.
    screen.getByRole('button', { name: 'Restore version 2' }).focus();
    await user.keyboard('{Escape}');
    expect(onClose).toHaveBeenCalled();
  });

  it('compares a version with the current one: the changes grouped by kind and coloured on a canvas', async () => {
    fakeApi(routes([{ body: { items: [summary(3), summary(2), summary(1)] }, path: `${W}/versions?limit` }]));
    const { user } = setup();
    await user.click(await screen.findByRole('button', { name: 'Compare version 1 with the current version' }));
    const dialog = await screen.findByRole('dialog', { name: 'Changes from version 1 to version 3' });
    const list = await within(dialog).findByTestId('diff-list');
    const group = (kind: string) => list.querySelector(`[data-kind="${kind}"]`) as HTMLElement;
    expect(within(group('added')).getByRole('heading')).toHaveTextContent('Nodes added (1)');
    expect(group('added')).toHaveTextContent('call');
    expect(group('config')).toHaveTextContent('fields.size');
    expect(within(group('config')).getByText('"big"', { exact: false })).toBeInTheDocument();
    expect(within(group('config')).getByText('"small"', { exact: false })).toBeInTheDocument();
    expect(group('edges-added')).toHaveTextContent('set.out → call.in');
    expect(group('removed')).toBeNull();
    expect(within(dialog).getByTestId('diff-summary')).toHaveTextContent('1 added · 1 changed · 1 edge');

    // The canvas draws the newer version with the added node and the changed one coloured.
    await waitFor(() => expect(dialog.querySelector('.react-flow__node[data-id="call"]')).toHaveClass('cm-diff-added'));
    expect(dialog.querySelector('.react-flow__node[data-id="set"]')).toHaveClass('cm-diff-changed');
    expect(dialog.querySelector('.react-flow__node[data-id="start"]')).not.toHaveClass('cm-diff-added', 'cm-diff-changed', 'cm-diff-moved', 'cm-diff-removed');

    // Swapping the two shows the reverse: the node removed.
    await user.selectOptions(within(dialog).getByLabelText('From'), '3');
    await user.selectOptions(within(dialog).getByLabelText('To'), '1');
    await screen.findByRole('dialog', { name: 'Changes from version 3 to version 1' });
    await waitFor(() => expect(list.querySelector('[data-kind="removed"]')).toHaveTextContent('call'));
    expect(within(dialog).queryByRole('button', { name: /Restore version/ })).toBeNull();
  }, 30_000);

  it('restores a version as the next one with If-Match of the current version, after asking; unsaved changes are named', async () => {
    const saved = { ...v1, active: false, createdAt: '2026-01-01T00:00:00Z', id: 'w1', updatedAt: '2026-01-02T00:00:00Z', version: 4 };
    const calls = fakeApi(routes([{ body: saved, method: 'PUT', path: W }]));
    const { store, user } = setup({ dirty: true });
    expect(isDirty(store.getState())).toBe(true);
    await user.click(await screen.findByRole('button', { name: 'Restore version 2' }));
    await user.click(screen.getByRole('button', { name: 'Load older versions' }));
    await user.click(await screen.findByRole('button', { name: 'Restore version 1' }));
    const confirm = screen.getByRole('dialog', { name: 'Restore version 1?' });
    expect(within(confirm).getByTestId('restore-dirty-warning')).toHaveTextContent('unsaved changes');
    await user.click(within(confirm).getByRole('button', { name: 'Discard changes and restore' }));

    await screen.findByText('Restored version 1 as version 4');
    const put = calls.find((c) => c.method === 'PUT')!;
    expect(put.body).toEqual(v1);
    expect(vi.mocked(fetch).mock.calls.find(([, init]) => init?.method === 'PUT')![1]!.headers).toMatchObject({ 'If-Match': '"3"' });
    const s = store.getState();
    expect(s.version).toBe(4);
    expect(isDirty(s)).toBe(false);
    expect(definitionFromGraph(s)).toEqual(v1);
    // The history is read again to show the new version.
    await waitFor(() => expect(calls.filter((c) => c.url === `${W}/versions?limit=20`)).toHaveLength(2));
  }, 15_000);

  it('says so when someone saved meanwhile (412), and keeps the editor as it was', async () => {
    fakeApi(routes([{ body: { detail: 'precondition failed', status: 412, title: 'Precondition Failed' }, method: 'PUT', path: W, status: 412 }]));
    const { store, user } = setup();
    await user.click(await screen.findByRole('button', { name: 'Restore version 2' }));
    await user.click(within(screen.getByRole('dialog', { name: 'Restore version 2?' })).getByRole('button', { name: 'Restore' }));
    expect(await screen.findByText(/Someone saved a newer version meanwhile/)).toBeInTheDocument();
    expect(store.getState().version).toBe(3);
    expect(definitionFromGraph(store.getState())).toEqual(v3);
  }, 15_000);

  it('reads the list again when the editor saves a version it does not list yet', async () => {
    let newest = 3;
    fakeApi([{ body: () => ({ items: [summary(newest), summary(2)] }), path: `${W}/versions` }]);
    const { store } = setup();
    await screen.findAllByTestId('version-row');
    newest = 4;
    act(() => store.getState().markSaved(4, store.getState().revision));
    await waitFor(() => expect(screen.getAllByTestId('version-row')[0]).toHaveAttribute('data-version', '4'));
    expect(screen.getAllByTestId('version-row')[0]).toHaveAttribute('aria-current', 'true');
  });

  it('offers no restore to a viewer', async () => {
    fakeApi(routes());
    setup({ readOnly: true });
    await screen.findAllByTestId('version-row');
    expect(screen.queryByRole('button', { name: /Restore/ })).toBeNull();
    expect(screen.getByRole('button', { name: 'Compare version 2 with the current version' })).toBeEnabled();
  });
});

describe('author', () => {
  const tests: { author: VersionSummaryFromAPI['author']; name: string; want: string | null }[] = [
    { author: undefined, name: 'not recorded', want: null },
    { author: { kind: 'user', name: 'Ada' }, name: 'a user', want: 'Ada' },
    { author: { kind: 'apikey', name: 'k1' }, name: 'an API key', want: 'API key k1' },
    { author: { kind: 'user', name: '' }, name: 'an empty name is no name', want: null },
  ];
  for (const tt of tests) it(tt.name, () => expect(author({ ...summary(1), author: tt.author })).toBe(tt.want));

  it('is shown under the time', async () => {
    fakeApi([{ body: { items: [{ ...summary(3), author: { kind: 'user', name: 'Ada' }, createdBy: 'u1' }] }, path: `${W}/versions` }]);
    setup();
    expect(await screen.findByText('by Ada')).toBeInTheDocument();
  });
});
