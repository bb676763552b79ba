import { infiniteQueryOptions, keepPreviousData, queryOptions } from '@tanstack/react-query';

import type { components } from './api.gen';
import { request } from './http';

/** ExecutionFromAPI is an execution in a list. */
export type ExecutionFromAPI = components['schemas']['Execution'];
/** ExecutionDetailFromAPI is one execution with its data and every node run. */
export type ExecutionDetailFromAPI = components['schemas']['ExecutionDetail'];
/** NodeRunFromAPI is one attempt of one node; large values come as previews (see ValueRef). */
export type NodeRunFromAPI = components['schemas']['NodeRun'];
/** NodeRunPageFromAPI is one page of an execution's node runs. */
export type NodeRunPageFromAPI = components['schemas']['ListNodeRunsOutputBody'];
/** LogEntryFromAPI is one message a node logged. */
export type LogEntryFromAPI = components['schemas']['LogEntry'];
/** ExecutionStatus is the state of an execution. */
export type ExecutionStatus = ExecutionFromAPI['status'];
/** NodeRunStatus is the state of a node run. */
export type NodeRunStatus = NodeRunFromAPI['status'];
/** TriggerKind is what started an execution. */
export type TriggerKind = ExecutionFromAPI['trigger']['kind'];

/** TRIGGER_KINDS lists every trigger kind. */
export const TRIGGER_KINDS: readonly TriggerKind[] = ['manual', 'webhook', 'schedule', 'message', 'retry', 'call', 'error', 'test'];

/** asTriggerKind reads a trigger kind out of an event payload (manual when unknown). */
export function asTriggerKind(v: unknown): TriggerKind {
  return TRIGGER_KINDS.find((k) => k === v) ?? 'manual';
}

/** EXECUTION_STATUSES lists every execution status, for filters. */
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled'];

/** isTerminal reports whether an execution has finished for good. */
export function isTerminal(status: ExecutionStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'canceled';
}

/**
 * liveDetailPatches holds, per execution followed live, what its live events changed since it was
 * subscribed (services/liveCache.ts): every detail fetched while it is followed goes through it, so
 * a fetch that raced an event does not lose the event.
 */
export const liveDetailPatches = new Map<string, (detail: ExecutionDetailFromAPI) => ExecutionDetailFromAPI>();

/** ExecutionListParams filters and pages the execution list. */
export interface ExecutionListParams {
  cursor?: string;
  limit?: number;
  /** parentExecutionId keeps the sub-workflow runs one execution started. */
  parentExecutionId?: string;
  status?: ExecutionStatus;
  /** trigger keeps executions started this way (manual, webhook, schedule…). */
  trigger?: TriggerKind;
  /** createdAfter and createdBefore (RFC 3339) keep executions created in [after, before). */
  createdAfter?: string;
  createdBefore?: string;
  workflowId?: string;
}

/** ExecutionPage is one page of the execution list. */
export interface ExecutionPage {
  items: ExecutionFromAPI[];
  nextCursor: string | null;
}

/** NODE_RUN_PAGE is how many node runs each further page loads (the execution read carries 50). */
export const NODE_RUN_PAGE = 200;

/** ValueField names a stored value an execution read may send only as a preview. */
export type ValueField = 'error' | 'input' | 'logs' | 'output';

/** ValueRef names one stored value: the execution's own input or output, or a node run attempt's. */
export interface ValueRef {
  attempt?: number;
  executionId: string;
  field: ValueField;
  nodeId?: string;
}

/** valuePath is the endpoint that returns the whole value, as stored. */
export function valuePath(ref: ValueRef): string {
  const exec = `/api/v1/executions/${encodeURIComponent(ref.executionId)}`;
  if (ref.nodeId === undefined) return `${exec}/${ref.field}`;
  return `${exec}/node-runs/${encodeURIComponent(ref.nodeId)}/attempts/${ref.attempt ?? 1}/${ref.field}`;
}

/** StoredValueData is one value as an execution read sends it: whole, or a preview of a larger one. */
export interface StoredValueData {
  /** bytes is the size of the whole value's JSON; 0 when there is none. */
  bytes: number;
  /** preview is the head of the value's JSON text when truncated: not valid JSON on its own. */
  preview?: string;
  truncated: boolean;
  /** value is the whole value when it was small enough to send. */
  value?: unknown;
}

interface HasInput {
  input?: unknown;
  inputBytes: number;
  inputPreview?: string;
  inputTruncated: boolean;
}

interface HasOutput {
  output?: unknown;
  outputBytes: number;
  outputPreview?: string;
  outputTruncated: boolean;
}

/** inputOf is the input of an execution or a node run. */
export function inputOf(x: HasInput): StoredValueData {
  return { bytes: x.inputBytes, preview: x.inputPreview, truncated: x.inputTruncated, value: x.input };
}

/** outputOf is the output of an execution or a node run. */
export function outputOf(x: HasOutput): StoredValueData {
  return { bytes: x.outputBytes, preview: x.outputPreview, truncated: x.outputTruncated, value: x.output };
}

/** fetchValue loads one whole stored value. */
export async function fetchValue(ref: ValueRef, signal?: AbortSignal): Promise<unknown> {
  return (await request<unknown>(valuePath(ref), { signal })).data;
}

/** mergeNodeRuns appends further pages to the first, each attempt once (pages are by node and attempt). */
export function mergeNodeRuns(first: readonly NodeRunFromAPI[] | null | undefined, pages: readonly NodeRunPageFromAPI[]): NodeRunFromAPI[] {
  const seen = new Set<string>();
  const out: NodeRunFromAPI[] = [];
  for (const r of [...(first ?? []), ...pages.flatMap((p) => p.items ?? [])]) {
    const key = `${r.nodeId}#${r.attempt}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
  }
  return out;
}

/** CHILDREN_PAGE is how many child executions each page of a flow.call node's list loads. */
export const CHILDREN_PAGE = 20;

/** executionQueries holds the query factories for executions. */
export const executionQueries = {
  all: () => ['executions'] as const,
  /** children pages through the sub-workflow runs one node of an execution started, newest first. */
  children: (parentId: string, nodeId: string) =>
    infiniteQueryOptions({
      queryFn: async ({ pageParam, signal }): Promise<ExecutionPage> => {
        const res = await request<components['schemas']['ListExecutionsOutputBody']>('/api/v1/executions', {
          query: { cursor: pageParam, limit: CHILDREN_PAGE, parentExecutionId: parentId, parentNodeId: nodeId },
          signal,
        });
        return { items: res.data.items ?? [], nextCursor: res.data.nextCursor ?? null };
      },
      initialPageParam: '',
      getNextPageParam: (last: ExecutionPage) => last.nextCursor || undefined,
      queryKey: [...executionQueries.all(), 'children', parentId, nodeId] as const,
    }),
  detail: (id: string) =>
    queryOptions({
      queryFn: async ({ signal }) => {
        const data = (await request<ExecutionDetailFromAPI>(`/api/v1/executions/${encodeURIComponent(id)}`, { signal })).data;
        return liveDetailPatches.get(id)?.(data) ?? data;
      },
      queryKey: [...executionQueries.all(), 'detail', id] as const,
    }),
  list: (params: ExecutionListParams) =>
    queryOptions({
      placeholderData: keepPreviousData,
      queryFn: async ({ signal }): Promise<ExecutionPage> => {
        const res = await request<components['schemas']['ListExecutionsOutputBody']>('/api/v1/executions', {
          query: {
            createdAfter: params.createdAfter,
            createdBefore: params.createdBefore,
            cursor: params.cursor,
            limit: params.limit ?? 25,
            parentExecutionId: params.parentExecutionId,
            status: params.status,
            trigger: params.trigger,
            workflowId: params.workflowId,
          },
          signal,
        });
        return { items: res.data.items ?? [], nextCursor: res.data.nextCursor ?? null };
      },
      queryKey: [...executionQueries.all(), 'list', params] as const,
    }),
  /** nodeRuns pages through the node runs after the execution read's own (from its nodeRunsNextCursor). */
  nodeRuns: (id: string, after: string) =>
    infiniteQueryOptions({
      queryFn: async ({ pageParam, signal }) =>
        (
          await request<NodeRunPageFromAPI>(`/api/v1/executions/${encodeURIComponent(id)}/node-runs`, {
            query: { cursor: pageParam, limit: NODE_RUN_PAGE },
            signal,
          })
        ).data,
      initialPageParam: after,
      getNextPageParam: (last: NodeRunPageFromAPI) => last.nextCursor || undefined,
      queryKey: [...executionQueries.all(), 'nodeRuns', id, after] as const,
    }),
  /** value loads one whole value; values do not change once written, and large ones leave the cache soon. */
  value: (ref: ValueRef) => {
    const { attempt, executionId, field, nodeId } = ref;
    return queryOptions({
      gcTime: 30_000,
      queryFn: ({ signal }) => fetchValue({ attempt, executionId, field, nodeId }, signal),
      // Outside all(): invalidating executions after a cancel or retry must not reload large values.
      queryKey: ['executionValues', executionId, nodeId ?? '', attempt ?? 0, field] as const,
      staleTime: Infinity,
    });
  },
};

/** RunRequest is what starting a run takes. */
export interface RunRequest {
  input: unknown;
  triggerNode?: string;
}

/** runWorkflow starts an execution of the current version of a workflow. */
export async function runWorkflow(workflowId: string, run: RunRequest): Promise<ExecutionDetailFromAPI> {
  const body: components['schemas']['RunBody'] = { input: run.input };
  if (run.triggerNode) body.triggerNode = run.triggerNode;
  const res = await request<ExecutionDetailFromAPI>(`/api/v1/workflows/${encodeURIComponent(workflowId)}/executions`, {
    body,
    method: 'POST',
  });
  return res.data;
}

/** cancelExecution asks a queued, waiting or running execution to stop. */
export async function cancelExecution(id: string): Promise<void> {
  await request<unknown>(`/api/v1/executions/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
}

/** retryExecution starts a new execution that re-runs the failed nodes of id. */
export async function retryExecution(id: string): Promise<ExecutionDetailFromAPI> {
  return (await request<ExecutionDetailFromAPI>(`/api/v1/executions/${encodeURIComponent(id)}/retry`, { method: 'POST' })).data;
}

/** Decision is an approver's answer to a flow.wait node in approval mode. */
export interface Decision {
  approve: boolean;
  comment?: string;
}

/**
 * decideApproval approves or rejects a waiting flow.wait node in approval mode. The server answers
 * 409 when it was already decided, is not waiting, or the execution has finished, and 403 for a
 * role below editor.
 */
export async function decideApproval(executionId: string, nodeId: string, d: Decision): Promise<ExecutionDetailFromAPI> {
  const body: components['schemas']['DecideInputBody'] = {};
  const comment = d.comment?.trim();
  if (comment) body.comment = comment;
  const path = `/api/v1/executions/${encodeURIComponent(executionId)}/nodes/${encodeURIComponent(nodeId)}/${d.approve ? 'approve' : 'reject'}`;
  return (await request<ExecutionDetailFromAPI>(path, { body, method: 'POST' })).data;
}

/** NodeRunSummary is what the canvas paints on a node: its latest attempt. */
export interface NodeRunSummary {
  attempts: number;
  durationMs?: number;
  /** executionId is the execution the runs belong to, for loading their whole values. */
  executionId: string;
  latest: NodeRunFromAPI;
  runs: NodeRunFromAPI[];
  status: NodeRunStatus;
}

/** summarizeRuns groups node runs by node, attempts in order, the latest last. */
export function summarizeRuns(executionId: string, runs: readonly NodeRunFromAPI[] | null | undefined): Map<string, NodeRunSummary> {
  const by = new Map<string, NodeRunFromAPI[]>();
  for (const r of runs ?? []) {
    const list = by.get(r.nodeId);
    if (list) list.push(r);
    else by.set(r.nodeId, [r]);
  }
  const out = new Map<string, NodeRunSummary>();
  for (const [id, list] of by) {
    list.sort((a, b) => a.attempt - b.attempt || (a.startedAt ?? '').localeCompare(b.startedAt ?? ''));
    const latest = list[list.length - 1]!;
    out.set(id, { attempts: latest.attempt, durationMs: latest.durationMs, executionId, latest, runs: list, status: latest.status });
  }
  return out;
}
