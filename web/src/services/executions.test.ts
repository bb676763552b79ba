import { describe, expect, it } from 'vitest';

import { isTerminal, summarizeRuns, type NodeRunFromAPI } from './executions';

const run = (nodeId: string, attempt: number, status: NodeRunFromAPI['status'], extra: Partial<NodeRunFromAPI> = {}): NodeRunFromAPI => ({ attempt, nodeId, status, ...extra });

describe('summarizeRuns', () => {
  it('keeps every attempt of a node and paints the latest', () => {
    const s = summarizeRuns([run('fetch', 2, 'succeeded', { durationMs: 12 }), run('fetch', 1, 'failed'), run('start', 1, 'succeeded')]);
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
