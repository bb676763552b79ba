import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { fakeApi, renderRoute } from '@test/render';

import { WorkflowsPage } from './WorkflowsPage';

const summary = (id: string, name: string) => ({
  active: false,
  createdAt: '2026-01-01T00:00:00Z',
  id,
  name,
  nodeCount: 3,
  updatedAt: '2026-01-01T00:00:00Z',
  version: 4,
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('WorkflowsPage', () => {
  it('lists workflows and pages with the cursor', async () => {
    const calls = fakeApi([
      { body: { items: [summary('b', 'Second page')] }, path: '/api/v1/workflows?cursor=c2' },
      { body: { items: [summary('a', 'Orders')], nextCursor: 'c2' }, path: '/api/v1/workflows' },
    ]);
    const user = userEvent.setup();
    renderRoute(<WorkflowsPage />, '/workflows', '/workflows');
    expect(await screen.findByRole('link', { name: 'Orders' })).toHaveAttribute('href', '/workflows/a');
    expect(screen.getByText('v4')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: /Next/ }));
    expect(await screen.findByRole('link', { name: 'Second page' })).toBeInTheDocument();
    expect(calls.some((c) => c.url.includes('cursor=c2'))).toBe(true);
    await user.click(screen.getByRole('button', { name: /Previous/ }));
    expect(await screen.findByRole('link', { name: 'Orders' })).toBeInTheDocument();
  });

  it('shows an empty state that offers to create the first workflow', async () => {
    fakeApi([{ body: { items: [] }, path: '/api/v1/workflows' }]);
    renderRoute(<WorkflowsPage />, '/workflows', '/workflows');
    expect(await screen.findByText('No workflows yet')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Create your first workflow' })).toBeInTheDocument();
  });

  it("shows the API problem's detail when the list fails", async () => {
    fakeApi([
      { body: { detail: 'the database is locked', status: 503, title: 'Service Unavailable', type: 'about:blank' }, path: '/api/v1/workflows', status: 503 },
    ]);
    renderRoute(<WorkflowsPage />, '/workflows', '/workflows');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('the database is locked');
  });

  it('deletes a workflow only after confirming', async () => {
    const calls = fakeApi([
      { body: null, method: 'DELETE', path: '/api/v1/workflows/a', status: 204 },
      { body: { items: [summary('a', 'Orders')] }, path: '/api/v1/workflows' },
    ]);
    const user = userEvent.setup();
    renderRoute(<WorkflowsPage />, '/workflows', '/workflows');
    await user.click(await screen.findByRole('button', { name: 'Delete Orders' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete “Orders”?' });
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);
    await user.click(within(dialog).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.url)).toEqual(['/api/v1/workflows/a']));
  });

  it('imports a workflow file and reports a file that is not a workflow', async () => {
    const calls = fakeApi([
      { body: { ...summary('n', 'Imported'), edges: [], nodes: [], settings: {} }, method: 'POST', path: '/api/v1/workflows', status: 201 },
      { body: { items: [] }, path: '/api/v1/workflows' },
    ]);
    const user = userEvent.setup();
    renderRoute(<WorkflowsPage />, '/workflows', '/workflows');
    await screen.findByText('No workflows yet');
    const input = screen.getByTestId('import-input');
    // Nodes without positions are laid out before the workflow is created, not stacked on one spot.
    const nodes = [
      { id: 'start', type: 'trigger.manual' },
      { id: 'a', type: 'data.set' },
      { id: 'b', type: 'data.set' },
    ];
    const edges = [
      { source: 'start', target: 'a' },
      { source: 'a', target: 'b' },
    ];
    await user.upload(input, new File([JSON.stringify({ edges, name: 'Imported', nodes })], 'wf.json', { type: 'application/json' }));
    await waitFor(() => expect(calls.find((c) => c.method === 'POST')).toBeDefined());
    const sent = calls.find((c) => c.method === 'POST')!.body as {
      edges: unknown[];
      name: string;
      nodes: { id: string; position?: { x: number; y: number } }[];
    };
    expect(sent).toMatchObject({ edges, name: 'Imported', nodes: nodes.map((n) => ({ ...n, position: expect.any(Object) })) });
    const spots = new Set(sent.nodes.map((n) => `${n.position!.x},${n.position!.y}`));
    expect(spots.size).toBe(3);
    await user.upload(input, new File(['{"hello": 1}'], 'bad.json', { type: 'application/json' }));
    expect(await screen.findByText(/no "nodes" array/)).toBeInTheDocument();
  });
});
