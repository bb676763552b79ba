import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { executionFactory, nodeRunFactory } from '@test/factories';

import { Timeline, timelineRows } from './Timeline';

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
