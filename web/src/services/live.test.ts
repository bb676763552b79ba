import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { FakeSocket } from '@test/fakeSocket';

import { backoffDelay, LiveClient, type EventSourceLike, type LiveEvent, type LiveHandlers } from './live';

/** FakeStream is an EventSource the test drives. */
class FakeStream implements EventSourceLike {
  static all: FakeStream[] = [];
  onerror: ((ev: unknown) => void) | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  readyState = 0;
  closed = false;
  private readonly listeners = new Map<string, ((ev: { data: string }) => void)[]>();

  constructor(readonly url: string) {
    FakeStream.all.push(this);
  }

  addEventListener(type: string, listener: (ev: { data: string }) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
    this.readyState = 2;
  }

  emit(ev: Omit<LiveEvent, 'subscription'>): void {
    for (const l of this.listeners.get(ev.type) ?? []) l({ data: JSON.stringify(ev) });
  }
}

const ORIGIN = 'http://cm.test:8080';

const made: LiveClient[] = [];

function client(opts: Partial<ConstructorParameters<typeof LiveClient>[0]> = {}) {
  const c = new LiveClient({ EventSource: FakeStream, origin: ORIGIN, random: () => 0.5, WebSocket: FakeSocket, ...opts });
  made.push(c);
  return c;
}

function event(executionId: string, seq: number, type = 'node.started', extra: Partial<LiveEvent> = {}): LiveEvent {
  return { executionId, nodeId: 'n', seq, time: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), type, workflowId: 'w1', ...extra };
}

function recorder() {
  const events: LiveEvent[] = [];
  const calls: string[] = [];
  const handlers: LiveHandlers = {
    onComplete: () => calls.push('complete'),
    onError: (code) => calls.push(`error:${code}`),
    onEvent: (e) => events.push(e),
    onGap: () => calls.push('gap'),
    onLive: () => calls.push('live'),
  };
  return { calls, events, handlers };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.all = [];
  FakeStream.all = [];
});

afterEach(() => {
  for (const c of made.splice(0)) c.stop();
  vi.useRealTimers();
});

describe('backoffDelay', () => {
  it('is full jitter under an exponential ceiling that stops at the cap', () => {
    expect(backoffDelay(0, 500, 15_000, () => 0)).toBe(0);
    expect(backoffDelay(0, 500, 15_000, () => 0.999999)).toBeCloseTo(500, 0);
    expect(backoffDelay(3, 500, 15_000, () => 0.999999)).toBeCloseTo(4000, 0);
    expect(backoffDelay(10, 500, 15_000, () => 0.999999)).toBeCloseTo(15_000, 0);
    expect(backoffDelay(1000, 500, 15_000, () => 0.5)).toBe(7500);
    for (let n = 0; n < 12; n++) {
      const d = backoffDelay(n, 500, 15_000);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(Math.min(15_000, 500 * 2 ** n));
    }
  });
});

describe('LiveClient', () => {
  it('connects to the same origin over ws: or wss: and subscribes after hello', () => {
    const c = client();
    const r = recorder();
    c.subscribe({ executionId: 'e1' }, r.handlers);
    const ws = FakeSocket.last();
    expect(ws.url).toBe('ws://cm.test:8080/api/v1/ws');
    expect(c.getStatus()).toEqual({ state: 'connecting' });
    expect(ws.sent).toEqual([]);
    ws.connect();
    expect(c.getStatus()).toEqual({ state: 'live' });
    expect(ws.subscribes()).toEqual([{ batch: true, executionId: 'e1', id: 's1', type: 'subscribe' }]);
    c.stop();

    client({ origin: 'https://cm.example' }).start();
    expect(FakeSocket.last().url).toBe('wss://cm.example/api/v1/ws');
  });

  it('delivers events once, in order, dropping any at or below the last seq seen', () => {
    const c = client();
    const r = recorder();
    c.subscribe({ executionId: 'e1' }, r.handlers);
    const ws = FakeSocket.last().connect();
    for (const seq of [1, 2, 2, 1, 3]) ws.receive({ ...event('e1', seq), subscription: 's1' });
    ws.receive({ subscription: 's1', type: 'live' });
    ws.receive({ ...event('e1', 9), subscription: 'unknown' });
    expect(r.events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(r.calls).toEqual(['live']);
  });

  it('delivers the events of a batch message in order, with the same dedup', () => {
    const c = client();
    const r = recorder();
    c.subscribe({ executionId: 'e1' }, r.handlers);
    const ws = FakeSocket.last().connect();
    ws.receive({ events: [event('e1', 1), event('e1', 2)], subscription: 's1', type: 'batch' });
    ws.receive({ events: [event('e1', 2), event('e1', 3)], subscription: 's1', type: 'batch' });
    ws.receive({ events: [event('e1', 4)], subscription: 'unknown', type: 'batch' });
    expect(r.events.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('shares a subscription between subscribers and closes it with the last one', () => {
    const c = client();
    const a = recorder();
    const b = recorder();
    const ws = FakeSocket.all[0] ?? (c.start(), FakeSocket.last());
    ws.connect();
    const offA = c.subscribe({ workflowId: 'w1' }, a.handlers);
    const offB = c.subscribe({ workflowId: 'w1' }, b.handlers);
    expect(ws.subscribes()).toEqual([{ batch: true, id: 's1', type: 'subscribe', workflowId: 'w1' }]);
    ws.receive({ ...event('e1', 1, 'execution.queued'), subscription: 's1' });
    expect(a.events).toHaveLength(1);
    expect(b.events).toHaveLength(1);
    offA();
    offA();
    expect(ws.sent.filter((m) => m.type === 'unsubscribe')).toEqual([]);
    expect(c.subscriptionCount()).toBe(1);
    offB();
    expect(ws.sent.filter((m) => m.type === 'unsubscribe')).toEqual([{ id: 's1', type: 'unsubscribe' }]);
    expect(c.subscriptionCount()).toBe(0);
    ws.receive({ ...event('e1', 2, 'execution.started'), subscription: 's1' });
    expect(b.events).toHaveLength(1);
  });

  it('reconnects with backoff and resumes every subscription from its last position', () => {
    const c = client({ random: () => 0.999 });
    const exec = recorder();
    const wf = recorder();
    const all = recorder();
    c.subscribe({ executionId: 'e1' }, exec.handlers);
    c.subscribe({ workflowId: 'w1' }, wf.handlers);
    c.subscribe({ all: true }, all.handlers);
    let ws = FakeSocket.last().connect();
    ws.receive({ ...event('e1', 1), subscription: 's1' });
    ws.receive({ ...event('e1', 7), subscription: 's1' });
    ws.receive({ ...event('e1', 3, 'execution.started'), subscription: 's2' });
    const t = Date.now();
    ws.drop(1001);

    const s = c.getStatus();
    expect(s.state).toBe('reconnecting');
    if (s.state !== 'reconnecting') throw new Error('unreachable');
    expect(s.attempt).toBe(1);
    expect(s.nextAttemptAt - t).toBeLessThanOrEqual(500);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(500);
    expect(FakeSocket.all).toHaveLength(2);
    ws = FakeSocket.last();
    // A second failure waits longer (the ceiling doubles).
    ws.drop();
    const s2 = c.getStatus();
    if (s2.state !== 'reconnecting') throw new Error(`state ${s2.state}`);
    expect(s2.nextAttemptAt - Date.now()).toBeGreaterThan(500);
    expect(s2.nextAttemptAt - Date.now()).toBeLessThanOrEqual(1000);
    vi.advanceTimersByTime(1000);
    ws = FakeSocket.last().connect();
    expect(ws.subscribes()).toEqual([
      { batch: true, afterSeq: 7, executionId: 'e1', id: 's4', type: 'subscribe' },
      { batch: true, id: 's5', since: event('e1', 3).time, type: 'subscribe', workflowId: 'w1' },
      { batch: true, id: 's6', type: 'subscribe' },
    ]);
    // The all-executions subscription had no position to resume from: its subscriber reloads.
    expect(all.calls).toEqual(['gap']);
    expect(wf.calls).toEqual([]);
    // Replayed events it has already seen are dropped.
    ws.receive({ ...event('e1', 3, 'execution.started'), subscription: 's5' });
    ws.receive({ ...event('e1', 4, 'execution.finished'), subscription: 's5' });
    expect(wf.events.map((e) => e.seq)).toEqual([3, 4]);
  });

  it('starts the backoff over after a connection that stayed up', () => {
    const c = client({ random: () => 0.999 });
    c.start();
    FakeSocket.last().connect().drop();
    vi.advanceTimersByTime(500);
    FakeSocket.last().drop();
    vi.advanceTimersByTime(1000);
    FakeSocket.last().connect();
    vi.advanceTimersByTime(10_000);
    FakeSocket.last().drop();
    const s = c.getStatus();
    if (s.state !== 'reconnecting') throw new Error(`state ${s.state}`);
    expect(s.attempt).toBe(1);
    expect(s.nextAttemptAt - Date.now()).toBeLessThanOrEqual(500);
  });

  it('subscribes again where a resync says, under a new id', () => {
    const c = client();
    const r = recorder();
    c.subscribe({ executionId: 'e1' }, r.handlers);
    const ws = FakeSocket.last().connect();
    for (let seq = 1; seq <= 12; seq++) ws.receive({ ...event('e1', seq), subscription: 's1' });
    ws.receive({ afterSeq: 12, executionId: 'e1', reason: 'slow', subscription: 's1', type: 'resync' });
    expect(ws.subscribes()[1]).toEqual({ batch: true, afterSeq: 12, executionId: 'e1', id: 's2', type: 'subscribe' });
    ws.receive({ ...event('e1', 13), subscription: 's2' });
    ws.receive({ ...event('e1', 14), subscription: 's1' });
    expect(r.events.map((e) => e.seq)).toEqual([...Array.from({ length: 13 }, (_, i) => i + 1)]);

    const wf = recorder();
    c.subscribe({ workflowId: 'w1' }, wf.handlers);
    ws.receive({ reason: 'slow', since: '2026-01-01T00:00:00Z', subscription: 's3', type: 'resync' });
    expect(ws.subscribes()[3]).toEqual({ batch: true, id: 's4', since: '2026-01-01T00:00:00Z', type: 'subscribe', workflowId: 'w1' });
  });

  it('closes an execution subscription on complete and does not resume it', () => {
    const c = client();
    const r = recorder();
    const off = c.subscribe({ executionId: 'e1' }, r.handlers);
    let ws = FakeSocket.last().connect();
    ws.receive({ ...event('e1', 1, 'execution.finished', { payload: { status: 'succeeded' } }), subscription: 's1' });
    ws.receive({ executionId: 'e1', subscription: 's1', type: 'complete' });
    expect(r.calls).toEqual(['complete']);
    ws.drop();
    vi.runOnlyPendingTimers();
    ws = FakeSocket.last().connect();
    expect(ws.subscribes()).toEqual([]);
    off();
    expect(ws.sent).toEqual([]);
  });

  it('reports a refused subscription and does not retry it', () => {
    const c = client();
    const r = recorder();
    c.subscribe({ executionId: 'nope' }, r.handlers);
    const ws = FakeSocket.last().connect();
    ws.receive({ code: 'not_found', message: 'no such execution', subscription: 's1', type: 'error' });
    expect(r.calls).toEqual(['error:not_found']);
  });

  it('falls back to SSE after three failures without ever connecting, then returns to the WebSocket', () => {
    const c = client({ wsRetryMs: 30_000 });
    const exec = recorder();
    const wf = recorder();
    c.subscribe({ executionId: 'e 1' }, exec.handlers);
    c.subscribe({ workflowId: 'w1' }, wf.handlers);
    FakeSocket.last().drop();
    vi.runOnlyPendingTimers();
    // A socket that opens but closes before the server's hello (a proxy that drops it) fails too.
    FakeSocket.last().onopen?.({});
    FakeSocket.last().drop();
    vi.runOnlyPendingTimers();
    expect(FakeStream.all).toHaveLength(0);
    FakeSocket.last().drop();
    expect(c.getStatus()).toEqual({ state: 'fallback-sse' });
    expect(FakeStream.all.map((s) => s.url)).toEqual([`${ORIGIN}/api/v1/executions/e%201/events?after=0`, `${ORIGIN}/api/v1/workflows/w1/events`]);
    const [es, ws] = FakeStream.all as [FakeStream, FakeStream];
    es.onopen?.({});
    es.emit(event('e 1', 1));
    es.emit(event('e 1', 2, 'node.log', { payload: { level: 'info', message: 'hi' } }));
    es.emit(event('e 1', 2, 'node.log'));
    ws.emit(event('e 1', 1, 'execution.queued'));
    expect(exec.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(exec.calls).toEqual(['live']);
    expect(wf.events).toHaveLength(1);

    // The WebSocket is tried again later; once it works, the streams close and it takes over.
    const sockets = FakeSocket.all.length;
    vi.advanceTimersByTime(30_000);
    expect(FakeSocket.all.length).toBe(sockets + 1);
    FakeSocket.last().drop();
    expect(c.getStatus()).toEqual({ state: 'fallback-sse' });
    vi.advanceTimersByTime(30_000);
    const back = FakeSocket.last().connect();
    expect(c.getStatus()).toEqual({ state: 'live' });
    expect(es.closed && ws.closed).toBe(true);
    expect(back.subscribes()).toEqual([
      { batch: true, afterSeq: 2, executionId: 'e 1', id: 's1', type: 'subscribe' },
      { batch: true, id: 's2', since: event('e 1', 1).time, type: 'subscribe', workflowId: 'w1' },
    ]);
  });

  it('ends an SSE execution stream after execution.finished', () => {
    const c = client();
    const r = recorder();
    c.subscribe({ executionId: 'e1' }, r.handlers);
    for (let i = 0; i < 3; i++) {
      FakeSocket.last().drop();
      vi.runOnlyPendingTimers();
    }
    const es = FakeStream.all[0]!;
    es.emit(event('e1', 5, 'execution.finished', { payload: { status: 'failed' } }));
    expect(r.calls).toEqual(['complete']);
    expect(es.closed).toBe(true);
  });

  it('keeps reconnecting over the WebSocket once it has worked', () => {
    const c = client();
    c.start();
    FakeSocket.last().connect().drop();
    for (let i = 0; i < 5; i++) {
      vi.runOnlyPendingTimers();
      FakeSocket.last().drop();
    }
    expect(c.getStatus().state).toBe('reconnecting');
    expect(FakeStream.all).toHaveLength(0);
  });

  it('waits offline and connects when the network is back', () => {
    let online = false;
    const c = client({ online: () => online });
    const seen: string[] = [];
    c.onStatus(() => seen.push(c.getStatus().state));
    c.start();
    expect(c.getStatus()).toEqual({ state: 'offline' });
    expect(FakeSocket.all).toHaveLength(0);
    online = true;
    window.dispatchEvent(new Event('online'));
    FakeSocket.last().connect();
    expect(seen).toEqual(['offline', 'connecting', 'live']);
    c.stop();
  });

  it('checks a live connection with a ping when the network comes back, and replaces it when no pong comes', () => {
    const c = client();
    c.start();
    const ws = FakeSocket.last().connect();
    window.dispatchEvent(new Event('online'));
    expect(ws.sent).toEqual([{ type: 'ping' }]);
    ws.receive({ type: 'pong' });
    vi.advanceTimersByTime(10_000);
    expect(ws.closed).toBe(false);
    window.dispatchEvent(new Event('online'));
    vi.advanceTimersByTime(5_000);
    expect(ws.closed).toBe(true);
    expect(c.getStatus().state).toBe('reconnecting');
    c.stop();
  });
});

describe('LiveClient authentication', () => {
  /** tokens hands out t1, t2, … and counts the refreshes. */
  function tokens() {
    const t = { got: 0, n: 1, refreshed: 0 };
    return {
      getToken: async () => {
        t.got++;
        return `t${t.n}`;
      },
      refreshToken: async () => {
        t.refreshed++;
        t.n++;
        return `t${t.n}`;
      },
      t,
    };
  }

  it('sends the token as the first message on open and subscribes only after hello', async () => {
    const auth = tokens();
    const c = client({ getToken: auth.getToken, refreshToken: auth.refreshToken });
    c.subscribe({ executionId: 'e1' }, recorder().handlers);
    await vi.advanceTimersByTimeAsync(0);
    const ws = FakeSocket.last();
    ws.onopen?.({});
    expect(ws.sent).toEqual([{ token: 't1', type: 'auth' }]);
    ws.receive({ heartbeatSeconds: 20, maxSubscriptions: 64, type: 'hello', version: 'test' });
    expect(ws.sent.map((m) => m.type)).toEqual(['auth', 'subscribe']);
  });

  it('reconnects with the current token after the server closes on expiry (4001) and resumes', async () => {
    const auth = tokens();
    const c = client({ getToken: auth.getToken, random: () => 0.5, refreshToken: auth.refreshToken });
    const r = recorder();
    c.subscribe({ executionId: 'e1' }, r.handlers);
    await vi.advanceTimersByTimeAsync(0);
    const first = FakeSocket.last().connect();
    first.receive({ ...event('e1', 4), subscription: 's1' });
    auth.t.n = 2; // the session refreshed meanwhile
    first.drop(4001);
    await vi.advanceTimersByTimeAsync(1_000);
    const second = FakeSocket.last();
    expect(second).not.toBe(first);
    second.connect();
    expect(second.sent[0]).toEqual({ token: 't2', type: 'auth' });
    expect(second.subscribes()[0]).toMatchObject({ afterSeq: 4, executionId: 'e1' });
    expect(auth.t.refreshed).toBe(0);
  });

  it('refreshes the token before reconnecting after a refused token (4401), with backoff, never in a hot loop', async () => {
    const auth = tokens();
    const c = client({ getToken: auth.getToken, random: () => 0.999, refreshToken: auth.refreshToken });
    c.subscribe({ executionId: 'e1' }, recorder().handlers);
    await vi.advanceTimersByTimeAsync(0);
    let ws = FakeSocket.last();
    ws.onopen?.({});
    ws.receive({ code: 'unauthorized', message: 'invalid token', type: 'error' });
    ws.drop(4401);
    // No socket is opened right away: the next one waits for the backoff.
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(auth.t.refreshed).toBe(1);
    ws = FakeSocket.last();
    expect(FakeSocket.all).toHaveLength(2);
    ws.onopen?.({});
    expect(ws.sent[0]).toEqual({ token: 't2', type: 'auth' });
    // Refused again and again: each attempt waits for the backoff and refreshes first.
    const before = FakeSocket.all.length;
    for (let i = 0; i < 3; i++) {
      FakeSocket.last().drop(4401);
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(FakeSocket.all.length - before).toBeLessThanOrEqual(1);
    expect(c.getStatus().state).toBe('reconnecting');
    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(16_000);
      FakeSocket.last().onopen?.({});
      FakeSocket.last().drop(4401);
    }
    expect(auth.t.refreshed).toBeGreaterThanOrEqual(5);
    // A refused token is not a transport failure: the client does not fall back to SSE.
    expect(FakeStream.all).toHaveLength(0);
  });

  it('does not connect while signed out, and tries again later', async () => {
    const c = client({ getToken: async () => null });
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.all).toHaveLength(0);
    expect(c.getStatus().state).toBe('reconnecting');
  });

  it('reconnect() replaces the socket at once, with the token now', async () => {
    const auth = tokens();
    const c = client({ getToken: auth.getToken, refreshToken: auth.refreshToken });
    c.subscribe({ workflowId: 'w1' }, recorder().handlers);
    await vi.advanceTimersByTimeAsync(0);
    const first = FakeSocket.last().connect();
    auth.t.n = 5;
    c.reconnect();
    await vi.advanceTimersByTimeAsync(0);
    expect(first.closed).toBe(true);
    const second = FakeSocket.last();
    expect(second).not.toBe(first);
    second.connect();
    expect(second.sent[0]).toEqual({ token: 't5', type: 'auth' });
    expect(second.subscribes()).toHaveLength(1);
  });

  it('opens each SSE stream with a fresh single-use ticket', async () => {
    let n = 0;
    const c = client({ fallbackAfter: 1, getTicket: async () => `k${++n}`, getToken: async () => 't1' });
    c.subscribe({ executionId: 'e1' }, recorder().handlers);
    await vi.advanceTimersByTimeAsync(0);
    // The WebSocket never opens: the client falls back to SSE.
    FakeSocket.last().drop(1006);
    await vi.advanceTimersByTimeAsync(0);
    const last = () => FakeStream.all[FakeStream.all.length - 1]!;
    expect(last().url).toBe(`${ORIGIN}/api/v1/executions/e1/events?ticket=k1&after=0`);
    // The server refuses a reused ticket: the stream closes and a new ticket is fetched.
    const first = last();
    first.readyState = 2;
    first.onerror?.({});
    await vi.advanceTimersByTimeAsync(1_000);
    expect(last()).not.toBe(first);
    expect(last().url).toContain('ticket=k2');
  });
});
