import { keepPreviousData, queryOptions } from '@tanstack/react-query';

import type { components } from './api.gen';
import { request } from './http';

/** ExecutionFromAPI is an execution in a list. */
export type ExecutionFromAPI = components['schemas']['Execution'];
/** ExecutionDetailFromAPI is one execution with its data and every node run. */
export type ExecutionDetailFromAPI = components['schemas']['ExecutionDetail'];
/** NodeRunFromAPI is one attempt of one node. */
export type NodeRunFromAPI = components['schemas']['NodeRun'];
/** ExecutionStatus is the state of an execution. */
export type ExecutionStatus = ExecutionFromAPI['status'];
/** NodeRunStatus is the state of a node run. */
export type NodeRunStatus = NodeRunFromAPI['status'];

/** EXECUTION_STATUSES lists every execution status, for filters. */
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled'];

/** isTerminal reports whether an execution has finished for good. */
export function isTerminal(status: ExecutionStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'canceled';
}

/** POLL_INTERVAL_MS is how often a running execution is re-read (there is no push channel yet). */
export const POLL_INTERVAL_MS = 400;

/** ExecutionListParams filters and pages the execution list. */
export interface ExecutionListParams {
  cursor?: string;
  limit?: number;
  status?: ExecutionStatus;
  workflowId?: string;
}

/** ExecutionPage is one page of the execution list. */
export interface ExecutionPage {
  items: ExecutionFromAPI[];
  nextCursor: string | null;
}

/** executionQueries holds the query factories for executions. */
export const executionQueries = {
  all: () => ['executions'] as const,
  detail: (id: string) =>
    queryOptions({
      queryFn: async ({ signal }) => (await request<ExecutionDetailFromAPI>(`/api/v1/executions/${encodeURIComponent(id)}`, { signal })).data,
      queryKey: [...executionQueries.all(), 'detail', id] as const,
      refetchInterval: (q) => (q.state.data && isTerminal(q.state.data.status) ? false : POLL_INTERVAL_MS),
    }),
  list: (params: ExecutionListParams) =>
    queryOptions({
      placeholderData: keepPreviousData,
      queryFn: async ({ signal }): Promise<ExecutionPage> => {
        const res = await request<components['schemas']['ListExecutionsOutputBody']>('/api/v1/executions', {
          query: { cursor: params.cursor, limit: params.limit ?? 25, status: params.status, workflowId: params.workflowId },
          signal,
        });
        return { items: res.data.items ?? [], nextCursor: res.data.nextCursor ?? null };
      },
      queryKey: [...executionQueries.all(), 'list', params] as const,
      refetchInterval: (q) => (q.state.data?.items.some((e) => !isTerminal(e.status)) ? 1000 : false),
    }),
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

/** NodeRunSummary is what the canvas paints on a node: its latest attempt. */
export interface NodeRunSummary {
  attempts: number;
  durationMs?: number;
  latest: NodeRunFromAPI;
  runs: NodeRunFromAPI[];
  status: NodeRunStatus;
}

/** summarizeRuns groups node runs by node, attempts in order, the latest last. */
export function summarizeRuns(runs: readonly NodeRunFromAPI[] | null | undefined): Map<string, NodeRunSummary> {
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
    out.set(id, { attempts: latest.attempt, durationMs: latest.durationMs, latest, runs: list, status: latest.status });
  }
  return out;
}
