import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { ExecutionFromAPI } from '@services/executions';
import { fakeApi, renderRoute } from '@test/render';

import { ExecutionsPage } from './ExecutionsPage';

afterEach(() => {
  vi.unstubAllGlobals();
});

const execution = (id: string, extra: Partial<ExecutionFromAPI> = {}): ExecutionFromAPI => ({
  createdAt: '2026-01-01T00:00:00Z',
  durationMs: 1500,
  id,
  startedAt: '2026-01-01T00:00:00Z',
  status: 'succeeded',
  trigger: { kind: 'manual' },
  workflowId: 'wf1',
  workflowVersion: 3,
  ...extra,
});

const workflows = {
  body: {
    items: [{ active: false, createdAt: '2026-01-01T00:00:00Z', id: 'wf1', name: 'Orders', nodeCount: 2, updatedAt: '2026-01-01T00:00:00Z', version: 3 }],
  },
  path: '/api/v1/workflows',
};

describe('ExecutionsPage', () => {
  it('lists executions with their workflow names, retries and parents', async () => {
    fakeApi([
      workflows,
      {
        body: {
          items: [
            execution('0190aaaa-0000-7000-8000-000000000001', { retryOf: '0190bbbb-0000-7000-8000-000000000002' }),
            execution('e2', { parentExecutionId: 'p1', parentNodeId: 'call', status: 'failed', workflowId: 'gone' }),
          ],
        },
        path: '/api/v1/executions',
      },
    ]);
    renderRoute(<ExecutionsPage />, '/executions', '/executions');
    const rows = await screen.findAllByTestId('execution-row');
    expect(rows).toHaveLength(2);
    expect(await screen.findByRole('link', { name: 'Orders' })).toHaveAttribute('href', '/workflows/wf1');
    expect(rows[0]).toHaveTextContent(/retry of/);
    expect(rows[0]).toHaveTextContent('v3');
    expect(rows[1]).toHaveTextContent('failed');
    expect(rows[1]).toHaveTextContent(/from/);
    expect(screen.getByTitle('Started by node call')).toHaveAttribute('href', '/executions/p1');
  });

  it('filters by status and workflow through the address, and says when nothing matches', async () => {
    const calls = fakeApi([workflows, { body: { items: [] }, path: '/api/v1/executions' }]);
    const user = userEvent.setup();
    const { router } = renderRoute(<ExecutionsPage />, '/executions', '/executions');
    expect(await screen.findByText('No executions yet')).toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText('Status'), 'failed');
    await waitFor(() => expect(router.state.location.search).toBe('?status=failed'));
    expect(await screen.findByText('No execution matches these filters')).toBeInTheDocument();
    await screen.findByRole('option', { name: 'Orders' });
    await user.selectOptions(screen.getByLabelText('Workflow'), 'wf1');
    await waitFor(() => expect(router.state.location.search).toBe('?status=failed&workflowId=wf1'));
    await waitFor(() => expect(calls.some((c) => c.url.includes('status=failed') && c.url.includes('workflowId=wf1'))).toBe(true));
    await user.selectOptions(screen.getByLabelText('Status'), '');
    await waitFor(() => expect(router.state.location.search).toBe('?workflowId=wf1'));
  });

  it('shows the sub-workflow filter and clears it', async () => {
    fakeApi([workflows, { body: { items: [execution('e1')] }, path: '/api/v1/executions' }]);
    const user = userEvent.setup();
    const { router } = renderRoute(<ExecutionsPage />, '/executions?parentExecutionId=p1', '/executions');
    expect(await screen.findByTestId('parent-filter')).toHaveTextContent('Sub-workflow runs of');
    await user.click(screen.getByRole('button', { name: 'Show every execution' }));
    await waitFor(() => expect(router.state.location.search).toBe(''));
    expect(screen.queryByTestId('parent-filter')).toBeNull();
  });

  it('shows the problem when the list fails', async () => {
    fakeApi([workflows, { body: { detail: 'store unavailable', status: 503, title: 'Unavailable' }, path: '/api/v1/executions', status: 503 }]);
    renderRoute(<ExecutionsPage />, '/executions', '/executions');
    expect(await screen.findByText('Executions could not be loaded')).toBeInTheDocument();
    expect(screen.getByText('store unavailable')).toBeInTheDocument();
  });
});
