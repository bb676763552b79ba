import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { MoreNodeRuns } from '@features/run/MoreNodeRuns';
import type { ExecutionDetailFromAPI } from '@services/executions';
import { executionFactory, nodeRunFactory } from '@test/factories';
import { fakeApi, renderRoute } from '@test/render';

import { useNodeRuns } from './use-node-runs';

afterEach(() => {
  vi.unstubAllGlobals();
});

function Runs({ execution }: { execution: ExecutionDetailFromAPI }) {
  const nodeRuns = useNodeRuns(execution);
  return (
    <div>
      <ol aria-label="Runs">
        {nodeRuns.runs.map((r) => (
          <li key={`${r.nodeId}#${r.attempt}`}>{r.nodeId}</li>
        ))}
      </ol>
      {nodeRuns.hasMore ? <MoreNodeRuns nodeRuns={nodeRuns} /> : <p>All node runs loaded.</p>}
    </div>
  );
}

describe('useNodeRuns', () => {
  it('starts from the execution read and pages on from its cursor when asked', async () => {
    const calls = fakeApi([
      { body: { items: [nodeRunFactory({ nodeId: 'd' })] }, path: '/api/v1/executions/e1/node-runs?cursor=c2' },
      {
        body: { items: [nodeRunFactory({ nodeId: 'b' }), nodeRunFactory({ nodeId: 'c' })], nextCursor: 'c2' },
        path: '/api/v1/executions/e1/node-runs?cursor=c1',
      },
    ]);
    const user = userEvent.setup();
    renderRoute(<Runs execution={executionFactory({ nodeRuns: [nodeRunFactory({ nodeId: 'a' })], nodeRunsNextCursor: 'c1' })} />);
    expect(screen.getByRole('list', { name: 'Runs' })).toHaveTextContent('a');
    expect(screen.getByRole('note')).toHaveTextContent('1 node runs loaded; there are more.');
    expect(calls).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: 'Load more node runs' }));
    expect(await screen.findByText('c')).toBeInTheDocument();
    expect(calls[0]!.url).toBe('/api/v1/executions/e1/node-runs?cursor=c1&limit=200');
    await user.click(screen.getByRole('button', { name: 'Load more node runs' }));
    expect(await screen.findByText('All node runs loaded.')).toBeInTheDocument();
    expect(screen.getByRole('list', { name: 'Runs' })).toHaveTextContent('abcd');
  });

  it('loads nothing more when the read carried every node run', () => {
    const calls = fakeApi([]);
    renderRoute(<Runs execution={executionFactory({ nodeRuns: [nodeRunFactory({ nodeId: 'a' })] })} />);
    expect(screen.getByText('All node runs loaded.')).toBeInTheDocument();
    expect(calls).toHaveLength(0);
  });
});
