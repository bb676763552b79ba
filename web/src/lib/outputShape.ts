import type { ExpressionScope } from './expressionLang';

/** Schema is a JSON Schema object as node types describe their output. */
export type Schema = { readonly [key: string]: unknown };

/** ShapeNode is what outputShapes needs of a workflow node. */
export interface ShapeNode {
  config: Record<string, unknown>;
  id: string;
  type: string;
}

/** ShapeEdge is what outputShapes needs of an edge. */
export interface ShapeEdge {
  source: string;
  target: string;
}

// Bounds on what a schema or a configuration can make this build: deep or wide shapes stop here.
const MAX_DEPTH = 6;
const MAX_KEYS = 200;

/** sampleOf builds a placeholder value of a schema's shape: objects with their properties, a one-element array, empty scalars. */
export function sampleOf(schema: unknown, depth = 0): unknown {
  if (!schema || typeof schema !== 'object' || depth > MAX_DEPTH) return null;
  const s = schema as Schema;
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  const props = s.properties && typeof s.properties === 'object' ? (s.properties as Record<string, unknown>) : null;
  if (type === 'object' || (type === undefined && props)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(props ?? {}).slice(0, MAX_KEYS)) out[k] = sampleOf(v, depth + 1);
    return out;
  }
  switch (type) {
    case 'array':
      return s.items ? [sampleOf(s.items, depth + 1)] : [];
    case 'string':
      return '';
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return false;
  }
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * shapeOf is the placeholder output of one node: its type's output schema, read with the node's
 * configuration (x-cm-fields) and input (x-cm-passthrough, x-cm-keep-input); undefined when unknown.
 */
export function shapeOf(schema: Schema | undefined, config: Record<string, unknown>, input: unknown): unknown {
  if (!schema) return undefined;
  if (schema['x-cm-passthrough'] === true) return input;
  const fieldsKey = schema['x-cm-fields'];
  if (typeof fieldsKey === 'string') {
    const keepKey = schema['x-cm-keep-input'];
    const keep = typeof keepKey === 'string' && config[keepKey] !== false && isObject(input);
    const out: Record<string, unknown> = keep ? { ...input } : {};
    const fields = config[fieldsKey];
    if (isObject(fields)) {
      // A literal value shows as itself; an expression's result is not known before a run.
      for (const [k, v] of Object.entries(fields).slice(0, MAX_KEYS)) out[k] = typeof v === 'string' && v.includes('{{') ? null : v;
    }
    return out;
  }
  return sampleOf(schema);
}

/**
 * outputShapes fills, in scope, what a run has not shown for the node's expressions: the outputs of
 * the workflow's nodes and the node's input, derived from the output schemas of the node types in
 * graph order. What the run shows is kept as it is; null counts as not shown (the server answers null
 * for what no run gave).
 */
export function outputShapes(
  scope: ExpressionScope,
  nodeId: string,
  nodes: readonly ShapeNode[],
  edges: readonly ShapeEdge[],
  schemaOf: (type: string) => Schema | undefined,
): ExpressionScope {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const incoming = new Map<string, string[]>();
  for (const e of edges) incoming.set(e.target, [...(incoming.get(e.target) ?? []), e.source]);
  const known = { ...(scope.nodes ?? {}) };
  const shapes = new Map<string, unknown>();
  const visiting = new Set<string>();
  // Depth-first over inputs, memoized; a loop (refused on save, possible while drawing) stops at undefined.
  const shape = (id: string): unknown => {
    if (known[id] !== undefined && known[id] !== null) return known[id];
    if (shapes.has(id)) return shapes.get(id);
    const n = byId.get(id);
    if (!n || visiting.has(id)) return undefined;
    visiting.add(id);
    const from = incoming.get(id)?.[0];
    const out = shapeOf(schemaOf(n.type), n.config, from === undefined ? undefined : shape(from));
    visiting.delete(id);
    shapes.set(id, out);
    return out;
  };
  let filled = false;
  for (const n of nodes) {
    if (n.id === nodeId || (known[n.id] !== undefined && known[n.id] !== null)) continue;
    const s = shape(n.id);
    if (s !== undefined) {
      known[n.id] = s;
      filled = true;
    }
  }
  let input = scope.input;
  const first = incoming.get(nodeId)?.[0];
  // A run that did not reach the node, or no run, leaves its input null or undefined.
  if ((input === undefined || input === null) && first !== undefined) {
    input = shape(first);
    filled ||= input !== undefined;
  }
  return filled ? { ...scope, input, nodes: known } : scope;
}
