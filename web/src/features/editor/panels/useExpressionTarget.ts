import { useQuery } from '@tanstack/react-query';
import { useContext, useMemo } from 'react';

import type { ExpressionTarget } from '@components/ExpressionScope';
import type { ExpressionScope } from '@lib/expressionLang';
import { executionQueries } from '@services/executions';
import { expressionQueries } from '@services/expressions';
import { outputShapes } from '@lib/outputShape';

import { RunOverlayContext, useEditorStore } from '../EditorContext';

/**
 * useExpressionTarget gives a node's expression fields their preview target and completion data:
 * the run painted on the canvas, or else the workflow's latest run, and what that run gave the node
 * (read by the server as the engine builds it). What the run does not show — no run yet, or nodes it
 * did not reach — comes from the output schemas of the node types (outputShapes).
 */
export function useExpressionTarget(nodeId: string): ExpressionTarget {
  const workflowId = useEditorStore((s) => s.workflowId);
  const overlay = useContext(RunOverlayContext);
  const painted = overlay ? (overlay.values().next().value?.executionId ?? null) : null;
  const latest = useQuery({ ...executionQueries.list({ limit: 1, workflowId }), enabled: !painted && workflowId !== '' });
  const executionId = painted ?? latest.data?.items[0]?.id ?? null;
  const scope = useQuery({ ...expressionQueries.scope(workflowId, executionId, nodeId), enabled: workflowId !== '' });
  const nodes = useEditorStore((s) => s.nodes);
  const edges = useEditorStore((s) => s.edges);
  const catalog = useEditorStore((s) => s.catalog);
  // Worked out when completion first asks, once per graph and run: over hundreds of nodes it takes
  // milliseconds that opening the panel need not spend.
  const shaped = useMemo(() => {
    let memo: ExpressionScope | undefined;
    return () =>
      (memo ??= outputShapes(
        scope.data ?? {},
        nodeId,
        nodes.map((n) => ({ config: n.data.config, id: n.id, type: n.data.type })),
        edges,
        (type) => catalog.get(type)?.outputSchema,
      ));
  }, [scope.data, nodeId, nodes, edges, catalog]);
  return useMemo(() => ({ executionId, nodeId, scope: shaped, workflowId }), [executionId, nodeId, shaped, workflowId]);
}
