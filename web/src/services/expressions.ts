import { queryOptions } from '@tanstack/react-query';

import type { ExpressionScope, FunctionInfo } from '@lib/expressionLang';

import { request } from './http';

/** EvaluateExpression is what POST /api/v1/expressions/evaluate takes. */
export interface EvaluateExpression {
  context?: Record<string, unknown>;
  executionId?: string;
  expression: string;
  nodeId?: string;
  workflowId?: string;
}

/** ExpressionResultFromAPI is the value of a previewed expression, or its error in plain words. */
export interface ExpressionResultFromAPI {
  durationMs: number;
  error?: { message: string; position?: { end: number; start: number } };
  truncated?: boolean;
  type: 'array' | 'boolean' | 'null' | 'number' | 'object' | 'string';
  /** value is left out when it is null. */
  value?: unknown;
}

/** evaluateExpression previews an expression on the server, against a run's data when one is named. */
export async function evaluateExpression(body: EvaluateExpression, signal?: AbortSignal): Promise<ExpressionResultFromAPI> {
  return (await request<ExpressionResultFromAPI>('/api/v1/expressions/evaluate', { body, method: 'POST', signal })).data;
}

/** SCOPE_EXPRESSION reads, in one evaluation, everything completion proposes from a run. */
const SCOPE_EXPRESSION = '{{ {input: input, trigger: trigger, vars: vars, execution: execution, workflow: workflow, nodes: nodes} }}';

/** scopeFromResult turns the evaluation of SCOPE_EXPRESSION into an ExpressionScope. */
export function scopeFromResult(res: ExpressionResultFromAPI): ExpressionScope {
  if (res.error || res.truncated || res.type !== 'object' || res.value === null || typeof res.value !== 'object') return {};
  const v = res.value as Record<string, unknown>;
  const nodes: Record<string, unknown> = {};
  if (v.nodes && typeof v.nodes === 'object') {
    for (const [id, n] of Object.entries(v.nodes as Record<string, unknown>))
      nodes[id] = n && typeof n === 'object' ? (n as Record<string, unknown>).output : undefined;
  }
  return { execution: v.execution, input: v.input, nodes, trigger: v.trigger, vars: v.vars, workflow: v.workflow };
}

/** expressionQueries holds the query factories of the expression editor. */
export const expressionQueries = {
  all: () => ['expressions'] as const,
  functions: () =>
    queryOptions({
      queryFn: async ({ signal }) => (await request<{ items: FunctionInfo[] | null }>('/api/v1/expressions/functions', { signal })).data.items ?? [],
      queryKey: [...expressionQueries.all(), 'functions'] as const,
      staleTime: Infinity,
    }),
  /** scope is the data a node's expressions see in a run (or, without one, in the workflow). */
  scope: (workflowId: string, executionId: string | null, nodeId: string) =>
    queryOptions({
      queryFn: async ({ signal }) =>
        scopeFromResult(
          await evaluateExpression(
            { executionId: executionId ?? undefined, expression: SCOPE_EXPRESSION, nodeId, workflowId: workflowId || undefined },
            signal,
          ),
        ),
      queryKey: [...expressionQueries.all(), 'scope', workflowId, executionId, nodeId] as const,
      retry: false,
      staleTime: 60_000,
    }),
};
