import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { readFileText } from '@lib/json';
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

describe('WorkflowsPage: managing workflows', () => {
  const full = (id: string, name: string) => ({ ...summary(id, name), createdAt: '2026-01-01T00:00:00Z', edges: [], nodes: [], settings: {}, tags: [] });

  it('renames through the dialog with the version it read, and duplicates as “(copy)”', async () => {
    const calls = fakeApi([
      { body: (_url: string, body: { name: string }) => ({ ...full('a', body.name), version: 5 }), method: 'PUT', path: '/api/v1/workflows/a' },
      { body: (_url: string, body: { name: string }) => full('c', body.name), method: 'POST', path: '/api/v1/workflows' },
      { body: full('a', 'Orders'), path: '/api/v1/workflows/a' },
      { body: { items: [summary('a', 'Orders')] }, path: '/api/v1/workflows' },
    ]);
    const user = userEvent.setup();
    renderRoute(<WorkflowsPage />, '/workflows', '/workflows');
    await user.click(await screen.findByRole('button', { name: 'Rename Orders' }));
    const dialog = screen.getByRole('dialog', { name: 'Rename workflow' });
    const box = within(dialog).getByLabelText('Name');
    expect(box).toHaveValue('Orders');
    await user.clear(box);
    expect(within(dialog).getByRole('button', { name: 'Rename' })).toBeDisabled();
    await user.type(box, '  Big orders  {Enter}');
    expect(await screen.findByText('Renamed')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'PUT')!.body).toMatchObject({ name: 'Big orders' });
    const put = vi.mocked(fetch).mock.calls.find(([, init]) => init?.method === 'PUT')!;
    expect((put[1]!.headers as Record<string, string>)['If-Match']).toBe('"4"');
    expect(screen.queryByRole('dialog', { name: 'Rename workflow' })).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Duplicate Orders' }));
    expect(await screen.findByText('Created “Orders (copy)”')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'POST')!.body).toMatchObject({ name: 'Orders (copy)' });
  });

  it('switches a workflow on, and says when that fails', async () => {
    const calls = fakeApi([
      { body: { ...full('a', 'Orders'), active: true }, method: 'POST', path: '/api/v1/workflows/a/activate' },
      {
        body: { detail: 'the schedule is invalid', status: 422, title: 'Unprocessable', type: 'about:blank' },
        method: 'POST',
        path: '/api/v1/workflows/b/activate',
        status: 422,
      },
      { body: { items: [summary('a', 'Orders'), summary('b', 'Nightly')] }, path: '/api/v1/workflows' },
    ]);
    const user = userEvent.setup();
    renderRoute(<WorkflowsPage />, '/workflows', '/workflows');
    const orders = await screen.findByRole('switch', { name: 'Orders active' });
    expect(orders).toHaveAttribute('aria-checked', 'false');
    await user.click(orders);
    expect(await screen.findByText('“Orders” is active: its webhooks and schedules run')).toBeInTheDocument();
    await user.click(screen.getByRole('switch', { name: 'Nightly active' }));
    expect(await screen.findByText('the schedule is invalid')).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.url)).toEqual(['/api/v1/workflows/a/activate', '/api/v1/workflows/b/activate']);
  });

  it('exports the stored definition as a file named after the workflow', async () => {
    fakeApi([
      { body: { ...full('a', 'Orders: EU / 2026'), nodes: [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }] }, path: '/api/v1/workflows/a' },
      { body: { items: [summary('a', 'Orders: EU / 2026')] }, path: '/api/v1/workflows' },
    ]);
    const blobs: Blob[] = [];
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: (b: Blob) => (blobs.push(b), 'blob:x'), revokeObjectURL: () => undefined }));
    const downloads: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      downloads.push(this.download);
    });
    try {
      const user = userEvent.setup();
      renderRoute(<WorkflowsPage />, '/workflows', '/workflows');
      await user.click(await screen.findByRole('button', { name: 'Export Orders: EU / 2026' }));
      await waitFor(() => expect(downloads).toEqual(['orders-eu-2026.json']));
      expect(JSON.parse(await readFileText(blobs[0] as File))).toMatchObject({ name: 'Orders: EU / 2026', nodes: [{ id: 'start', type: 'trigger.manual' }] });
    } finally {
      click.mockRestore();
    }
  });

  it('filters by tag and by name, saying what matched nothing; shows each workflow’s last run', async () => {
    const calls = fakeApi([
      { body: { items: [] }, path: '/api/v1/workflows?limit=20&tag=billing' },
      { body: { items: [] }, path: '/api/v1/workflows?limit=20&name=zzz' },
      { body: { items: [{ count: 2, tag: 'billing' }] }, path: '/api/v1/workflow-tags' },
      {
        body: { items: [{ createdAt: '2026-01-01T00:00:00Z', id: 'e7', status: 'failed', trigger: { kind: 'manual' }, workflowId: 'a', workflowVersion: 4 }] },
        path: '/api/v1/executions',
      },
      { body: { items: [{ ...summary('a', 'Orders'), tags: ['billing'] }] }, path: '/api/v1/workflows' },
    ]);
    const user = userEvent.setup();
    const { router } = renderRoute(<WorkflowsPage />, '/workflows', '/workflows');
    const lastRun = await screen.findByTestId('last-run');
    await waitFor(() => expect(within(lastRun).getByRole('link')).toHaveAttribute('href', '/executions/e7'));
    await user.click(within(screen.getByTestId('workflow-tags')).getByRole('button', { name: 'billing' }));
    expect(await screen.findByText('No workflow has the tag “billing”')).toBeInTheDocument();
    expect(router.state.location.search).toBe('?tag=billing');
    await user.selectOptions(screen.getByTestId('tag-filter'), '');
    await user.type(await screen.findByRole('searchbox', { name: 'Search workflows by name' }), 'zzz');
    expect(await screen.findByText('No workflow matches “zzz”')).toBeInTheDocument();
    expect(router.state.location.search).toBe('?q=zzz');
    expect(calls.some((c) => c.url === '/api/v1/workflows?limit=20&name=zzz')).toBe(true);
  });

  it('opens the template gallery from the empty list', async () => {
    fakeApi([
      { body: { items: [] }, path: '/api/v1/templates' },
      { body: { items: [] }, path: '/api/v1/workflows' },
    ]);
    const user = userEvent.setup();
    renderRoute(<WorkflowsPage />, '/workflows', '/workflows');
    await user.click(await screen.findByRole('button', { name: 'Start from a template' }));
    const dialog = await screen.findByRole('dialog', { name: 'New from template' });
    expect(await within(dialog).findByText('No templates')).toBeInTheDocument();
  });
});
