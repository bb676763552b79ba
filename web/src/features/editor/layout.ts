import { Graph, layout } from '@dagrejs/dagre';
import type { XYPosition } from '@xyflow/react';

import type { DefinitionFromAPI } from '@services/workflows';

import { NODE_WIDTH } from './store';

/** LayoutNode is what the layout needs of a node: its id and measured size. */
export interface LayoutNode {
  height?: number;
  id: string;
  /** ports are the node's output port names, top to bottom; branches are laid out in this order. */
  ports?: readonly string[];
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
 * top-left position of each node. Unconnected nodes get a place too. The children of one node that
 * land in the same layer keep the order of the ports they hang from (a flow.if's true branch above its
 * false branch), whatever order dagre's crossing reduction picked.
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
  const boxes = new Map<string, Box>();
  for (const n of nodes) {
    const p = g.node(n.id);
    if (p && p.x !== undefined && p.y !== undefined) boxes.set(n.id, { h: p.height, x: p.x, y: p.y });
  }
  orderBranches(nodes, edges, boxes);
  const out = new Map<string, XYPosition>();
  for (const n of nodes) {
    const b = boxes.get(n.id);
    if (b) {
      const p = g.node(n.id);
      out.set(n.id, { x: Math.round(b.x - p.width / 2), y: Math.round(b.y - b.h / 2) });
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
  const edges = (def.edges ?? [])
    .filter((e) => ids.has(e.source) && ids.has(e.target))
    .map((e) => ({ source: e.source, sourceHandle: e.sourcePort, target: e.target }));
  const pos = layoutGraph(
    missing.map((n) => ({ id: n.id })),
    edges,
  );
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

/** Box is a laid-out node: its centre and height. */
interface Box {
  h: number;
  x: number;
  y: number;
}

const NODE_SEP = 36;

/**
 * orderBranches swaps the vertical places of siblings (nodes of one layer fed by the same node) so that
 * they follow the order of the source's ports, then pushes apart the nodes of each touched layer that
 * the swap made overlap.
 */
function orderBranches(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[], boxes: Map<string, Box>) {
  const portsOf = new Map(nodes.map((n) => [n.id, n.ports ?? []]));
  const parents = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!boxes.has(e.source) || !boxes.has(e.target)) continue;
    if (!parents.has(e.target)) parents.set(e.target, new Set());
    parents.get(e.target)!.add(e.source);
  }
  // children[source][layer x] = [{id, port index}] for targets whose only parent is source.
  const groups = new Map<string, Map<number, { id: string; rank: number }[]>>();
  edges.forEach((e, i) => {
    const t = boxes.get(e.target);
    if (!t || !boxes.has(e.source) || parents.get(e.target)!.size !== 1) return;
    const ports = portsOf.get(e.source) ?? [];
    const port = ports.indexOf(e.sourceHandle ?? 'out');
    // Ports the node does not list come after the listed ones, in edge order.
    const rank = (port < 0 ? ports.length : port) * (edges.length + 1) + i;
    const byLayer = groups.get(e.source) ?? new Map<number, { id: string; rank: number }[]>();
    groups.set(e.source, byLayer);
    const list = byLayer.get(t.x) ?? [];
    byLayer.set(t.x, list);
    if (!list.some((c) => c.id === e.target)) list.push({ id: e.target, rank });
  });
  const touched = new Set<number>();
  for (const byLayer of groups.values()) {
    for (const [x, list] of byLayer) {
      if (list.length < 2) continue;
      const slots = list.map((c) => boxes.get(c.id)!.y).sort((a, b) => a - b);
      const wanted = [...list].sort((a, b) => a.rank - b.rank);
      wanted.forEach((c, i) => {
        const b = boxes.get(c.id)!;
        if (b.y !== slots[i]) {
          boxes.set(c.id, { ...b, y: slots[i]! });
          touched.add(x);
        }
      });
    }
  }
  if (touched.size === 0) return;
  for (const x of touched) {
    const layer = [...boxes.entries()].filter(([, b]) => b.x === x).sort((a, b) => a[1].y - b[1].y);
    for (let i = 1; i < layer.length; i++) {
      const prev = layer[i - 1]![1];
      const [id, cur] = layer[i]!;
      const minY = prev.y + prev.h / 2 + NODE_SEP + cur.h / 2;
      if (cur.y < minY) {
        const next = { ...cur, y: minY };
        boxes.set(id, next);
        layer[i] = [id, next];
      }
    }
  }
}
