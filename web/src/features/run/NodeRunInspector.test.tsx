import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { summarizeRuns } from '@services/executions';
import { nodeRunFactory } from '@test/factories';
import { fakeApi, renderRoute } from '@test/render';

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
});
