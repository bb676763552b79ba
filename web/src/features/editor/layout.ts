import { Graph, layout } from '@dagrejs/dagre';
import type { XYPosition } from '@xyflow/react';

import type { DefinitionFromAPI } from '@services/workflows';

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

/** PLACED_GAP is the space left between the nodes that had positions and those laid out below them. */
const PLACED_GAP = 120;

/**
 * placeUnpositioned gives the nodes of a definition that have no position one (an imported or
 * hand-written file): with dagre's layout of the whole graph when none has one, and otherwise with a
 * layout of those alone, below the nodes that have one. Nodes are never left stacked on one spot.
 */
export function placeUnpositioned(def: DefinitionFromAPI): DefinitionFromAPI {
  const nodes = def.nodes ?? [];
  const missing = nodes.filter((n) => !n.position);
  if (missing.length === 0) return def;
  const ids = new Set(missing.map((n) => n.id));
  const edges = (def.edges ?? []).filter((e) => ids.has(e.source) && ids.has(e.target)).map((e) => ({ source: e.source, sourceHandle: e.sourcePort, target: e.target }));
  const pos = layoutGraph(missing.map((n) => ({ id: n.id })), edges);
  const placed = nodes.filter((n) => n.position);
  const dy = placed.length > 0 ? Math.max(...placed.map((n) => n.position!.y)) + 80 + PLACED_GAP : 0;
  const dx = placed.length > 0 ? Math.min(...placed.map((n) => n.position!.x)) : 0;
  return {
    ...def,
    nodes: nodes.map((n) => {
      const p = n.position ? undefined : pos.get(n.id);
      return p ? { ...n, position: { x: p.x + dx, y: p.y + dy } } : n;
    }),
  };
}
