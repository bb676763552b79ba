/**
 * live.ts is the web app's one connection to the server's live execution events (docs/live.md): a
 * WebSocket at /api/v1/ws that carries every subscription of the tab, reconnecting with exponential
 * backoff and full jitter, resuming each subscription from the last position it saw. When the
 * WebSocket cannot connect at all it falls back to Server-Sent Events (one EventSource per
 * subscription) and keeps trying the WebSocket now and then.
 *
 * Authentication (ADR 0013): the socket's first message is {"type":"auth","token":…} with the
 * session's access token, and only then does the server say hello. The server closes with 4001 when
 * the token expires (the client reconnects with the session's current token) and with 4401 (or 1008)
 * when it refuses the token (the client refreshes the token first, then reconnects after the usual
 * backoff: never in a hot loop). Each SSE stream opens with a single-use ticket, since EventSource
 * cannot send headers.
 *
 * Subscriptions are shared: subscribing twice to the same execution, workflow or to all executions
 * opens one server subscription, closed when the last subscriber leaves. A subscriber that joins an
 * open subscription receives what arrives from then on (not a replay).
 */

import { request } from './http';
import { session } from './session';

/** LiveEvent is one event of an execution's log, as docs/live.md describes it. */
export interface LiveEvent {
  attempt?: number;
  executionId: string;
  nodeId?: string;
  payload?: Record<string, unknown>;
  seq: number;
  time: string;
  type: string;
  workflowId?: string;
}

/** LiveTarget is what a subscription follows: one execution, one workflow's executions, or all executions. */
export type LiveTarget = { executionId: string } | { workflowId: string } | { all: true };

/** LiveHandlers receive what happens to a subscription. */
export interface LiveHandlers {
  /** onComplete: an execution subscription delivered execution.finished and is over. */
  onComplete?: () => void;
  /** onError: the server refused the subscription (e.g. not_found). */
  onError?: (code: string, message: string) => void;
  onEvent: (event: LiveEvent) => void;
  /**
   * onGap: a workflow or all-executions subscription was resumed without a position (it had seen no
   * event yet), so events may have been missed while the connection was down; reload what it feeds.
   */
  onGap?: () => void;
  /** onLive: the replay is over, what follows is live (after every (re)subscription). */
  onLive?: () => void;
}

/** LiveStatus is the state of the tab's live connection, for the indicator. */
export type LiveStatus =
  | { state: 'connecting' }
  | { state: 'live' }
  | { attempt: number; nextAttemptAt: number; state: 'reconnecting' }
  | { state: 'fallback-sse' }
  | { state: 'offline' };

/** EXECUTION_EVENT_TYPES are the execution-level event types. */
export const EXECUTION_EVENT_TYPES = [
  'execution.queued',
  'execution.started',
  'execution.waiting',
  'execution.resumed',
  'execution.draining',
  'execution.requeued',
  'execution.finished',
] as const;

/** NODE_EVENT_TYPES are the node-level event types. */
export const NODE_EVENT_TYPES = [
  'node.started',
  'node.succeeded',
  'node.failed',
  'node.retrying',
  'node.waiting',
  'node.skipped',
  'node.canceled',
  'node.log',
] as const;

/** backoffDelay is the wait before reconnect attempt n (0-based): full jitter, random in [0, min(cap, base·2ⁿ)). */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  return random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
}

/** WebSocketLike is the part of WebSocket the client uses (a fake in tests). */
export interface WebSocketLike {
  close(code?: number, reason?: string): void;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onopen: ((ev: unknown) => void) | null;
  send(data: string): void;
}

/** EventSourceLike is the part of EventSource the client uses (a fake in tests). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (ev: { data: string }) => void): void;
  close(): void;
  onerror: ((ev: unknown) => void) | null;
  onopen: ((ev: unknown) => void) | null;
  readonly readyState: number;
}

/** LiveClientOptions configure a client; every field has a default for the browser. */
export interface LiveClientOptions {
  /** baseDelayMs is the backoff's first ceiling (0.5 s). */
  baseDelayMs?: number;
  /** EventSource builds the fallback streams (the browser's EventSource). */
  EventSource?: new (url: string) => EventSourceLike;
  /** fallbackAfter is how many failed attempts in a row, with no connection ever opened, switch to SSE (3). */
  fallbackAfter?: number;
  /** getTicket gets a single-use ticket for one SSE stream (none: streams open without one). */
  getTicket?: () => Promise<string>;
  /** getToken is the access token the socket authenticates with (none: no auth message is sent). */
  getToken?: () => Promise<string | null>;
  /** maxDelayMs caps the backoff (15 s). */
  maxDelayMs?: number;
  /** now is the clock (Date.now). */
  now?: () => number;
  /** online reports whether the browser thinks it has a network (navigator.onLine). */
  online?: () => boolean;
  /** origin is the server's origin, http(s)://host (location.origin). */
  origin?: string;
  /** pongTimeoutMs is how long a liveness check waits for a pong (5 s). */
  pongTimeoutMs?: number;
  random?: () => number;
  /** refreshToken gets a new token after the server refused one (defaults to getToken). */
  refreshToken?: () => Promise<string | null>;
  /** stableMs is how long a connection must stay up for the backoff to start over (10 s). */
  stableMs?: number;
  /** WebSocket builds the socket (the browser's WebSocket). */
  WebSocket?: new (url: string) => WebSocketLike;
  /** wsRetryMs is how long the SSE fallback waits before trying the WebSocket again (30 s, jittered). */
  wsRetryMs?: number;
}

/** AUTH_CLOSE_CODES are the close codes of a refused token (4401) or a missing auth message (1008). */
const AUTH_CLOSE_CODES = new Set([1008, 4401]);

/** SEEN_LIMIT bounds the per-execution positions a broad subscription remembers for de-duplication. */
const SEEN_LIMIT = 5000;

interface Sub {
  afterSeq: number;
  done: boolean;
  handlers: Set<LiveHandlers>;
  key: string;
  kind: 'all' | 'execution' | 'workflow';
  /** seen: per execution, the last seq delivered (workflow and all subscriptions). */
  seen: Map<string, number>;
  since: string | null;
  sse: EventSourceLike | null;
  /** sseOpening: a ticket is being fetched for the stream. */
  sseOpening: boolean;
  retryTimer: ReturnType<typeof setTimeout> | null;
  retryAttempt: number;
  /** subscribedBefore: the subscription was opened once already, so opening it again is a resume. */
  subscribedBefore: boolean;
  target: string;
  wireId: string | null;
}

type ServerMessage = {
  afterSeq?: number;
  code?: string;
  /** events: the events of a batch message. */
  events?: LiveEvent[];
  executionId?: string;
  maxSubscriptions?: number;
  message?: string;
  since?: string;
  subscription?: string;
  type?: string;
};

function keyOf(t: LiveTarget): { key: string; kind: Sub['kind']; target: string } {
  if ('executionId' in t) return { key: `execution:${t.executionId}`, kind: 'execution', target: t.executionId };
  if ('workflowId' in t) return { key: `workflow:${t.workflowId}`, kind: 'workflow', target: t.workflowId };
  return { key: 'all', kind: 'all', target: '' };
}

function later(a: string, b: string | null): boolean {
  if (b === null) return true;
  const x = Date.parse(a);
  const y = Date.parse(b);
  return Number.isNaN(y) || (!Number.isNaN(x) && x >= y);
}

/** LiveClient is one tab's live connection; see the file comment. */
export class LiveClient {
  private readonly opts: Required<Omit<LiveClientOptions, 'EventSource' | 'getTicket' | 'getToken' | 'refreshToken' | 'WebSocket'>> &
    Pick<LiveClientOptions, 'EventSource' | 'getTicket' | 'getToken' | 'refreshToken' | 'WebSocket'>;
  private started = false;
  private ws: WebSocketLike | null = null;
  /** connecting: the token for the next socket is being fetched. */
  private connecting = false;
  /** staleToken: the server refused the last token, so the next socket refreshes it first. */
  private staleToken = false;
  /** generation changes on stop and reconnect, so that a token fetched for an older connect is dropped. */
  private generation = 0;
  /** helloed: the current socket said hello; subscriptions go over it. */
  private helloed = false;
  private openedAt: number | null = null;
  private everOpened = false;
  private failures = 0;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private fallback = false;
  private nextWireId = 0;
  private readonly subs = new Map<string, Sub>();
  private readonly wire = new Map<string, Sub>();
  private status: LiveStatus = { state: 'connecting' };
  private readonly statusListeners = new Set<() => void>();
  private readonly cleanups: (() => void)[] = [];

  constructor(options: LiveClientOptions = {}) {
    const g = globalThis as { EventSource?: new (url: string) => EventSourceLike; WebSocket?: new (url: string) => WebSocketLike };
    this.opts = {
      baseDelayMs: options.baseDelayMs ?? 500,
      EventSource: options.EventSource ?? g.EventSource,
      fallbackAfter: options.fallbackAfter ?? 3,
      getTicket: options.getTicket,
      getToken: options.getToken,
      maxDelayMs: options.maxDelayMs ?? 15_000,
      now: options.now ?? Date.now,
      online: options.online ?? (() => (typeof navigator === 'undefined' ? true : navigator.onLine !== false)),
      origin: options.origin ?? (typeof location === 'undefined' ? 'http://localhost' : location.origin),
      pongTimeoutMs: options.pongTimeoutMs ?? 5_000,
      random: options.random ?? Math.random,
      refreshToken: options.refreshToken,
      stableMs: options.stableMs ?? 10_000,
      WebSocket: options.WebSocket ?? g.WebSocket,
      wsRetryMs: options.wsRetryMs ?? 30_000,
    };
  }

  /** getStatus is the connection's state now. */
  getStatus = (): LiveStatus => this.status;

  /** onStatus calls listener after every change of state; it returns the unsubscribe function. */
  onStatus = (listener: () => void): (() => void) => {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  };

  /** start connects, once; subscribe starts the client too. */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (typeof window !== 'undefined') {
      const online = () => {
        if (this.ws && this.helloed) this.checkAlive();
        else if (!this.ws) this.reconnectNow();
      };
      const offline = () => {
        if (!this.ws || !this.helloed) this.setStatus({ state: 'offline' });
      };
      const visible = () => {
        if (typeof document !== 'undefined' && document.visibilityState === 'visible' && this.ws && this.helloed) this.checkAlive();
      };
      window.addEventListener('online', online);
      window.addEventListener('offline', offline);
      document.addEventListener('visibilitychange', visible);
      this.cleanups.push(
        () => window.removeEventListener('online', online),
        () => window.removeEventListener('offline', offline),
        () => document.removeEventListener('visibilitychange', visible),
      );
    }
    this.connect();
  }

  /** stop closes everything; the client can be started again. */
  stop(): void {
    this.started = false;
    for (const c of this.cleanups.splice(0)) c();
    this.clearTimer();
    this.dropSocket('client stopped');
    for (const sub of this.subs.values()) this.closeSse(sub);
    this.fallback = false;
    this.staleToken = false;
    this.setStatus({ state: 'connecting' });
  }

  /**
   * reconnect closes the connection and opens a new one at once with the current token (after the
   * user switched workspaces); subscriptions resume as after any drop.
   */
  reconnect(): void {
    if (!this.started) return;
    this.clearTimer();
    this.dropSocket('reconnecting');
    this.attempt = 0;
    if (this.fallback) {
      for (const sub of this.subs.values()) {
        this.closeSse(sub);
        this.openSse(sub);
      }
      this.scheduleProbe();
      return;
    }
    this.connect();
  }

  /** dropSocket closes the current socket, if any, without treating it as a failure. */
  private dropSocket(reason: string): void {
    this.generation++;
    this.connecting = false;
    this.clearPong();
    const ws = this.ws;
    this.ws = null;
    this.helloed = false;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = ws.onerror = null;
      ws.close(1000, reason);
    }
    for (const sub of this.subs.values()) sub.wireId = null;
    this.wire.clear();
  }

  /**
   * subscribe follows a target and returns the function that stops following it. An execution
   * subscription starts after afterSeq (0: the whole log) when it is the first for that execution.
   */
  subscribe(target: LiveTarget, handlers: LiveHandlers, options: { afterSeq?: number } = {}): () => void {
    const { key, kind, target: id } = keyOf(target);
    let sub = this.subs.get(key);
    if (!sub) {
      sub = {
        afterSeq: options.afterSeq ?? 0,
        done: false,
        handlers: new Set(),
        key,
        kind,
        seen: new Map(),
        since: null,
        sse: null,
        sseOpening: false,
        retryAttempt: 0,
        retryTimer: null,
        subscribedBefore: false,
        target: id,
        wireId: null,
      };
      this.subs.set(key, sub);
      if (this.helloed) this.sendSubscribe(sub);
      else if (this.fallback) this.openSse(sub);
    }
    sub.handlers.add(handlers);
    this.start();
    const s = sub;
    return () => {
      s.handlers.delete(handlers);
      if (s.handlers.size > 0 || this.subs.get(key) !== s) return;
      this.subs.delete(key);
      if (s.wireId !== null) {
        this.wire.delete(s.wireId);
        if (!s.done) this.send({ id: s.wireId, type: 'unsubscribe' });
        s.wireId = null;
      }
      this.closeSse(s);
    };
  }

  /** subscriptionCount is how many distinct targets are followed (for tests and diagnostics). */
  subscriptionCount(): number {
    return this.subs.size;
  }

  // --- WebSocket ---------------------------------------------------------------------------------

  private wsURL(): string {
    const u = new URL('/api/v1/ws', this.opts.origin);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return u.toString();
  }

  private connect(): void {
    this.clearTimer();
    if (!this.started || this.ws || this.connecting) return;
    if (!this.opts.online()) {
      if (!this.fallback) this.setStatus({ state: 'offline' });
      return;
    }
    const WS = this.opts.WebSocket;
    if (!WS) {
      this.enterFallback();
      return;
    }
    if (!this.fallback) this.setStatus({ state: 'connecting' });
    const fetchToken = this.staleToken ? (this.opts.refreshToken ?? this.opts.getToken) : this.opts.getToken;
    if (!fetchToken) {
      this.open(WS, null);
      return;
    }
    this.connecting = true;
    const generation = this.generation;
    fetchToken().then(
      (token) => {
        if (generation !== this.generation || !this.started || this.ws) return;
        this.connecting = false;
        if (token === null) {
          // Signed out: nothing to authenticate with; the app asks for a login. Try again later.
          this.onSocketClosed(true);
          return;
        }
        this.staleToken = false;
        this.open(WS, token);
      },
      () => {
        if (generation !== this.generation || !this.started) return;
        this.connecting = false;
        this.onSocketClosed(true);
      },
    );
  }

  /** open makes the socket; its first message is the token, when there is one. */
  private open(WS: new (url: string) => WebSocketLike, token: string | null): void {
    let ws: WebSocketLike;
    try {
      ws = new WS(this.wsURL());
    } catch {
      this.onSocketClosed();
      return;
    }
    this.ws = ws;
    this.helloed = false;
    this.openedAt = null;
    ws.onopen = () => {
      if (this.ws !== ws || token === null) return;
      try {
        ws.send(JSON.stringify({ token, type: 'auth' }));
      } catch {
        // The close event follows and reconnects.
      }
    };
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.onMessage(ev.data);
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const refused = AUTH_CLOSE_CODES.has(ev?.code);
      if (refused) this.staleToken = true;
      this.onSocketClosed(refused);
    };
  }

  /**
   * onSocketClosed follows the end of a socket: a failure when it never said hello, else a drop. A
   * socket closed over its token (authProblem) is no transport failure: it does not count towards
   * the SSE fallback, but it waits for the backoff like any other.
   */
  private onSocketClosed(authProblem = false): void {
    const wasLive = this.helloed;
    this.helloed = false;
    this.clearPong();
    for (const sub of this.subs.values()) sub.wireId = null;
    this.wire.clear();
    if (wasLive) {
      this.failures = 0;
      if (this.openedAt !== null && this.opts.now() - this.openedAt >= this.opts.stableMs) this.attempt = 0;
    } else if (!authProblem) {
      this.failures++;
    }
    this.openedAt = null;
    if (!this.started) return;
    if (!this.fallback && !this.everOpened && this.failures >= this.opts.fallbackAfter) {
      this.enterFallback();
      return;
    }
    if (this.fallback) {
      this.scheduleProbe();
      return;
    }
    if (!this.opts.online()) {
      this.setStatus({ state: 'offline' });
      return;
    }
    const delay = backoffDelay(this.attempt, this.opts.baseDelayMs, this.opts.maxDelayMs, this.opts.random);
    this.attempt++;
    this.setStatus({ attempt: this.attempt, nextAttemptAt: this.opts.now() + delay, state: 'reconnecting' });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** reconnectNow skips the backoff wait (the indicator's "Reconnect now"). */
  reconnectNow(): void {
    if (!this.started || this.ws || this.connecting) return;
    this.attempt = 0;
    this.connect();
  }

  private onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: ServerMessage & Partial<LiveEvent>;
    try {
      msg = JSON.parse(data) as ServerMessage & Partial<LiveEvent>;
    } catch {
      return;
    }
    const type = msg.type ?? '';
    if (type.includes('.')) {
      const sub = msg.subscription ? this.wire.get(msg.subscription) : undefined;
      if (sub) this.deliver(sub, msg as LiveEvent);
      return;
    }
    if (type === 'batch') {
      // Events that came together, in order (subscriptions ask for batches).
      for (const ev of msg.events ?? []) {
        const sub = msg.subscription ? this.wire.get(msg.subscription) : undefined;
        if (!sub) return;
        this.deliver(sub, ev);
      }
      return;
    }
    const sub = msg.subscription ? this.wire.get(msg.subscription) : undefined;
    switch (type) {
      case 'hello':
        this.onHello();
        break;
      case 'live':
        if (sub) {
          sub.retryAttempt = 0;
          for (const h of [...sub.handlers]) h.onLive?.();
        }
        break;
      case 'complete':
        if (sub) this.complete(sub);
        break;
      case 'resync':
        if (sub) {
          this.wire.delete(msg.subscription!);
          sub.wireId = null;
          if (sub.kind === 'execution') sub.afterSeq = sub.afterSeq || (msg.afterSeq ?? 0);
          else sub.since ??= msg.since ?? null;
          this.sendSubscribe(sub);
        }
        break;
      case 'error':
        if (sub) {
          this.wire.delete(msg.subscription!);
          sub.wireId = null;
          if (msg.code === 'duplicate_subscription') {
            this.sendSubscribe(sub);
            break;
          }
          if (msg.code === 'internal') {
            // The server could not follow it this time: try again after a backoff, from where it was.
            const delay = backoffDelay(sub.retryAttempt++, this.opts.baseDelayMs, this.opts.maxDelayMs, this.opts.random);
            sub.retryTimer = setTimeout(() => {
              sub.retryTimer = null;
              if (this.subs.get(sub.key) === sub && sub.wireId === null) this.sendSubscribe(sub);
            }, delay);
            break;
          }
          sub.done = true;
          for (const h of [...sub.handlers]) h.onError?.(msg.code ?? 'error', msg.message ?? '');
        }
        break;
      case 'pong':
        this.clearPong();
        break;
      default:
        break;
    }
  }

  private onHello(): void {
    this.helloed = true;
    this.openedAt = this.opts.now();
    for (const sub of this.subs.values()) this.clearRetry(sub);
    this.everOpened = true;
    this.failures = 0;
    this.clearTimer();
    if (this.fallback) {
      this.fallback = false;
      for (const sub of this.subs.values()) this.closeSse(sub);
    }
    this.setStatus({ state: 'live' });
    for (const sub of this.subs.values()) if (!sub.done) this.sendSubscribe(sub);
  }

  private sendSubscribe(sub: Sub): void {
    if (!this.helloed || sub.done) return;
    const id = `s${++this.nextWireId}`;
    sub.wireId = id;
    this.wire.set(id, sub);
    const msg: Record<string, unknown> = { batch: true, id, type: 'subscribe' };
    if (sub.kind === 'execution') {
      msg.executionId = sub.target;
      if (sub.afterSeq > 0) msg.afterSeq = sub.afterSeq;
    } else {
      if (sub.kind === 'workflow') msg.workflowId = sub.target;
      if (sub.since) msg.since = sub.since;
      else if (sub.subscribedBefore) this.gap(sub);
    }
    sub.subscribedBefore = true;
    this.send(msg);
  }

  private gap(sub: Sub): void {
    for (const h of [...sub.handlers]) h.onGap?.();
  }

  private send(msg: Record<string, unknown>): void {
    if (!this.ws || !this.helloed) return;
    try {
      this.ws.send(JSON.stringify(msg));
    } catch {
      // The close event follows and reconnects.
    }
  }

  /** checkAlive asks the server for a pong and reconnects when none comes (after sleep or a network change). */
  private checkAlive(): void {
    if (this.pongTimer !== null) return;
    this.send({ type: 'ping' });
    const ws = this.ws;
    this.pongTimer = setTimeout(() => {
      this.pongTimer = null;
      if (ws && this.ws === ws) {
        this.ws = null;
        ws.onclose = ws.onmessage = ws.onopen = ws.onerror = null;
        ws.close(4000, 'no pong');
        this.onSocketClosed();
      }
    }, this.opts.pongTimeoutMs);
  }

  private clearPong(): void {
    if (this.pongTimer !== null) clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  // --- delivery ----------------------------------------------------------------------------------

  private deliver(sub: Sub, ev: LiveEvent): void {
    if (sub.done || typeof ev.seq !== 'number' || typeof ev.executionId !== 'string') return;
    if (sub.kind === 'execution') {
      if (ev.seq <= sub.afterSeq) return;
      sub.afterSeq = ev.seq;
    } else {
      const last = sub.seen.get(ev.executionId) ?? 0;
      if (ev.seq <= last) return;
      sub.seen.delete(ev.executionId);
      sub.seen.set(ev.executionId, ev.seq);
      if (sub.seen.size > SEEN_LIMIT) sub.seen.delete(sub.seen.keys().next().value!);
      if (typeof ev.time === 'string' && later(ev.time, sub.since)) sub.since = ev.time;
    }
    for (const h of [...sub.handlers]) {
      try {
        h.onEvent(ev);
      } catch (e) {
        console.error('live event handler failed', e);
      }
    }
  }

  private complete(sub: Sub): void {
    if (sub.done) return;
    sub.done = true;
    if (sub.wireId !== null) this.wire.delete(sub.wireId);
    sub.wireId = null;
    this.closeSse(sub);
    for (const h of [...sub.handlers]) h.onComplete?.();
  }

  // --- SSE fallback ------------------------------------------------------------------------------

  private enterFallback(): void {
    if (!this.opts.EventSource) {
      // Nothing to fall back to: keep trying the WebSocket.
      this.failures = 0;
      this.everOpened = true;
      this.helloed = false;
      this.onSocketClosed();
      return;
    }
    this.fallback = true;
    this.setStatus({ state: 'fallback-sse' });
    for (const sub of this.subs.values()) this.openSse(sub);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    this.clearTimer();
    const delay = this.opts.wsRetryMs * (0.5 + this.opts.random() / 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private sseURL(sub: Sub, ticket: string | null): string {
    const enc = encodeURIComponent;
    let path: string;
    const q = new URLSearchParams();
    if (ticket !== null) q.set('ticket', ticket);
    if (sub.kind === 'execution') {
      path = `/api/v1/executions/${enc(sub.target)}/events`;
      q.set('after', String(sub.afterSeq));
    } else {
      path = sub.kind === 'workflow' ? `/api/v1/workflows/${enc(sub.target)}/events` : '/api/v1/events';
      if (sub.since) q.set('since', sub.since);
    }
    const qs = q.toString();
    return new URL(path + (qs ? `?${qs}` : ''), this.opts.origin).toString();
  }

  private openSse(sub: Sub): void {
    const ES = this.opts.EventSource;
    if (!ES || sub.done || sub.sse || sub.sseOpening) return;
    const getTicket = this.opts.getTicket;
    if (!getTicket) {
      this.startSse(ES, sub, null);
      return;
    }
    sub.sseOpening = true;
    getTicket().then(
      (ticket) => {
        sub.sseOpening = false;
        if (this.fallback && this.subs.get(sub.key) === sub && !sub.sse && !sub.done) this.startSse(ES, sub, ticket);
      },
      () => {
        sub.sseOpening = false;
        if (this.fallback && this.subs.get(sub.key) === sub) this.retrySse(sub);
      },
    );
  }

  private retrySse(sub: Sub): void {
    this.clearRetry(sub);
    const delay = backoffDelay(sub.retryAttempt++, this.opts.baseDelayMs, this.opts.maxDelayMs, this.opts.random);
    sub.retryTimer = setTimeout(() => {
      sub.retryTimer = null;
      if (this.fallback && this.subs.get(sub.key) === sub) this.openSse(sub);
    }, delay);
  }

  private startSse(ES: new (url: string) => EventSourceLike, sub: Sub, ticket: string | null): void {
    if (sub.kind !== 'execution' && !sub.since && sub.subscribedBefore) this.gap(sub);
    sub.subscribedBefore = true;
    const es = new ES(this.sseURL(sub, ticket));
    sub.sse = es;
    const onData = (ev: { data: string }) => {
      if (sub.sse !== es) return;
      let event: LiveEvent;
      try {
        event = JSON.parse(ev.data) as LiveEvent;
      } catch {
        return;
      }
      this.deliver(sub, event);
      if (sub.kind === 'execution' && event.type === 'execution.finished') this.complete(sub);
    };
    for (const t of sub.kind === 'execution' ? [...EXECUTION_EVENT_TYPES, ...NODE_EVENT_TYPES] : EXECUTION_EVENT_TYPES) es.addEventListener(t, onData);
    es.onopen = () => {
      sub.retryAttempt = 0;
      for (const h of [...sub.handlers]) h.onLive?.();
    };
    es.onerror = () => {
      // EventSource reconnects by itself (with Last-Event-ID) unless the server refused the stream;
      // with a ticket, which is single use, a reconnection is refused and a new ticket is fetched.
      if (sub.sse !== es || es.readyState !== 2) return;
      es.close();
      sub.sse = null;
      this.retrySse(sub);
    };
  }

  private closeSse(sub: Sub): void {
    this.clearRetry(sub);
    sub.sse?.close();
    sub.sse = null;
  }

  private clearRetry(sub: Sub): void {
    if (sub.retryTimer !== null) clearTimeout(sub.retryTimer);
    sub.retryTimer = null;
  }

  private setStatus(s: LiveStatus): void {
    const cur = this.status;
    if (cur.state === s.state && (s.state !== 'reconnecting' || (cur.state === 'reconnecting' && cur.nextAttemptAt === s.nextAttemptAt))) return;
    this.status = s;
    for (const l of [...this.statusListeners]) l();
  }
}

let shared: LiveClient | null = null;

/** getLiveClient is the tab's one client, made on first use: it authenticates with the tab's session. */
export function getLiveClient(): LiveClient {
  shared ??= new LiveClient({
    getTicket: async () => (await request<{ ticket: string }>('/api/v1/auth/tickets', { method: 'POST' })).data.ticket,
    getToken: () => session.getToken(),
    refreshToken: () => session.refresh(),
  });
  return shared;
}
