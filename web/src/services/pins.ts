import { queryOptions } from '@tanstack/react-query';

import type { ExecutionDetailFromAPI } from './executions';
import { request } from './http';

/**
 * PinFromAPI is one node's pinned output: what test runs use instead of running the node. Pins are
 * stored apart from the workflow definition and production runs never read them.
 */
export interface PinFromAPI {
  /** bytes is the size of data's JSON. */
  bytes: number;
  data: unknown;
  nodeId: string;
  /** port is the output port the pinned data leaves by (an If node has "true" and "false"). */
  port: string;
  updatedAt: string;
}

interface PinList {
  items?: PinFromAPI[] | null;
}

/** TestRunMode is what a test run of one node runs: the node alone, or the node and what it needs. */
export type TestRunMode = 'node' | 'upTo';

/** TestRunRequest is what POST /workflows/{id}/test-runs takes. */
export interface TestRunRequest {
  /** executionId is the run whose outputs feed the nodes that do not run (default: the latest). */
  executionId?: string;
  input?: unknown;
  /** mode says what runs when node is given; "upTo" when left out. */
  mode?: TestRunMode;
  /** node is the node to test; without it the whole workflow runs, pinned nodes excepted. */
  node?: string;
}

const pinsPath = (workflowId: string) => `/api/v1/workflows/${encodeURIComponent(workflowId)}/pins`;

/** pinQueries holds the query factories for a workflow's pinned data. */
export const pinQueries = {
  /** all is the key of every pin query of one workflow (what a change invalidates). */
  all: (workflowId: string) => ['pins', workflowId] as const,
  /** list reads a workflow's pins, ordered by node id. */
  list: (workflowId: string) =>
    queryOptions({
      queryFn: async ({ signal }) => (await request<PinList>(pinsPath(workflowId), { signal })).data.items ?? [],
      queryKey: [...pinQueries.all(workflowId), 'list'] as const,
    }),
};

/** pinsByNode indexes pins by node id. */
export function pinsByNode(pins: readonly PinFromAPI[] | undefined): ReadonlyMap<string, PinFromAPI> {
  return new Map((pins ?? []).map((p) => [p.nodeId, p]));
}

/** putPin pins data as a node's output (port: the node's first output port when left out). */
export async function putPin(workflowId: string, nodeId: string, data: unknown, port?: string): Promise<PinFromAPI> {
  const body: { data: unknown; port?: string } = { data };
  if (port) body.port = port;
  return (await request<PinFromAPI>(`${pinsPath(workflowId)}/${encodeURIComponent(nodeId)}`, { body, method: 'PUT' })).data;
}

/** deletePin unpins a node's output; the server answers 404 when it has no pin. */
export async function deletePin(workflowId: string, nodeId: string): Promise<void> {
  await request<undefined>(`${pinsPath(workflowId)}/${encodeURIComponent(nodeId)}`, { method: 'DELETE' });
}

/**
 * pinFromExecution pins, on the server, the outputs the named nodes had in an execution (its trigger
 * when nodes is left out: "debug in editor"). No data goes through the browser. It answers with all
 * the workflow's pins afterwards.
 */
export async function pinFromExecution(workflowId: string, executionId: string, nodes?: string[]): Promise<PinFromAPI[]> {
  const body: { executionId: string; nodes?: string[] } = { executionId };
  if (nodes) body.nodes = nodes;
  return (await request<PinList>(`${pinsPath(workflowId)}/from-execution`, { body, method: 'POST' })).data.items ?? [];
}

/** startTestRun starts a test run: an execution that uses pinned data and never runs pinned nodes. */
export async function startTestRun(workflowId: string, req: TestRunRequest): Promise<ExecutionDetailFromAPI> {
  return (await request<ExecutionDetailFromAPI>(`/api/v1/workflows/${encodeURIComponent(workflowId)}/test-runs`, { body: req, method: 'POST' })).data;
}

/** isTestRun reports whether an execution is a test run (it may have used pinned data). */
export function isTestRun(exec: { trigger: { kind: string } }): boolean {
  return exec.trigger.kind === 'test';
}
