import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { fakeApi, renderRoute } from '@test/render';

import { StoredValue } from './StoredValue';

afterEach(() => {
  vi.unstubAllGlobals();
});

const head = '{"blob":"' + 'a'.repeat(4087);
const ref = { attempt: 2, executionId: 'e1', field: 'output' as const, nodeId: 'fetch' };

describe('StoredValue', () => {
  it('shows a small value whole', () => {
    renderRoute(<StoredValue empty="No output." label="Output" stored={{ bytes: 9, truncated: false, value: { n: 1 } }} valueRef={ref} />);
    expect(screen.getByRole('tree', { name: 'Output' })).toHaveTextContent('"n": 1');
    expect(screen.queryByTestId('value-preview')).not.toBeInTheDocument();
  });

  it('says there is no value', () => {
    renderRoute(<StoredValue empty="No output." label="Output" stored={{ bytes: 0, truncated: false }} valueRef={ref} />);
    expect(screen.getByText('No output.')).toBeInTheDocument();
  });

  it('shows the head of a cut value with its size and loads the whole value on demand', async () => {
    const calls = fakeApi([{ body: { blob: 'a'.repeat(10), n: 7 }, path: '/api/v1/executions/e1/node-runs/fetch/attempts/2/output' }]);
    const user = userEvent.setup();
    renderRoute(<StoredValue empty="No output." label="Output" stored={{ bytes: 7_000_000, preview: head, truncated: true }} valueRef={ref} />);
    const preview = screen.getByTestId('value-preview');
    expect(within(preview).getByRole('note')).toHaveTextContent('Cut: 6.7 MiB in all; showing the first 4.0 KiB.');
    expect(preview).toHaveTextContent('{"blob":"aaaa');
    expect(screen.queryByRole('tree')).not.toBeInTheDocument();
    expect(within(preview).getByRole('link', { name: /Download/ })).toHaveAttribute('href', '/api/v1/executions/e1/node-runs/fetch/attempts/2/output');
    expect(calls).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: 'Load the whole output (6.7 MiB)' }));
    expect(await screen.findByRole('tree', { name: 'Output' })).toHaveTextContent('"n": 7');
    expect(screen.getByText('The whole output, 6.7 MiB.')).toBeInTheDocument();
    expect(screen.queryByTestId('value-preview')).not.toBeInTheDocument();
    expect(calls.map((c) => c.url)).toEqual(['/api/v1/executions/e1/node-runs/fetch/attempts/2/output']);
  });

  it('says why the whole value could not be loaded', async () => {
    fakeApi([
      {
        body: { detail: 'execution e1: not found', status: 404, title: 'Not Found', type: 'urn:concertmaster:problem:not-found' },
        path: '/api/v1/executions/e1/input',
        status: 404,
      },
    ]);
    const user = userEvent.setup();
    renderRoute(
      <StoredValue
        empty="No input."
        label="Trigger input"
        stored={{ bytes: 5000, preview: '{"a":', truncated: true }}
        valueRef={{ executionId: 'e1', field: 'input' }}
      />,
    );
    await user.click(screen.getByRole('button', { name: /Load the whole trigger input/ }));
    expect(await screen.findByRole('alert')).toHaveTextContent('execution e1: not found');
    expect(screen.getByTestId('value-preview')).toBeInTheDocument();
  });
});
