import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { summarizeRuns } from '@services/executions';
import { nodeRunFactory } from '@test/factories';
import { fakeApi, fakeMe, renderRoute } from '@test/render';

import { NodeRunInspector } from './NodeRunInspector';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('NodeRunInspector', () => {
  it('loads logs and an error that were too large for the execution read', async () => {
    const calls = fakeApi([
      { body: [{ level: 'INFO', message: 'work done', time: '2026-01-01T00:00:00Z' }], path: '/api/v1/executions/e1/node-runs/fetch/attempts/1/logs' },
      { body: { code: 'http_status', details: { status: 500 }, message: 'upstream failed' }, path: '/api/v1/executions/e1/node-runs/fetch/attempts/1/error' },
    ]);
    const run = nodeRunFactory({
      error: { code: 'http_status', message: 'upstream failed' },
      errorBytes: 30_000,
      errorTruncated: true,
      logsBytes: 20_000,
      logsTruncated: true,
      nodeId: 'fetch',
      status: 'failed',
    });
    const user = userEvent.setup();
    renderRoute(<NodeRunInspector summary={summarizeRuns('e1', [run]).get('fetch')!} />);
    expect(screen.getByText('The error is 29.3 KiB: its details were left out.')).toBeInTheDocument();
    expect(screen.getByText('The logs are 19.5 KiB.')).toBeInTheDocument();
    expect(screen.queryByRole('tree', { name: 'Error details' })).not.toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Load the logs' }));
    expect(await screen.findByText('work done')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Load the whole error' }));
    expect(await screen.findByRole('tree', { name: 'Error details' })).toHaveTextContent('"status": 500');
    expect(calls.map((c) => c.url.split('/').pop())).toEqual(['logs', 'error']);
  });

  it('shows each attempt with its own values', async () => {
    fakeApi([]);
    const user = userEvent.setup();
    const runs = [
      nodeRunFactory({ attempt: 1, inputBytes: 9000, inputPreview: '{"first":', inputTruncated: true, nodeId: 'fetch', status: 'failed' }),
      nodeRunFactory({ attempt: 2, input: { second: true }, inputBytes: 15, nodeId: 'fetch', output: { ok: 1 }, outputBytes: 8 }),
    ];
    renderRoute(<NodeRunInspector summary={summarizeRuns('e1', runs).get('fetch')!} />);
    expect(screen.getByRole('tree', { name: 'Input' })).toHaveTextContent('"second": true');
    await user.click(screen.getByRole('tab', { name: /Attempt 1/ }));
    expect(screen.getByTestId('value-preview')).toHaveTextContent('{"first":');
    expect(screen.getByText('No output.')).toBeInTheDocument();
  });

  it('pins a succeeded output through the server, for an editor given the workflow', async () => {
    const pinned = { bytes: 8, data: { ok: 1 }, nodeId: 'fetch', port: 'out', updatedAt: '2026-12-01T00:00:00Z' };
    const calls = fakeApi([
      { body: { items: [pinned] }, method: 'POST', path: '/api/v1/workflows/w1/pins/from-execution' },
      { body: { items: [] }, path: '/api/v1/workflows/w1/pins' },
    ]);
    const user = userEvent.setup();
    const run = nodeRunFactory({ nodeId: 'fetch', output: { ok: 1 }, outputBytes: 8 });
    renderRoute(<NodeRunInspector summary={summarizeRuns('e1', [run]).get('fetch')!} workflowId="w1" />, '/', '/', { me: fakeMe('editor') });
    await user.click(await screen.findByRole('button', { name: 'Pin this output' }));
    expect(await screen.findByText(/Output of fetch pinned/)).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'POST')).toEqual([
      { body: { executionId: 'e1', nodes: ['fetch'] }, method: 'POST', url: '/api/v1/workflows/w1/pins/from-execution' },
    ]);
    // The answer (every pin) is the cached list now: the node has a pin.
    expect(await screen.findByRole('button', { name: 'Pin this output instead' })).toBeInTheDocument();
  });

  it('says why a pin from the execution was refused', async () => {
    fakeApi([
      {
        body: {
          detail: 'fetch has no succeeded output in execution e1',
          errors: [{ location: '/body/nodes/0', message: 'no output' }],
          status: 422,
          title: 'x',
          type: 'x',
        },
        method: 'POST',
        path: '/api/v1/workflows/w1/pins/from-execution',
        status: 422,
      },
      { body: { items: [] }, path: '/api/v1/workflows/w1/pins' },
    ]);
    const user = userEvent.setup();
    renderRoute(<NodeRunInspector summary={summarizeRuns('e1', [nodeRunFactory({ nodeId: 'fetch' })]).get('fetch')!} workflowId="w1" />, '/', '/', {
      me: fakeMe('editor'),
    });
    await user.click(await screen.findByRole('button', { name: 'Pin this output' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Output not pinned');
    expect(alert).toHaveTextContent('fetch has no succeeded output in execution e1');
  });

  it('offers no pin for a failed run, a viewer, or without the workflow', () => {
    fakeApi([{ body: { items: [] }, path: '/api/v1/workflows/w1/pins' }]);
    const failed = summarizeRuns('e1', [nodeRunFactory({ nodeId: 'fetch', status: 'failed' })]).get('fetch')!;
    const ok = summarizeRuns('e1', [nodeRunFactory({ nodeId: 'fetch' })]).get('fetch')!;
    const a = renderRoute(<NodeRunInspector summary={failed} workflowId="w1" />, '/', '/', { me: fakeMe('editor') });
    expect(screen.queryByRole('button', { name: /Pin this output/ })).toBeNull();
    a.unmount();
    const b = renderRoute(<NodeRunInspector summary={ok} workflowId="w1" />, '/', '/', { me: fakeMe('viewer') });
    expect(screen.queryByRole('button', { name: /Pin this output/ })).toBeNull();
    b.unmount();
    renderRoute(<NodeRunInspector summary={ok} />, '/', '/', { me: fakeMe('editor') });
    expect(screen.queryByRole('button', { name: /Pin this output/ })).toBeNull();
  });
});
