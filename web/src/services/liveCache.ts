/**
 * liveCache.ts turns live events (services/live.ts) into changes of the TanStack Query cache: an
 * execution's detail (status, node runs, ports, errors, logs) and the execution lists.
 *
 * An execution's events are folded into an ExecutionOverlay: per execution and per node attempt, the
 * fields the events set, last event wins, logs in order. The overlay is applied to the cached detail
 * after each burst of events, and to every detail fetched while the execution is followed (see
 * executionQueries.detail), so a fetch that raced an event never loses it. A fetched detail that is
 * already terminal (for the execution or a node attempt) keeps its terminal state: it is newer than
 * any non-terminal event.
 */
import type { QueryClient } from '@tanstack/react-query';

import { Batcher, Throttle } from '@lib/throttle';

import {
  asTriggerKind,
  executionQueries,
  isTerminal,
  liveDetailPatches,
  type ExecutionDetailFromAPI,
  type ExecutionFromAPI,
  type ExecutionListParams,
  type ExecutionPage,
  type ExecutionStatus,
  type LogEntryFromAPI,
  type NodeRunFromAPI,
  type NodeRunStatus,
} from './executions';
import type { LiveClient, LiveEvent } from './live';

type ExecFields = Partial<Pick<ExecutionDetailFromAPI, 'durationMs' | 'error' | 'finishedAt' | 'startedAt' | 'status'>> & { wakeAt?: string | null };

interface RunFields {
  attempt: number;
  durationMs?: number;
  error?: NodeRunFromAPI['error'];
  finishedAt?: string | null;
  logs: LogEntryFromAPI[];
  nodeId: string;
  port?: string;
  startedAt?: string;
  status?: NodeRunStatus;
  wakeAt?: string | null;
}

const TERMINAL_RUN: ReadonlySet<NodeRunStatus> = new Set(['canceled', 'failed', 'skipped', 'succeeded']);

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function addMs(iso: string, ms: number | undefined): string | undefined {
  const t = Date.parse(iso);
  return ms === undefined || Number.isNaN(t) ? undefined : new Date(t + ms).toISOString();
}

/** executionStatusOf is the status an execution-level event puts an execution in, if any. */
export function executionStatusOf(ev: LiveEvent): ExecutionStatus | undefined {
  switch (ev.type) {
    case 'execution.queued':
    case 'execution.requeued':
      return 'queued';
    case 'execution.started':
    case 'execution.resumed':
      return 'running';
    case 'execution.waiting':
      return 'waiting';
    case 'execution.finished': {
      const s = str(ev.payload?.status);
      return s === 'succeeded' || s === 'failed' || s === 'canceled' ? s : undefined;
    }
    default:
      return undefined;
  }
}

/** executionFieldsOf is what an execution-level event says about the execution's own fields. */
export function executionFieldsOf(ev: LiveEvent): ExecFields | null {
  const status = executionStatusOf(ev);
  if (!status) return null;
  const f: ExecFields = { status };
  switch (ev.type) {
    case 'execution.started':
      f.startedAt = ev.time;
      f.wakeAt = null;
      break;
    case 'execution.resumed':
    case 'execution.requeued':
      f.wakeAt = null;
      break;
    case 'execution.waiting':
      f.wakeAt = str(ev.payload?.wakeAt) ?? null;
      break;
    case 'execution.finished': {
      f.finishedAt = ev.time;
      f.wakeAt = null;
      const d = num(ev.payload?.durationMs);
      if (d !== undefined) f.durationMs = d;
      const err = str(ev.payload?.error);
      if (err !== undefined) f.error = { message: err };
      break;
    }
    default:
      break;
  }
  return f;
}

/** ExecutionOverlay folds one execution's events; see the file comment. */
export class ExecutionOverlay {
  /** lastSeq is the last event folded; older or repeated events are ignored. */
  lastSeq = 0;
  private exec: ExecFields = {};
  /** runs in the order their first event arrived: run order. */
  private readonly runs = new Map<string, RunFields>();

  /** apply folds one event; it reports whether the event was new. */
  apply(ev: LiveEvent): boolean {
    if (ev.seq <= this.lastSeq) return false;
    this.lastSeq = ev.seq;
    if (ev.type.startsWith('execution.')) {
      const f = executionFieldsOf(ev);
      if (f) this.exec = { ...this.exec, ...f, error: f.error ?? (f.status === 'failed' ? this.exec.error : undefined) };
      return true;
    }
    if (!ev.nodeId) return true;
    const attempt = ev.attempt ?? 1;
    const key = `${ev.nodeId}#${attempt}`;
    let r = this.runs.get(key);
    if (!r) {
      r = { attempt, logs: [], nodeId: ev.nodeId };
      this.runs.set(key, r);
    }
    const p = ev.payload ?? {};
    switch (ev.type) {
      case 'node.started':
        Object.assign(r, { finishedAt: null, startedAt: ev.time, status: 'running', wakeAt: null });
        break;
      case 'node.succeeded':
        Object.assign(r, { durationMs: num(p.durationMs), finishedAt: ev.time, port: str(p.port), status: 'succeeded', wakeAt: null });
        break;
      case 'node.failed': {
        const handled = str(p.handled);
        Object.assign(r, {
          durationMs: num(p.durationMs) ?? r.durationMs,
          error: { code: str(p.code) || undefined, message: str(p.error) ?? 'failed' },
          finishedAt: ev.time,
          port: handled === 'errorPort' ? 'error' : handled === 'continue' ? 'out' : r.port,
          status: 'failed',
          wakeAt: null,
        });
        break;
      }
      case 'node.retrying':
        Object.assign(r, {
          error: { code: str(p.code) || undefined, message: str(p.error) ?? 'failed' },
          finishedAt: ev.time,
          status: 'failed',
          wakeAt: addMs(ev.time, num(p.delayMs)) ?? null,
        });
        break;
      case 'node.waiting':
        Object.assign(r, { status: 'waiting', wakeAt: str(p.wakeAt) ?? null });
        break;
      case 'node.skipped':
        Object.assign(r, { finishedAt: ev.time, status: 'skipped' });
        break;
      case 'node.canceled':
        Object.assign(r, { finishedAt: ev.time, status: 'canceled', wakeAt: null });
        break;
      case 'node.log':
        r.logs.push({ level: str(p.level) ?? 'info', message: str(p.message) ?? '', time: ev.time });
        break;
      default:
        break;
    }
    return true;
  }

  /** patch returns detail with the overlay applied (detail itself when there is nothing to apply). */
  patch(detail: ExecutionDetailFromAPI): ExecutionDetailFromAPI {
    if (this.lastSeq === 0) return detail;
    const out: ExecutionDetailFromAPI = { ...detail };
    const e = this.exec;
    if (e.status && !(isTerminal(detail.status) && !isTerminal(e.status))) {
      out.status = e.status;
      if (e.startedAt !== undefined && !detail.startedAt) out.startedAt = e.startedAt;
      if (e.finishedAt !== undefined) out.finishedAt ??= e.finishedAt;
      if (e.durationMs !== undefined) out.durationMs ??= e.durationMs;
      if (e.error && !detail.error) out.error = e.error;
      if (e.wakeAt === null) delete out.wakeAt;
      else if (e.wakeAt !== undefined) out.wakeAt = e.wakeAt;
    }
    if (this.runs.size > 0) {
      const list = [...(detail.nodeRuns ?? [])];
      const index = new Map(list.map((r, i) => [`${r.nodeId}#${r.attempt}`, i]));
      for (const [key, f] of this.runs) {
        const i = index.get(key);
        const base: NodeRunFromAPI = i === undefined ? newRun(f) : list[i]!;
        const merged = mergeRun(base, f);
        if (i === undefined) {
          index.set(key, list.length);
          list.push(merged);
        } else list[i] = merged;
      }
      out.nodeRuns = list;
    }
    return out;
  }
}

function newRun(f: RunFields): NodeRunFromAPI {
  return { attempt: f.attempt, inputBytes: 0, inputTruncated: false, nodeId: f.nodeId, outputBytes: 0, outputTruncated: false, status: f.status ?? 'pending' };
}

function mergeRun(base: NodeRunFromAPI, f: RunFields): NodeRunFromAPI {
  const r: NodeRunFromAPI = { ...base };
  const keepBase = TERMINAL_RUN.has(base.status) && (!f.status || !TERMINAL_RUN.has(f.status));
  if (f.status && !keepBase) {
    r.status = f.status;
    if (f.startedAt !== undefined) r.startedAt = f.startedAt;
    if (f.finishedAt === null) delete r.finishedAt;
    else if (f.finishedAt !== undefined) r.finishedAt = f.finishedAt;
    if (f.durationMs !== undefined) r.durationMs = f.durationMs;
    else if (f.status === 'running' || f.status === 'waiting') delete r.durationMs;
    if (f.port !== undefined) r.port = f.port;
    if (f.error && !(base.error && base.status === f.status)) r.error = f.error;
    if (f.wakeAt === null) delete r.wakeAt;
    else if (f.wakeAt !== undefined) r.wakeAt = f.wakeAt;
  }
  if (!r.logsTruncated && f.logs.length > (r.logs?.length ?? 0)) r.logs = f.logs;
  return r;
}

// --- execution lists ------------------------------------------------------------------------------

/** ListPatchResult says what patching one cached list did and whether it needs a refetch to be exact. */
export interface ListPatchResult {
  page: ExecutionPage;
  refetch: boolean;
}

function matches(params: ExecutionListParams, ev: LiveEvent): boolean {
  return !params.workflowId || params.workflowId === ev.workflowId;
}

/** belongs reports whether a new execution goes in a list with these params (its parent filter). */
function belongs(params: ExecutionListParams, e: ExecutionFromAPI): boolean {
  return !params.parentExecutionId || params.parentExecutionId === e.parentExecutionId;
}

/** newExecutionFrom is the list row an execution.queued event describes. */
export function newExecutionFrom(ev: LiveEvent): ExecutionFromAPI | null {
  if (ev.type !== 'execution.queued' || !ev.workflowId) return null;
  const p = ev.payload ?? {};
  const e: ExecutionFromAPI = {
    createdAt: ev.time,
    id: ev.executionId,
    status: 'queued',
    trigger: { kind: asTriggerKind(p.trigger) },
    workflowId: ev.workflowId,
    workflowVersion: num(p.workflowVersion) ?? 0,
  };
  const node = str(p.triggerNode);
  if (node) e.trigger.node = node;
  const retryOf = str(p.retryOf);
  if (retryOf) e.retryOf = retryOf;
  const parent = str(p.parentExecutionId);
  if (parent) e.parentExecutionId = parent;
  const parentNode = str(p.parentNodeId);
  if (parentNode) e.parentNodeId = parentNode;
  return e;
}

/**
 * patchList applies a burst of execution-level events to one cached page of the list with those
 * params: new executions go on top of the first page (which keeps its size), statuses change in
 * place, rows leave a status-filtered page when they stop matching. When the page cannot be made
 * exact locally (a row was pushed off a full page, or a row now matches a status filter), it asks
 * for a refetch.
 */
export function patchList(page: ExecutionPage, params: ExecutionListParams, events: readonly LiveEvent[]): ListPatchResult {
  let items = page.items;
  let refetch = false;
  let changed = false;
  const limit = params.limit ?? 25;
  for (const ev of events) {
    if (!matches(params, ev)) continue;
    const fields = executionFieldsOf(ev);
    if (!fields) continue;
    const i = items.findIndex((x) => x.id === ev.executionId);
    if (i < 0) {
      const fresh = newExecutionFrom(ev);
      if (fresh && !belongs(params, fresh)) continue;
      if (fresh && !params.cursor && (!params.status || params.status === 'queued')) {
        items = [fresh, ...items];
        changed = true;
        if (items.length > limit) {
          items = items.slice(0, limit);
          refetch = true;
        }
      } else if (!params.cursor && params.status === fields.status && !params.parentExecutionId) {
        refetch = true;
      }
      continue;
    }
    const cur = items[i]!;
    if (ev.type === 'execution.queued') continue;
    if (isTerminal(cur.status) && fields.status && !isTerminal(fields.status)) continue;
    const next: ExecutionFromAPI = { ...cur, status: fields.status ?? cur.status };
    if (fields.startedAt) next.startedAt = fields.startedAt;
    if (fields.finishedAt) next.finishedAt = fields.finishedAt;
    if (fields.durationMs !== undefined) next.durationMs = fields.durationMs;
    if (fields.error && !cur.error) next.error = fields.error;
    if (fields.wakeAt === null) delete next.wakeAt;
    else if (fields.wakeAt !== undefined) next.wakeAt = fields.wakeAt;
    items = params.status && next.status !== params.status ? items.filter((_, j) => j !== i) : items.map((x, j) => (j === i ? next : x));
    changed = true;
  }
  return { page: changed ? { ...page, items } : page, refetch };
}

/** listParamsOf returns the params of an execution list's query key, or null for any other key. */
export function listParamsOf(queryKey: readonly unknown[]): ExecutionListParams | null {
  const [a, b, params] = queryKey;
  return a === executionQueries.all()[0] && b === 'list' && typeof params === 'object' && params !== null ? (params as ExecutionListParams) : null;
}

/**
 * applyToLists patches every cached execution list with a burst of events and returns the lists
 * (query hashes and keys) that need a refetch to be exact.
 */
export function applyToLists(queryClient: QueryClient, events: readonly LiveEvent[]): { key: readonly unknown[]; hash: string }[] {
  const refetch: { key: readonly unknown[]; hash: string }[] = [];
  for (const q of queryClient.getQueryCache().findAll({ queryKey: [...executionQueries.all(), 'list'] })) {
    const params = listParamsOf(q.queryKey);
    const data = q.state.data as ExecutionPage | undefined;
    if (!params || !data) continue;
    const res = patchList(data, params, events);
    if (res.page !== data) queryClient.setQueryData(q.queryKey, res.page);
    if (res.refetch) refetch.push({ hash: q.queryHash, key: q.queryKey });
  }
  return refetch;
}

// --- following an execution -----------------------------------------------------------------------

/** REFETCH_INTERVAL_MS is the least time between two refetches a burst of events causes. */
export const REFETCH_INTERVAL_MS = 1000;

interface Follower {
  getters: Set<() => string | null>;
  release: () => void;
}

const followers = new WeakMap<QueryClient, Map<string, Follower>>();

/** LiveSource is the part of LiveClient the cache needs (a LiveClient, or a fake in tests). */
export type LiveSource = Pick<LiveClient, 'subscribe'>;

/**
 * followExecution keeps the cached detail of a running execution up to date from its live events
 * until release is called by every follower. inspecting names the node whose input and output are
 * on screen: when that node starts or finishes, the detail is refetched (throttled) for what an
 * event does not carry. On execution.finished the detail is refetched once.
 */
export function followExecution(live: LiveSource, queryClient: QueryClient, id: string, inspecting: () => string | null = () => null): () => void {
  let byId = followers.get(queryClient);
  if (!byId) {
    byId = new Map();
    followers.set(queryClient, byId);
  }
  let f = byId.get(id);
  if (!f) f = startFollower(live, queryClient, id, byId);
  f.getters.add(inspecting);
  const mine = f;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    mine.getters.delete(inspecting);
    if (mine.getters.size === 0) mine.release();
  };
}

function startFollower(live: LiveSource, queryClient: QueryClient, id: string, byId: Map<string, Follower>): Follower {
  const overlay = new ExecutionOverlay();
  const detailKey = executionQueries.detail(id).queryKey;
  const throttle = new Throttle(REFETCH_INTERVAL_MS);
  const getters = new Set<() => string | null>();
  const refetch = () => {
    void queryClient.invalidateQueries({ exact: true, queryKey: detailKey });
    void queryClient.invalidateQueries({ queryKey: [...executionQueries.all(), 'nodeRuns', id] });
  };
  const batcher = new Batcher<LiveEvent>((events) => {
    queryClient.setQueryData(detailKey, (old: ExecutionDetailFromAPI | undefined) => (old ? overlay.patch(old) : old));
    if (events.some((e) => e.type === 'execution.finished')) {
      throttle.cancel();
      refetch();
      return;
    }
    const shown = new Set([...getters].map((g) => g()).filter((n): n is string => !!n));
    if (events.some((e) => e.nodeId && shown.has(e.nodeId) && INSPECTED_TYPES.has(e.type))) throttle.schedule('detail', refetch);
  });
  const patchFetched = (d: ExecutionDetailFromAPI) => overlay.patch(d);
  liveDetailPatches.set(id, patchFetched);
  const unsubscribe = live.subscribe(
    { executionId: id },
    {
      onEvent: (ev) => {
        if (overlay.apply(ev)) batcher.add(ev);
      },
    },
    { afterSeq: 0 },
  );
  const f: Follower = {
    getters,
    release: () => {
      unsubscribe();
      batcher.flush();
      throttle.cancel();
      if (liveDetailPatches.get(id) === patchFetched) liveDetailPatches.delete(id);
      if (byId.get(id) === f) byId.delete(id);
    },
  };
  byId.set(id, f);
  return f;
}

/** INSPECTED_TYPES are the node events after which an inspected node's input or output may have changed. */
const INSPECTED_TYPES: ReadonlySet<string> = new Set(['node.started', 'node.succeeded', 'node.failed', 'node.retrying']);

// --- following execution lists --------------------------------------------------------------------

const listThrottles = new WeakMap<QueryClient, Throttle>();

function listThrottle(queryClient: QueryClient): Throttle {
  let t = listThrottles.get(queryClient);
  if (!t) {
    t = new Throttle(REFETCH_INTERVAL_MS);
    listThrottles.set(queryClient, t);
  }
  return t;
}

/** refetchLists refetches (throttled) the shown execution lists of one workflow, or all of them. */
export function refetchLists(queryClient: QueryClient, workflowId?: string): void {
  const throttle = listThrottle(queryClient);
  for (const q of queryClient.getQueryCache().findAll({ queryKey: [...executionQueries.all(), 'list'], type: 'active' })) {
    const params = listParamsOf(q.queryKey);
    if (!params || (workflowId && params.workflowId && params.workflowId !== workflowId)) continue;
    const key = q.queryKey;
    throttle.schedule(q.queryHash, () => void queryClient.refetchQueries({ exact: true, queryKey: key, type: 'active' }));
  }
}

/**
 * followLists keeps the cached execution lists up to date from the execution-level events of one
 * workflow (or of all executions): bursts are applied once per frame, and a list that cannot be
 * patched exactly is refetched at most once a second. onEvent sees every event.
 */
export function followLists(live: LiveSource, queryClient: QueryClient, workflowId: string | undefined, onEvent?: (ev: LiveEvent) => void): () => void {
  const throttle = listThrottle(queryClient);
  const batcher = new Batcher<LiveEvent>((events) => {
    for (const { hash, key } of applyToLists(queryClient, events)) {
      throttle.schedule(hash, () => void queryClient.refetchQueries({ exact: true, queryKey: key, type: 'active' }));
    }
  });
  let first = true;
  const unsubscribe = live.subscribe(workflowId ? { workflowId } : { all: true }, {
    onEvent: (ev) => {
      batcher.add(ev);
      onEvent?.(ev);
    },
    // What happened between the lists' fetch and the subscription's start, or while a resumed
    // subscription had no position, is read once.
    onGap: () => refetchLists(queryClient, workflowId),
    onLive: () => {
      if (first) refetchLists(queryClient, workflowId);
      first = false;
    },
  });
  return () => {
    unsubscribe();
    batcher.flush();
  };
}
