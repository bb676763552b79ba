import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { ExecutionDetailFromAPI } from '@services/executions';
import type { NodeTypeFromAPI } from '@services/nodeTypes';
import { executionFactory, nodeFactory, nodeRunFactory } from '@test/factories';
import { fakeApi, fakeMe, renderRoute, type FakeRoute } from '@test/render';

import { ExecutionPage } from './ExecutionPage';

afterEach(() => {
  vi.unstubAllGlobals();
});

function apiType(type: string, category: string): NodeTypeFromAPI {
  return {
    category,
    configSchema: { properties: {}, type: 'object' },
    description: type,
    docs: '',
    dynamicPorts: false,
    inputs: category === 'Triggers' ? [] : [{ name: 'in', title: 'Input' }],
    outputs: [{ name: 'out', title: 'Output' }],
    pure: false,
    title: type,
    trigger: category === 'Triggers',
    type,
    version: 1,
  };
}

const types = { items: [apiType('trigger.manual', 'Triggers'), apiType('flow.wait', 'Flow'), apiType('data.set', 'Data')] };

function version(nodes: ReturnType<typeof nodeFactory>[]) {
  return {
    createdAt: '2026-01-01T00:00:00Z',
    definition: { edges: [], name: 'Refunds', nodes },
    version: 1,
    workflowId: 'w',
  };
}

function renderExecution(exec: ExecutionDetailFromAPI, nodes: ReturnType<typeof nodeFactory>[], role: 'editor' | 'viewer' = 'editor', extra: FakeRoute[] = []) {
  const calls = fakeApi([
    ...extra,
    { body: exec, path: `/api/v1/executions/${exec.id}` },
    { body: version(nodes), path: '/api/v1/workflows/w/versions/1' },
    { body: types, path: '/api/v1/node-types' },
  ]);
  return { calls, ...renderRoute(<ExecutionPage />, `/executions/${exec.id}`, '/executions/:id', { me: fakeMe(role) }) };
}

describe('ExecutionPage', () => {
  it('links a sub-workflow run to the execution and node that called it, with a call badge', async () => {
    const child = executionFactory({
      id: 'child-0001',
      parentExecutionId: 'parent-00000042',
      parentNodeId: 'invoice',
      trigger: { kind: 'call', node: 'start' },
    });
    renderExecution(child, [nodeFactory('start', 'trigger.manual')]);
    const link = await screen.findByTestId('parent-link');
    expect(link).toHaveTextContent('Called by execution 00000042 (node invoice)');
    expect(within(link).getByRole('link', { name: 'execution 00000042' })).toHaveAttribute('href', '/executions/parent-00000042');
    expect(screen.getByTestId('trigger-badge')).toHaveAttribute('data-trigger', 'call');
  });

  it('links an error workflow run to the execution whose failure started it', async () => {
    const run = executionFactory({
      id: 'handler-1',
      input: { execution: { id: 'failed-00000007' }, node: { id: 'boom' } },
      trigger: { kind: 'error', node: 'failed' },
    });
    renderExecution(run, [nodeFactory('failed', 'trigger.manual')]);
    const link = await screen.findByTestId('failed-link');
    expect(within(link).getByRole('link')).toHaveAttribute('href', '/executions/failed-00000007');
    expect(screen.getByTestId('trigger-badge')).toHaveAttribute('data-trigger', 'error');
    expect(screen.queryByTestId('parent-link')).toBeNull();
  });

  it('puts a waiting approval in a banner at the top, with the buttons for an editor and none for a viewer', async () => {
    const nodes = [
      nodeFactory('start', 'trigger.manual'),
      nodeFactory('ask', 'flow.wait', { config: { message: 'Ship order 7?', mode: 'approval' } }),
      nodeFactory('after', 'data.set'),
    ];
    const exec = executionFactory({
      nodeRuns: [nodeRunFactory({ nodeId: 'start' }), nodeRunFactory({ nodeId: 'ask', status: 'waiting' })],
      status: 'waiting',
    });
    const editor = renderExecution(exec, nodes);
    const banner = await screen.findByRole('region', { name: 'Approval: ask' });
    expect(banner).toHaveTextContent('Waiting for approval');
    expect(banner).toHaveTextContent('Ship order 7?');
    expect(within(banner).getByRole('button', { name: 'Approve' })).toBeInTheDocument();
    editor.unmount();

    renderExecution(exec, nodes, 'viewer');
    const seen = await screen.findByRole('region', { name: 'Approval: ask' });
    expect(within(seen).queryByRole('button', { name: 'Approve' })).toBeNull();
    expect(within(seen).queryByRole('button', { name: 'Reject' })).toBeNull();
  });

  it('Debug in editor pins the run trigger data, then opens the editor on the run; a viewer has no such button', async () => {
    const exec = executionFactory({ id: 'e7', nodeRuns: [nodeRunFactory({ nodeId: 'start' })] });
    const pinned = { bytes: 2, data: {}, nodeId: 'start', port: 'out', updatedAt: '2026-12-01T00:00:00Z' };
    const { calls, router, unmount } = renderExecution(exec, [nodeFactory('start', 'trigger.manual')], 'editor', [
      { body: { items: [pinned] }, method: 'POST', path: '/api/v1/workflows/w/pins/from-execution' },
    ]);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Debug in editor' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/workflows/w'));
    expect(router.state.location.search).toBe('?execution=e7');
    expect(calls.filter((c) => c.method === 'POST')).toEqual([{ body: { executionId: 'e7' }, method: 'POST', url: '/api/v1/workflows/w/pins/from-execution' }]);
    unmount();

    renderExecution(exec, [nodeFactory('start', 'trigger.manual')], 'viewer');
    expect(await screen.findByTestId('trigger-badge')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Debug in editor' })).toBeNull();
  });

  it('Debug in editor stays on the page and says why when the server refuses', async () => {
    const exec = executionFactory({ id: 'e8' });
    const { router } = renderExecution(exec, [nodeFactory('start', 'trigger.manual')], 'editor', [
      {
        body: { detail: 'execution e8 has no succeeded trigger output', status: 422, title: 'x', type: 'x' },
        method: 'POST',
        path: '/api/v1/workflows/w/pins/from-execution',
        status: 422,
      },
    ]);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Debug in editor' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('execution e8 has no succeeded trigger output');
    expect(router.state.location.pathname).toBe('/executions/e8');
  });
});
