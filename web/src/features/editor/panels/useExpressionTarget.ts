import { useQuery } from '@tanstack/react-query';
import { useContext, useMemo } from 'react';

import type { ExpressionTarget } from '@components/ExpressionScope';
import { executionQueries } from '@services/executions';
import { expressionQueries } from '@services/expressions';

import { RunOverlayContext, useEditorStore } from '../EditorContext';

/**
 * useExpressionTarget gives a node's expression fields their preview target and completion data:
 * the run painted on the canvas, or else the workflow's latest run, and what that run gave the node
 * (read by the server as the engine builds it).
 */
export function useExpressionTarget(nodeId: string): ExpressionTarget {
  const workflowId = useEditorStore((s) => s.workflowId);
  const overlay = useContext(RunOverlayContext);
  const painted = overlay ? (overlay.values().next().value?.executionId ?? null) : null;
  const latest = useQuery({ ...executionQueries.list({ limit: 1, workflowId }), enabled: !painted && workflowId !== '' });
  const executionId = painted ?? latest.data?.items[0]?.id ?? null;
  const scope = useQuery({ ...expressionQueries.scope(workflowId, executionId, nodeId), enabled: workflowId !== '' });
  return useMemo(() => ({ executionId, nodeId, scope: scope.data ?? {}, workflowId }), [executionId, nodeId, scope.data, workflowId]);
}
