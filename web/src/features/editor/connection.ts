import type { Catalog } from '@services/nodeTypes';

import { edgeId, inputPorts, outputPorts, type WorkflowEdge, type WorkflowNode } from './graphModel';

/** ConnectionCheck is whether a connection may be made, and why not. */
export type ConnectionCheck = { ok: true } | { ok: false; reason: string };

/** reaches reports whether there is a path from `from` to `to` following edges forward. */
export function reaches(edges: readonly WorkflowEdge[], from: string, to: string): boolean {
  if (from === to) return true;
  const out = new Map<string, string[]>();
  for (const e of edges) {
    const list = out.get(e.source);
    if (list) list.push(e.target);
    else out.set(e.source, [e.target]);
  }
  const seen = new Set<string>([from]);
  const stack = [from];
  while (stack.length > 0) {
    const n = stack.pop()!;
    for (const next of out.get(n) ?? []) {
      if (next === to) return true;
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return false;
}

/**
 * checkConnection decides whether a new edge may join two ports: both ports must exist on their
 * nodes, a node may not feed itself, the edge must not already exist, and it must not close a cycle.
 */
export function checkConnection(
  graph: { edges: readonly WorkflowEdge[]; nodes: readonly WorkflowNode[] },
  catalog: Catalog,
  c: { source: string; sourceHandle?: string | null; target: string; targetHandle?: string | null },
): ConnectionCheck {
  const source = graph.nodes.find((n) => n.id === c.source);
  const target = graph.nodes.find((n) => n.id === c.target);
  if (!source || !target) return { ok: false, reason: 'Both ends of a connection must be nodes of this workflow.' };
  if (source.id === target.id) return { ok: false, reason: `A node cannot feed itself: ${source.id} → ${source.id}.` };
  const sourceType = catalog.get(source.data.type);
  const targetType = catalog.get(target.data.type);
  const sourcePort = c.sourceHandle ?? 'out';
  const targetPort = c.targetHandle ?? 'in';
  const outs = outputPorts(sourceType, source.data);
  if (!outs.some((p) => p.name === sourcePort)) {
    return { ok: false, reason: `${source.id} has no output port "${sourcePort}" (it has ${outs.map((p) => p.name).join(', ') || 'none'}).` };
  }
  const ins = inputPorts(targetType);
  if (ins.length === 0) {
    return { ok: false, reason: `${target.id} is a trigger: triggers start runs and take no input.` };
  }
  if (!ins.some((p) => p.name === targetPort)) {
    return { ok: false, reason: `${target.id} has no input port "${targetPort}".` };
  }
  if (graph.edges.some((e) => e.id === edgeId(source.id, sourcePort, target.id, targetPort))) {
    return { ok: false, reason: `${source.id}.${sourcePort} is already connected to ${target.id}.` };
  }
  if (reaches(graph.edges, target.id, source.id)) {
    return { ok: false, reason: `Connecting ${source.id} → ${target.id} would make a cycle: ${target.id} already leads to ${source.id}.` };
  }
  return { ok: true };
}
