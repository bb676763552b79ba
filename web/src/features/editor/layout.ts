import { Graph, layout } from '@dagrejs/dagre';
import type { XYPosition } from '@xyflow/react';

import { NODE_WIDTH } from './store';

/** LayoutNode is what the layout needs of a node: its id and measured size. */
export interface LayoutNode {
  height?: number;
  id: string;
  width?: number;
}

/** LayoutEdge is an edge as the layout sees it, with the source port to keep branch order stable. */
export interface LayoutEdge {
  source: string;
  sourceHandle?: string | null;
  target: string;
}

/**
 * layoutGraph places nodes left to right in layers (dagre's Sugiyama layout) and returns the new
 * top-left position of each node. Unconnected nodes get a place too.
 */
export function layoutGraph(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[]): Map<string, XYPosition> {
  const g = new Graph<Record<string, unknown>, { height: number; width: number; x?: number; y?: number }, Record<string, unknown>>({
    multigraph: true,
  });
  g.setGraph({ marginx: 0, marginy: 0, nodesep: 36, rankdir: 'LR', ranksep: 70 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set<string>();
  for (const n of nodes) {
    ids.add(n.id);
    g.setNode(n.id, { height: n.height ?? 80, width: n.width ?? NODE_WIDTH });
  }
  edges.forEach((e, i) => {
    if (ids.has(e.source) && ids.has(e.target)) g.setEdge(e.source, e.target, {}, `${i}:${e.sourceHandle ?? ''}`);
  });
  layout(g);
  const out = new Map<string, XYPosition>();
  for (const n of nodes) {
    const p = g.node(n.id);
    if (p && p.x !== undefined && p.y !== undefined) {
      out.set(n.id, { x: Math.round(p.x - p.width / 2), y: Math.round(p.y - p.height / 2) });
    }
  }
  return out;
}
