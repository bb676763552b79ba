import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { executionFactory, nodeRunFactory } from '@test/factories';

import { graphOrder, Timeline, timeKey, timelineRows } from './Timeline';

const t0 = Date.parse('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0 + ms).toISOString();

const execution = executionFactory({
  createdAt: at(0),
  finishedAt: at(1000),
  nodeRuns: [
    nodeRunFactory({ attempt: 1, finishedAt: at(400), nodeId: 'fetch', startedAt: at(100), status: 'failed' }),
    nodeRunFactory({ attempt: 2, durationMs: 300, finishedAt: at(900), nodeId: 'fetch', startedAt: at(600), status: 'succeeded' }),
    nodeRunFactory({ attempt: 1, durationMs: 10, finishedAt: at(10), nodeId: 'start', startedAt: at(0), status: 'succeeded' }),
    nodeRunFactory({ attempt: 1, finishedAt: at(950), nodeId: 'other', status: 'skipped' }),
  ],
  startedAt: at(0),
});

describe('Timeline', () => {
  it('orders rows by first start and shows each retry as its own bar', async () => {
    expect(timelineRows(execution.nodeRuns!).map((r) => r.nodeId)).toEqual(['start', 'fetch', 'other']);
    const onSelect = vi.fn();
    render(<Timeline execution={execution} onSelect={onSelect} runs={execution.nodeRuns!} selected={null} />);
    const bars = screen.getAllByTestId('timeline-bar');
    expect(bars).toHaveLength(4);
    const fetchBars = bars.filter((b) => b.getAttribute('aria-label')?.startsWith('fetch'));
    expect(fetchBars.map((b) => b.dataset.status)).toEqual(['failed', 'succeeded']);
    expect(fetchBars[0]).toHaveStyle({ left: '10%' });
    expect(screen.getByText('×2')).toBeInTheDocument();
    await userEvent.setup().click(fetchBars[1]!);
    expect(onSelect).toHaveBeenCalledWith('fetch');
  });
});

describe('timelineRows', () => {
  const run = (nodeId: string, startedAt: string | undefined, finishedAt?: string) =>
    nodeRunFactory({ attempt: 1, finishedAt, nodeId, startedAt, status: startedAt ? 'succeeded' : 'skipped' });

  it.each([
    {
      name: 'by start time to the nanosecond, not by id (the API lists runs by id)',
      order: undefined,
      runs: [run('a_last', '2026-01-01T00:00:00.000300Z'), run('b_first', '2026-01-01T00:00:00.0001Z'), run('c_middle', '2026-01-01T00:00:00.0002Z')],
      want: ['b_first', 'c_middle', 'a_last'],
    },
    {
      name: 'runs that started in the same instant follow the workflow order',
      order: new Map([
        ['trigger', 0],
        ['zeta', 1],
        ['alpha', 2],
      ]),
      runs: [run('alpha', at(5)), run('trigger', at(5)), run('zeta', at(5))],
      want: ['trigger', 'zeta', 'alpha'],
    },
    {
      name: 'nodes that never started come after those that did, by when they finished',
      order: undefined,
      runs: [run('skip_b', undefined, at(900)), run('skip_a', undefined, at(950)), run('ran', at(10), at(20))],
      want: ['ran', 'skip_b', 'skip_a'],
    },
  ])('orders $name', ({ order, runs, want }) => {
    expect(timelineRows(runs, order).map((r) => r.nodeId)).toEqual(want);
  });

  it('numbers nodes after every node that feeds them (graphOrder)', () => {
    const order = graphOrder(
      [{ id: 'z_end' }, { id: 'b' }, { id: 'a' }, { id: 'start' }],
      [
        { source: 'start', target: 'b' },
        { source: 'start', target: 'a' },
        { source: 'a', target: 'z_end' },
        { source: 'b', target: 'z_end' },
      ],
    );
    expect([...order].sort((x, y) => x[1] - y[1]).map(([id]) => id)).toEqual(['start', 'b', 'a', 'z_end']);
  });

  it('reads times below the millisecond (timeKey)', () => {
    expect(timeKey('2026-01-01T00:00:00.000001Z')).toBeLessThan(timeKey('2026-01-01T00:00:00.00001Z'));
    expect(timeKey(undefined)).toBe(Infinity);
    expect(timeKey('not a time')).toBe(Infinity);
  });
});

describe('Timeline titles', () => {
  it('names nodes by their title and falls back to the id', () => {
    const titles: Record<string, string> = { fetch: 'Fetch orders' };
    render(<Timeline execution={execution} onSelect={vi.fn()} runs={execution.nodeRuns!} selected={null} titleOf={(id) => titles[id]} />);
    expect(screen.getAllByTestId('timeline-node').map((b) => b.textContent)).toEqual(['start', 'Fetch orders', 'other']);
    expect(screen.getByTitle('Fetch orders (fetch)')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /^Fetch orders attempt 2: succeeded/ })).toBeInTheDocument();
  });
});
