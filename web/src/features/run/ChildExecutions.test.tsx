import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { ExecutionFromAPI } from '@services/executions';
import { fakeApi, renderRoute } from '@test/render';

import { ChildExecutions } from './ChildExecutions';

afterEach(() => {
  vi.unstubAllGlobals();
});

function child(id: string, status: ExecutionFromAPI['status'], parentNodeId = 'each'): ExecutionFromAPI {
  return {
    createdAt: '2026-01-01T00:00:00Z',
    id,
    parentExecutionId: 'p1',
    parentNodeId,
    status,
    trigger: { kind: 'call', node: 'start' },
    workflowId: 'child-wf',
    workflowVersion: 3,
  };
}

describe('ChildExecutions', () => {
  it("lists the node's sub-workflow runs with status and link, and pages on with More", async () => {
    const calls = fakeApi([
      { body: { items: [child('c-00000001', 'succeeded')] }, path: '/api/v1/executions?cursor=next' },
      {
        body: { items: [child('c-00000003', 'failed'), child('c-00000002', 'running')], nextCursor: 'next' },
        path: '/api/v1/executions?',
      },
    ]);
    const user = userEvent.setup();
    renderRoute(<ChildExecutions config={{ workflowId: 'child-wf' }} executionId="p1" nodeId="each" runStatus="succeeded" />);
    const list = await screen.findByRole('region', { name: 'Sub-workflow runs' });
    await within(list).findByRole('link', { name: '00000003' });
    let rows = within(list).getAllByTestId('child-execution');
    // The server filters by node: another flow.call node's children are not asked for.
    expect(rows.map((r) => r.textContent)).toEqual([expect.stringContaining('failed'), expect.stringContaining('running')]);
    expect(within(rows[0]!).getByRole('link', { name: '00000003' })).toHaveAttribute('href', '/executions/c-00000003');
    expect(calls[0]!.url).toBe('/api/v1/executions?limit=20&parentExecutionId=p1&parentNodeId=each');

    await user.click(within(list).getByRole('button', { name: 'More' }));
    await within(list).findByRole('link', { name: '00000001' });
    rows = within(list).getAllByTestId('child-execution');
    expect(rows).toHaveLength(3);
    expect(calls.map((c) => c.url)).toContain('/api/v1/executions?cursor=next&limit=20&parentExecutionId=p1&parentNodeId=each');
    expect(within(list).queryByRole('button', { name: 'More' })).toBeNull();
    expect(within(list).getByRole('link', { name: 'All in the list' })).toHaveAttribute('href', '/executions?parentExecutionId=p1');
  });

  it('says when the node has started none yet', async () => {
    fakeApi([{ body: { items: [] }, path: '/api/v1/executions?' }]);
    renderRoute(<ChildExecutions config={{ workflowId: 'child-wf' }} executionId="p1" nodeId="each" runStatus="failed" />);
    expect(await screen.findByText('No sub-workflow run yet.')).toBeInTheDocument();
  });
});
