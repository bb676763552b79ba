import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { Button } from '@components/Button';
import { fakeApi, renderRoute } from '@test/render';

import { usePinFromExecution, usePins, useUnpin } from './use-pins';

afterEach(() => {
  vi.unstubAllGlobals();
});

const pin = (nodeId: string) => ({ bytes: 2, data: {}, nodeId, port: 'out', updatedAt: '2026-12-01T00:00:00Z' });

/** Pins lists the workflow's pinned nodes and offers the hooks' changes. */
function Pins({ workflowId }: { workflowId: string }) {
  const pins = usePins(workflowId);
  const unpin = useUnpin(workflowId);
  const fromRun = usePinFromExecution(workflowId);
  return (
    <div>
      <p data-testid="pinned">{[...pins.keys()].join(',') || 'none'}</p>
      <Button onClick={() => unpin.mutate('a')}>Unpin a</Button>
      <Button onClick={() => fromRun.mutate({ executionId: 'e1' })}>Debug e1</Button>
    </div>
  );
}

describe('use-pins', () => {
  it('reads nothing for a workflow that is not saved yet', async () => {
    const calls = fakeApi([]);
    const { client } = renderRoute(<Pins workflowId="" />);
    expect(screen.getByTestId('pinned')).toHaveTextContent('none');
    // The query is there, disabled: it is not fetching and never fetched.
    await waitFor(() => expect(client.getQueryCache().find({ queryKey: ['pins', '', 'list'] })?.state.fetchStatus).toBe('idle'));
    expect(client.getQueryCache().find({ queryKey: ['pins', '', 'list'] })?.state.dataUpdateCount).toBe(0);
    expect(calls).toHaveLength(0);
  });

  it('indexes pins by node, refetches after an unpin (even a 404) and takes the from-execution answer as the list', async () => {
    let items = [pin('a'), pin('b')];
    const calls = fakeApi([
      { body: () => ({ items: [pin('a'), pin('b'), pin('start')] }), method: 'POST', path: '/api/v1/workflows/w1/pins/from-execution' },
      { body: { detail: 'no pin', status: 404, title: 'Not Found', type: 'x' }, method: 'DELETE', path: '/api/v1/workflows/w1/pins/a', status: 404 },
      { body: () => ({ items }), path: '/api/v1/workflows/w1/pins' },
    ]);
    const user = userEvent.setup();
    renderRoute(<Pins workflowId="w1" />);
    await waitFor(() => expect(screen.getByTestId('pinned')).toHaveTextContent('a,b'));
    items = [pin('b')];
    await user.click(screen.getByRole('button', { name: 'Unpin a' }));
    await waitFor(() => expect(screen.getByTestId('pinned')).toHaveTextContent(/^b$/));
    const gets = calls.filter((c) => c.method === 'GET').length;
    await user.click(screen.getByRole('button', { name: 'Debug e1' }));
    await waitFor(() => expect(screen.getByTestId('pinned')).toHaveTextContent('a,b,start'));
    expect(calls.filter((c) => c.method === 'GET')).toHaveLength(gets);
  });
});
