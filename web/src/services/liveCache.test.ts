import { QueryClient } from '@tanstack/react-query';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { executionFactory, nodeRunFactory } from '@test/factories';

import { executionQueries, liveDetailPatches, type ExecutionDetailFromAPI, type ExecutionFromAPI, type ExecutionPage } from './executions';
import type { LiveEvent, LiveHandlers, LiveTarget } from './live';
import { ExecutionOverlay, followExecution, followLists, patchList, REFETCH_INTERVAL_MS, type LiveSource } from './liveCache';

let seq = 0;
function ev(type: string, extra: Partial<LiveEvent> = {}): LiveEvent {
  seq++;
  return { executionId: 'e1', seq, time: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, seq)).toISOString(), type, workflowId: 'w', ...extra };
}

function row(id: string, extra: Partial<ExecutionFromAPI> = {}): ExecutionFromAPI {
  return { createdAt: '2026-01-01T00:00:00Z', id, status: 'running', trigger: { kind: 'manual' }, workflowId: 'w', workflowVersion: 1, ...extra };
}

/** FakeLive is a LiveSource whose events the test pushes. */
class FakeLive implements LiveSource {
  subs: { handlers: LiveHandlers; options?: { afterSeq?: number }; target: LiveTarget }[] = [];
  unsubscribed = 0;

  subscribe(target: LiveTarget, handlers: LiveHandlers, options?: { afterSeq?: number }): () => void {
    const s = { handlers, options, target };
    this.subs.push(s);
    return () => {
      this.unsubscribed++;
      this.subs = this.subs.filter((x) => x !== s);
    };
  }

  push(e: LiveEvent): void {
    for (const s of this.subs) s.handlers.onEvent(e);
  }
}

beforeEach(() => {
  seq = 0;
});

describe('ExecutionOverlay', () => {
  it('paints node runs from events in run order, with ports, errors, retries and logs', () => {
    const o = new ExecutionOverlay();
    const events = [
      ev('execution.started'),
      ev('node.started', { attempt: 1, nodeId: 'start' }),
      ev('node.succeeded', { attempt: 1, nodeId: 'start', payload: { durationMs: 3, port: 'out' } }),
      ev('node.started', { attempt: 1, nodeId: 'fetch' }),
      ev('node.log', { attempt: 1, nodeId: 'fetch', payload: { level: 'warn', message: 'slow' } }),
      ev('node.retrying', { attempt: 1, nodeId: 'fetch', payload: { code: 'timeout', delayMs: 1000, error: 'timed out', nextAttempt: 2 } }),
      ev('node.started', { attempt: 2, nodeId: 'fetch' }),
      ev('node.failed', { attempt: 2, nodeId: 'fetch', payload: { code: 'http', durationMs: 9, error: 'boom', handled: 'errorPort' } }),
      ev('node.started', { attempt: 1, nodeId: 'delay' }),
      ev('node.waiting', { attempt: 1, nodeId: 'delay', payload: { wakeAt: '2026-01-01T01:00:00Z' } }),
      ev('execution.waiting', { payload: { wakeAt: '2026-01-01T01:00:00Z' } }),
    ];
    for (const e of events) expect(o.apply(e)).toBe(true);
    expect(o.apply(events[3]!)).toBe(false);

    const d = o.patch(executionFactory({ nodeRuns: [], status: 'queued' }));
    expect(d.status).toBe('waiting');
    expect(d.wakeAt).toBe('2026-01-01T01:00:00Z');
    expect(d.startedAt).toBe(events[0]!.time);
    const runs = d.nodeRuns!.map((r) => ({ a: r.attempt, err: r.error?.message, id: r.nodeId, logs: r.logs?.length ?? 0, port: r.port, s: r.status }));
    expect(runs).toEqual([
      { a: 1, err: undefined, id: 'start', logs: 0, port: 'out', s: 'succeeded' },
      { a: 1, err: 'timed out', id: 'fetch', logs: 1, port: undefined, s: 'failed' },
      { a: 2, err: 'boom', id: 'fetch', logs: 0, port: 'error', s: 'failed' },
      { a: 1, err: undefined, id: 'delay', logs: 0, port: undefined, s: 'waiting' },
    ]);
    expect(d.nodeRuns![1]!.wakeAt).toBe(new Date(Date.parse(events[5]!.time) + 1000).toISOString());
    expect(d.nodeRuns![1]!.logs).toEqual([{ level: 'warn', message: 'slow', time: events[4]!.time }]);
    expect(d.nodeRuns![0]!.durationMs).toBe(3);

    // A resumed node runs again under the same attempt; the execution finishes.
    o.apply(ev('execution.resumed'));
    o.apply(ev('node.started', { attempt: 1, nodeId: 'delay' }));
    let d2 = o.patch(d);
    expect(d2.status).toBe('running');
    expect(d2.wakeAt).toBeUndefined();
    expect(d2.nodeRuns![3]).toMatchObject({ status: 'running' });
    expect(d2.nodeRuns![3]!.wakeAt).toBeUndefined();
    o.apply(ev('execution.finished', { payload: { durationMs: 50, error: 'fetch failed', status: 'failed' } }));
    d2 = o.patch(d2);
    expect(d2).toMatchObject({ durationMs: 50, error: { message: 'fetch failed' }, status: 'failed' });
  });

  it('keeps what a newer fetch already has: terminal states, richer errors, longer logs, outputs', () => {
    const o = new ExecutionOverlay();
    o.apply(ev('execution.started'));
    o.apply(ev('node.started', { nodeId: 'a' }));
    o.apply(ev('node.log', { nodeId: 'a', payload: { level: 'info', message: 'one' } }));
    const fetched = executionFactory({
      error: { code: 'x', message: 'a failed', nodeId: 'a' },
      nodeRuns: [
        nodeRunFactory({
          error: { code: 'x', details: { more: true }, message: 'bad' },
          logs: [
            { level: 'info', message: 'one', time: 't' },
            { level: 'info', message: 'two', time: 't' },
          ],
          nodeId: 'a',
          output: { ok: false },
          outputBytes: 12,
          status: 'failed',
        }),
      ],
      status: 'failed',
    });
    const d = o.patch(fetched);
    expect(d.status).toBe('failed');
    expect(d.error).toEqual(fetched.error);
    expect(d.nodeRuns![0]).toEqual(fetched.nodeRuns![0]);
    expect(
      o.patch(executionFactory({ nodeRuns: [nodeRunFactory({ logsTruncated: true, nodeId: 'a', status: 'running' })] })).nodeRuns![0]!.logs,
    ).toBeUndefined();
  });
});

describe('patchList', () => {
  const page = (items: ExecutionFromAPI[], nextCursor: string | null = null): ExecutionPage => ({ items, nextCursor });

  it('puts new runs on top of the first page, keeping its size, and asks for a refetch only when one falls off', () => {
    const p = page([row('old')]);
    const queued = ev('execution.queued', { executionId: 'new', payload: { trigger: 'webhook', triggerNode: 'hook', workflowVersion: 3 } });
    const r = patchList(p, { limit: 2 }, [queued]);
    expect(r.refetch).toBe(false);
    expect(r.page.items[0]).toEqual({
      createdAt: queued.time,
      id: 'new',
      status: 'queued',
      trigger: { kind: 'webhook', node: 'hook' },
      workflowId: 'w',
      workflowVersion: 3,
    });
    const r2 = patchList(r.page, { limit: 2 }, [ev('execution.queued', { executionId: 'newer' }), ev('execution.queued', { executionId: 'newer' })]);
    expect(r2.page.items.map((x) => x.id)).toEqual(['newer', 'new']);
    expect(r2.refetch).toBe(true);
  });

  it('leaves other workflows, later pages and other statuses alone', () => {
    const p = page([row('a')]);
    const queued = ev('execution.queued', { executionId: 'n' });
    expect(patchList(p, { workflowId: 'other' }, [queued]).page).toBe(p);
    expect(patchList(p, { cursor: 'c' }, [queued]).page).toBe(p);
    expect(patchList(p, { status: 'failed' }, [queued]).page).toBe(p);
  });

  it('keeps the call and error trigger kinds and the parent of a sub-workflow run, and lists it only under its parent', () => {
    const p = page([]);
    const child = ev('execution.queued', {
      executionId: 'kid',
      payload: { parentExecutionId: 'p1', parentNodeId: 'each', trigger: 'call', triggerNode: 'start', workflowVersion: 2 },
    });
    const handler = ev('execution.queued', {
      executionId: 'h',
      payload: { failedExecutionId: 'f', trigger: 'error', triggerNode: 'failed', workflowVersion: 1 },
    });
    const all = patchList(p, {}, [child, handler]).page.items;
    expect(all.map((x) => [x.id, x.trigger.kind, x.parentExecutionId, x.parentNodeId])).toEqual([
      ['h', 'error', undefined, undefined],
      ['kid', 'call', 'p1', 'each'],
    ]);
    expect(patchList(p, { parentExecutionId: 'p1' }, [child, handler]).page.items.map((x) => x.id)).toEqual(['kid']);
    expect(patchList(p, { parentExecutionId: 'p2' }, [child, handler]).page).toBe(p);
  });

  it('changes statuses in place and moves rows out of (or, by refetch, into) a status filter', () => {
    const p = page([row('a'), row('b')]);
    const started = ev('execution.started', { executionId: 'a' });
    const done = ev('execution.finished', { executionId: 'b', payload: { durationMs: 7, status: 'succeeded' } });
    const r = patchList(p, {}, [started, done]);
    expect(r.page.items).toEqual([row('a', { startedAt: started.time }), row('b', { durationMs: 7, finishedAt: done.time, status: 'succeeded' })]);
    expect(patchList(p, { status: 'running' }, [done]).page.items.map((x) => x.id)).toEqual(['a']);
    expect(patchList(page([]), { status: 'failed' }, [ev('execution.finished', { executionId: 'z', payload: { status: 'failed' } })]).refetch).toBe(true);
    // An event older than what was fetched does not undo a final status.
    expect(patchList(page([row('a', { status: 'succeeded' })]), {}, [ev('execution.started', { executionId: 'a' })]).page.items[0]!.status).toBe('succeeded');
  });
});

describe('followExecution', () => {
  let qc: QueryClient;
  const key = executionQueries.detail('e1').queryKey;

  beforeEach(() => {
    vi.useFakeTimers();
    qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  });

  afterEach(() => {
    vi.useRealTimers();
    qc.clear();
  });

  it('patches the cached detail once per burst, refetches on finish, and lets go with the last follower', async () => {
    const live = new FakeLive();
    qc.setQueryData(key, executionFactory({ nodeRuns: [], status: 'running' }));
    const fetches: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        fetches.push(url);
        return new Response(JSON.stringify(executionFactory({ nodeRuns: [nodeRunFactory({ nodeId: 'a', output: 1 })], status: 'succeeded' })), { status: 200 });
      }),
    );
    // Observed, as a page would, so that invalidation refetches.
    const { QueryObserver } = await import('@tanstack/react-query');
    const unobserve = new QueryObserver(qc, { ...executionQueries.detail('e1'), staleTime: Infinity }).subscribe(() => {});
    const off1 = followExecution(live, qc, 'e1');
    const off2 = followExecution(live, qc, 'e1');
    expect(live.subs).toHaveLength(1);
    expect(live.subs[0]!.options).toEqual({ afterSeq: 0 });
    expect(liveDetailPatches.has('e1')).toBe(true);

    let writes = 0;
    const stop = qc.getQueryCache().subscribe((e) => {
      if (e.type === 'updated' && e.action.type === 'success') writes++;
    });
    for (let i = 0; i < 100; i++) live.push(ev('node.log', { nodeId: 'a', payload: { level: 'info', message: `m${i}` } }));
    live.push(ev('node.started', { nodeId: 'a' }));
    expect(writes).toBe(0);
    vi.advanceTimersByTime(20);
    expect(writes).toBe(1);
    const d = qc.getQueryData<ExecutionDetailFromAPI>(key)!;
    expect(d.nodeRuns![0]!.logs).toHaveLength(100);
    expect(fetches).toEqual([]);

    live.push(ev('node.succeeded', { nodeId: 'a', payload: { port: 'out' } }));
    vi.advanceTimersByTime(20);
    expect(fetches).toEqual([]);
    live.push(ev('execution.finished', { payload: { status: 'succeeded' } }));
    vi.advanceTimersByTime(20);
    expect(qc.getQueryData<ExecutionDetailFromAPI>(key)!.status).toBe('succeeded');
    await vi.waitFor(() => expect(fetches).toEqual(['/api/v1/executions/e1']));

    off1();
    expect(live.unsubscribed).toBe(0);
    off2();
    expect(live.unsubscribed).toBe(1);
    expect(liveDetailPatches.has('e1')).toBe(false);
    stop();
    unobserve();
    vi.unstubAllGlobals();
  });

  it('refetches, throttled, when the node on screen starts or finishes', async () => {
    const live = new FakeLive();
    qc.setQueryData(key, executionFactory({ nodeRuns: [], status: 'running' }));
    const fetches: number[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        fetches.push(Date.now());
        return new Response(JSON.stringify(executionFactory({ nodeRuns: [], status: 'running' })), { status: 200 });
      }),
    );
    const { QueryObserver } = await import('@tanstack/react-query');
    const obs = new QueryObserver(qc, { ...executionQueries.detail('e1'), staleTime: Infinity });
    const unsub = obs.subscribe(() => {});
    const off = followExecution(live, qc, 'e1', () => 'b');
    live.push(ev('node.started', { nodeId: 'a' }));
    vi.advanceTimersByTime(20);
    expect(fetches).toHaveLength(0);
    for (let i = 0; i < 50; i++) {
      live.push(ev(i % 2 ? 'node.succeeded' : 'node.started', { attempt: Math.floor(i / 2) + 1, nodeId: 'b' }));
      vi.advanceTimersByTime(20);
    }
    await vi.advanceTimersByTimeAsync(REFETCH_INTERVAL_MS);
    // 50 events over one second: the first refetch at once, the rest folded into one more.
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    expect(fetches.length).toBeLessThanOrEqual(3);
    off();
    unsub();
    vi.unstubAllGlobals();
  });
});

describe('followLists', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('turns a storm of 1,000 runs a second into one list update a frame and at most one refetch a second', async () => {
    const qc = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
    const live = new FakeLive();
    const fetches: number[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        fetches.push(Date.now());
        return new Response(JSON.stringify({ items: [] }), { status: 200 });
      }),
    );
    const { QueryObserver } = await import('@tanstack/react-query');
    const obs = new QueryObserver(qc, executionQueries.list({ workflowId: 'w' }));
    const unsub = obs.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(fetches).toHaveLength(1);
    let updates = 0;
    obs.subscribe(() => updates++);

    const seen: string[] = [];
    const off = followLists(live, qc, 'w', (e) => seen.push(e.executionId));
    expect(live.subs[0]!.target).toEqual({ workflowId: 'w' });
    const start = Date.now();
    for (let ms = 0; ms < 2000; ms++) {
      live.push(ev('execution.queued', { executionId: `x${ms}` }));
      await vi.advanceTimersByTimeAsync(1);
    }
    await vi.advanceTimersByTimeAsync(REFETCH_INTERVAL_MS);
    expect(seen).toHaveLength(2000);
    const during = fetches.slice(1);
    // Over 2 s of 1,000 new runs a second: a refetch at once, then at most one a second.
    expect(during.length).toBeGreaterThanOrEqual(2);
    expect(during.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < during.length; i++) expect(during[i]! - during[i - 1]!).toBeGreaterThanOrEqual(REFETCH_INTERVAL_MS);
    expect(during[0]! - start).toBeLessThan(50);
    // The rows are patched once a frame, not once an event.
    expect(updates).toBeLessThan(2000 / 10);
    off();
    unsub();
  });

  it('reads the lists once when the subscription goes live or resumes without a position', async () => {
    const qc = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
    const live = new FakeLive();
    let fetches = 0;
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        fetches++;
        return new Response(JSON.stringify({ items: [] }), { status: 200 });
      }),
    );
    const { QueryObserver } = await import('@tanstack/react-query');
    const unsub = new QueryObserver(qc, executionQueries.list({})).subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    const off = followLists(live, qc, undefined);
    expect(live.subs[0]!.target).toEqual({ all: true });
    live.subs[0]!.handlers.onLive!();
    await vi.advanceTimersByTimeAsync(0);
    expect(fetches).toBe(2);
    live.subs[0]!.handlers.onLive!();
    await vi.advanceTimersByTimeAsync(2000);
    expect(fetches).toBe(2);
    live.subs[0]!.handlers.onGap!();
    await vi.advanceTimersByTimeAsync(0);
    expect(fetches).toBe(3);
    off();
    unsub();
  });
});
