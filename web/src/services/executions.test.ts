import { afterEach, describe, expect, it, vi } from 'vitest';

import { executionFactory, nodeRunFactory } from '@test/factories';
import { fakeApi } from '@test/render';

import { fetchValue, inputOf, isTerminal, mergeNodeRuns, outputOf, summarizeRuns, valuePath, type NodeRunFromAPI } from './executions';

const run = (nodeId: string, attempt: number, status: NodeRunFromAPI['status'], extra: Partial<NodeRunFromAPI> = {}): NodeRunFromAPI =>
  nodeRunFactory({ attempt, nodeId, status, ...extra });

describe('summarizeRuns', () => {
  it('keeps every attempt of a node and paints the latest', () => {
    const s = summarizeRuns('e1', [run('fetch', 2, 'succeeded', { durationMs: 12 }), run('fetch', 1, 'failed'), run('start', 1, 'succeeded')]);
    expect(s.get('fetch')).toMatchObject({ attempts: 2, durationMs: 12, status: 'succeeded' });
    expect(s.get('fetch')!.runs.map((r) => r.attempt)).toEqual([1, 2]);
    expect(s.get('start')!.attempts).toBe(1);
  });

  it('knows which statuses are final', () => {
    expect(isTerminal('running')).toBe(false);
    expect(isTerminal('waiting')).toBe(false);
    expect(isTerminal('failed')).toBe(true);
  });
});

describe('stored values', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('names the endpoint of every whole value', () => {
    expect(valuePath({ executionId: 'e1', field: 'input' })).toBe('/api/v1/executions/e1/input');
    expect(valuePath({ attempt: 3, executionId: 'e 1', field: 'logs', nodeId: 'fetch' })).toBe('/api/v1/executions/e%201/node-runs/fetch/attempts/3/logs');
  });

  it('reads whole values and previews from an execution or a node run', () => {
    expect(inputOf(executionFactory({ input: { a: 1 }, inputBytes: 7 }))).toEqual({ bytes: 7, preview: undefined, truncated: false, value: { a: 1 } });
    const big = nodeRunFactory({ nodeId: 'n', outputBytes: 9000, outputPreview: '{"x":', outputTruncated: true });
    expect(outputOf(big)).toEqual({ bytes: 9000, preview: '{"x":', truncated: true, value: undefined });
  });

  it('loads a whole value', async () => {
    const calls = fakeApi([{ body: [1, 2, 3], path: '/api/v1/executions/e1/output' }]);
    await expect(fetchValue({ executionId: 'e1', field: 'output' })).resolves.toEqual([1, 2, 3]);
    expect(calls).toHaveLength(1);
  });

  it('merges pages of node runs, each attempt once', () => {
    const merged = mergeNodeRuns(
      [run('a', 1, 'succeeded'), run('b', 1, 'failed')],
      [{ items: [run('b', 1, 'failed'), run('b', 2, 'succeeded')], nextCursor: 'x' }, { items: null }, { items: [run('c', 1, 'skipped')] }],
    );
    expect(merged.map((r) => `${r.nodeId}#${r.attempt}`)).toEqual(['a#1', 'b#1', 'b#2', 'c#1']);
  });
});
