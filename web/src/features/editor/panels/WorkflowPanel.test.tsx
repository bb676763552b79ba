import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { catalogFactory, definitionFactory } from '@test/factories';
import { fakeApi, renderRoute } from '@test/render';

import { EditorStoreContext } from '../EditorContext';
import { definitionFromGraph } from '../graphModel';
import { createEditorStore } from '../store';
import { WorkflowPanel } from './WorkflowPanel';

afterEach(() => {
  vi.unstubAllGlobals();
});

const summary = (id: string, name: string) => ({
  active: false,
  createdAt: '2026-01-01T00:00:00Z',
  id,
  name,
  nodeCount: 2,
  updatedAt: '2026-01-01T00:00:00Z',
  version: 1,
});

describe('WorkflowPanel', () => {
  it('chooses the error workflow among the workspace’s workflows (not this one), by name, into settings.errorWorkflow', async () => {
    const calls = fakeApi([
      { body: { items: [summary('w-self', 'Orders'), summary('w-alert', 'Alert on-call'), summary('w-log', 'Log failures')] }, path: '/api/v1/workflows' },
    ]);
    const store = createEditorStore({ catalog: catalogFactory(), definition: definitionFactory(), version: 1, workflowId: 'w-self' });
    const user = userEvent.setup();
    renderRoute(
      <EditorStoreContext.Provider value={store}>
        <WorkflowPanel />
      </EditorStoreContext.Provider>,
    );
    const select = screen.getByLabelText('Error workflow');
    await screen.findByRole('option', { name: 'Alert on-call' });
    expect(screen.queryByRole('option', { name: 'Orders' })).toBeNull();
    await user.selectOptions(select, 'w-alert');
    expect(store.getState().meta.settings.errorWorkflow).toBe('w-alert');
    expect(definitionFromGraph(store.getState()).settings).toEqual({ errorWorkflow: 'w-alert' });

    await user.type(screen.getByRole('searchbox', { name: 'Search error workflow' }), 'log');
    await vi.waitFor(() => expect(calls.map((c) => c.url)).toContain('/api/v1/workflows?limit=50&name=log'));
    // The choice stays shown while the search leaves it out; None clears it.
    await user.selectOptions(select, '');
    expect(store.getState().meta.settings.errorWorkflow).toBeUndefined();
  });
});
