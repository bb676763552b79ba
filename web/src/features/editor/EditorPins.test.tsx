import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { PinFromAPI } from '@services/pins';
import type { WorkflowFromAPI } from '@services/workflows';
import { catalogFactory, definitionFactory, executionFactory, nodeRunFactory } from '@test/factories';
import { fakeApi, fakeMe, renderRoute, type FakeRoute } from '@test/render';

import { Editor } from './Editor';

afterEach(() => {
  vi.unstubAllGlobals();
});

const workflow: WorkflowFromAPI = {
  ...definitionFactory(),
  active: false,
  createdAt: '2026-01-01T00:00:00Z',
  edges: definitionFactory().edges ?? [],
  id: 'w1',
  settings: {},
  tags: [],
  updatedAt: '2026-01-01T00:00:00Z',
  version: 3,
};

const checkPin: PinFromAPI = { bytes: 13, data: { total: 500 }, nodeId: 'check', port: 'true', updatedAt: '2026-12-01T00:00:00Z' };

function renderEditor(routes: FakeRoute[], opts: { executionId?: string; pins?: PinFromAPI[]; role?: 'editor' | 'viewer' } = {}) {
  const calls = fakeApi([
    ...routes,
    { body: { items: opts.pins ?? [] }, path: '/api/v1/workflows/w1/pins' },
    { body: workflow, path: '/api/v1/workflows/w1' },
    { body: { items: [] }, path: '/api/v1/executions?' },
    { body: { valid: true }, method: 'POST', path: '/api/v1/workflows/validate' },
  ]);
  const types = [...catalogFactory().values()];
  const view = renderRoute(
    <Editor executionId={opts.executionId} readOnly={opts.role === 'viewer'} types={types} workflow={workflow} />,
    '/workflows/w1',
    '/workflows/:id',
    {
      me: fakeMe(opts.role ?? 'editor'),
    },
  );
  return { calls, ...view };
}

function nodeCard(id: string): HTMLElement {
  return document.querySelector<HTMLElement>(`[data-testid=workflow-node][data-node-id="${id}"]`)!;
}

/** openNodeMenu right-clicks a node on the canvas and returns its menu. */
async function openNodeMenu(id: string) {
  await waitFor(() => expect(nodeCard(id)).toBeTruthy());
  fireEvent.contextMenu(nodeCard(id));
  return screen.findByRole('menu', { name: 'Node menu' });
}

const testRun = executionFactory({ id: 'test-0001', status: 'running', trigger: { kind: 'test' as 'manual' }, workflowId: 'w1', workflowVersion: 3 });

describe('Editor: pinned data and test runs', () => {
  it('marks pinned nodes on the canvas, for a viewer too', async () => {
    renderEditor([], { pins: [checkPin], role: 'viewer' });
    // jsdom measures nothing, so React Flow keeps the nodes hidden (and nameless to role queries): the
    // badge is found by its test id, its name read from its label (WorkflowNodeCard.test checks the role).
    await waitFor(() => expect(within(nodeCard('check')).getByTestId('pin-badge')).toHaveAttribute('aria-label', 'Pinned output'));
    expect(within(nodeCard('start')).queryByTestId('pin-badge')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Test workflow' })).toBeNull();
  });

  it('Test workflow starts a test run of the whole workflow and shows it live as a test run', async () => {
    const { calls } = renderEditor([
      { body: testRun, method: 'POST', path: '/api/v1/workflows/w1/test-runs', status: 202 },
      { body: testRun, path: '/api/v1/executions/test-0001' },
    ]);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Test workflow' }));
    expect(await screen.findByTestId('run-bar')).toHaveTextContent(/Test run\s+\S+/);
    expect(calls.filter((c) => c.url.endsWith('/test-runs'))).toEqual([{ body: {}, method: 'POST', url: '/api/v1/workflows/w1/test-runs' }]);
  });

  it('saves unsaved changes first, and starts with Ctrl+Shift+Enter from the keyboard', async () => {
    const saved = { ...workflow, name: 'Renamed', version: 4 };
    const { calls } = renderEditor([
      { body: saved, method: 'PUT', path: '/api/v1/workflows/w1' },
      { body: testRun, method: 'POST', path: '/api/v1/workflows/w1/test-runs', status: 202 },
      { body: testRun, path: '/api/v1/executions/test-0001' },
    ]);
    const user = userEvent.setup();
    const name = await screen.findByRole('textbox', { name: 'Workflow name' });
    await user.clear(name);
    await user.type(name, 'Renamed');
    expect(screen.getByRole('button', { name: 'Test workflow' })).toHaveAttribute('title', expect.stringContaining('unsaved changes are saved first'));
    (document.activeElement as HTMLElement).blur();
    await user.keyboard('{Control>}{Shift>}{Enter}{/Shift}{/Control}');
    expect(await screen.findByTestId('run-bar')).toHaveTextContent('Test run');
    const order = calls.filter((c) => c.method !== 'GET' && !c.url.endsWith('/validate')).map((c) => `${c.method} ${c.url}`);
    expect(order).toEqual(['PUT /api/v1/workflows/w1', 'POST /api/v1/workflows/w1/test-runs']);
  });

  it('the node menu tests the node alone or up to it, from the run on the canvas', async () => {
    const shown = executionFactory({ id: 'run-1', nodeRuns: [nodeRunFactory({ nodeId: 'start' })], workflowId: 'w1', workflowVersion: 3 });
    const { calls } = renderEditor(
      [
        { body: testRun, method: 'POST', path: '/api/v1/workflows/w1/test-runs', status: 202 },
        { body: testRun, path: '/api/v1/executions/test-0001' },
        { body: shown, path: '/api/v1/executions/run-1' },
      ],
      { executionId: 'run-1' },
    );
    const user = userEvent.setup();
    // ?execution= shows that run on the canvas from the start.
    const bar = await screen.findByTestId('run-bar');
    await waitFor(() => expect(bar).toHaveTextContent(/Run\s+\S+/));
    expect(bar).not.toHaveTextContent('Test run');
    await user.click(within(await openNodeMenu('b')).getByRole('menuitem', { name: 'Test node' }));
    await screen.findByText(/Test run/);
    // The canvas now shows the test run: the next test leaves the source to the server.
    await user.click(within(await openNodeMenu('check')).getByRole('menuitem', { name: 'Execute up to here' }));
    await waitFor(() => expect(calls.filter((c) => c.url.endsWith('/test-runs'))).toHaveLength(2));
    expect(calls.filter((c) => c.url.endsWith('/test-runs')).map((c) => c.body)).toEqual([
      { executionId: 'run-1', mode: 'node', node: 'b' },
      { mode: 'upTo', node: 'check' },
    ]);
  });

  it('a 422 from test-runs is one toast in the server words', async () => {
    renderEditor([
      {
        body: {
          detail: 'none of the inputs of b has data: run the workflow once or pin the output of check',
          errors: [{ location: '/body/node', message: 'no input data' }],
          status: 422,
          title: 'Unprocessable Entity',
          type: 'about:blank',
        },
        method: 'POST',
        path: '/api/v1/workflows/w1/test-runs',
        status: 422,
      },
    ]);
    const user = userEvent.setup();
    await user.click(within(await openNodeMenu('b')).getByRole('menuitem', { name: 'Test node' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Test run not started');
    expect(alert).toHaveTextContent('none of the inputs of b has data: run the workflow once or pin the output of check');
    expect(screen.getAllByRole('alert')).toHaveLength(1);
    expect(screen.queryByTestId('run-bar')).toBeNull();
  });

  it('pins, edits and unpins from the node menu', async () => {
    const { calls } = renderEditor(
      [
        { body: { ...checkPin, data: { total: 7 } }, method: 'PUT', path: '/api/v1/workflows/w1/pins/check' },
        { body: null, method: 'DELETE', path: '/api/v1/workflows/w1/pins/check', status: 204 },
      ],
      { pins: [checkPin] },
    );
    const user = userEvent.setup();
    const menu = await openNodeMenu('check');
    expect(within(menu).queryByRole('menuitem', { name: 'Pin output…' })).toBeNull();
    await user.click(within(menu).getByRole('menuitem', { name: 'Edit pinned output…' }));
    const dialog = await screen.findByRole('dialog', { name: 'Edit pinned output of If' });
    // An If node has two output ports: the pin's is chosen.
    expect(within(dialog).getByRole('combobox', { name: 'Output port' })).toHaveValue('true');
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Pinned output (JSON)' }), { target: { value: '{"total": 7}' } });
    await user.click(within(dialog).getByRole('button', { name: 'Save pin' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual({ data: { total: 7 }, port: 'true' });
    // Saving refetches the pins.
    await waitFor(() => expect(calls.filter((c) => c.method === 'GET' && c.url === '/api/v1/workflows/w1/pins')).toHaveLength(2));

    await user.click(within(await openNodeMenu('check')).getByRole('menuitem', { name: 'Unpin' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/v1/workflows/w1/pins/check')).toBe(true));
    expect(await screen.findByText(/Output of check unpinned/)).toBeInTheDocument();
  });

  it('a node without a pin offers Pin output…, and no Unpin', async () => {
    renderEditor([]);
    const menu = await openNodeMenu('a');
    expect(within(menu).getByRole('menuitem', { name: 'Pin output…' })).toBeEnabled();
    expect(within(menu).queryByRole('menuitem', { name: 'Unpin' })).toBeNull();
    expect(within(menu).queryByRole('menuitem', { name: 'Edit pinned output…' })).toBeNull();
  });
});
