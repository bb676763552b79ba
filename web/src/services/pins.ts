import { queryOptions } from '@tanstack/react-query';

import type { components } from './api.gen';
import type { ExecutionDetailFromAPI, TriggerKind } from './executions';
import { request } from './http';

/**
 * PinFromAPI is one node's pinned output: what test runs use instead of running the node. Pins are
 * stored apart from the workflow definition and production runs never read them.
 */
export type PinFromAPI = components['schemas']['Pin'];

type PinList = components['schemas']['PinsOutputBody'];

/**
 * TestRunRequest is what POST /workflows/{id}/test-runs takes: node and mode ("node" runs it alone,
 * "upTo", the default, with what it needs), the run whose outputs feed the nodes that do not run, and
 * the trigger's input. Without node the whole workflow runs, pinned nodes excepted.
 */
export type TestRunRequest = components['schemas']['TestRunInputBody'];

/** TestRunMode is what a test run of one node runs: the node alone, or the node and what it needs. */
export type TestRunMode = NonNullable<TestRunRequest['mode']>;

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
  const body: components['schemas']['PutPinInputBody'] = { data };
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
  const body: components['schemas']['PinFromExecutionInputBody'] = { executionId };
  if (nodes) body.nodes = nodes;
  return (await request<PinList>(`${pinsPath(workflowId)}/from-execution`, { body, method: 'POST' })).data.items ?? [];
}

/** startTestRun starts a test run: an execution that uses pinned data and never runs pinned nodes. */
export async function startTestRun(workflowId: string, req: TestRunRequest): Promise<ExecutionDetailFromAPI> {
  return (await request<ExecutionDetailFromAPI>(`/api/v1/workflows/${encodeURIComponent(workflowId)}/test-runs`, { body: req, method: 'POST' })).data;
}

/** isTestRun reports whether an execution is a test run (it may have used pinned data). */
export function isTestRun(exec: { trigger: { kind: TriggerKind } }): boolean {
  return exec.trigger.kind === 'test';
}
