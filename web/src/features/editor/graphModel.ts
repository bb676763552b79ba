import type { Edge, Node } from '@xyflow/react';

import type { Catalog, NodeTypeInfo, Port } from '@services/nodeTypes';
import type { DefinitionFromAPI, EdgeFromAPI, NodeFromAPI, NoteFromAPI, RetryPolicyFromAPI, SettingsFromAPI } from '@services/workflows';

/** OnError is what a node failure does once its retries are exhausted. */
export type OnError = 'continue' | 'errorPort' | 'fail';

/** WorkflowNodeData is everything about a node except its id and position: what the panel edits. */
export type WorkflowNodeData = {
  concurrency?: number;
  config: Record<string, unknown>;
  forEach?: string;
  name?: string;
  onError?: OnError;
  retry?: RetryPolicyFromAPI;
  timeout?: string;
  type: string;
};

/** WorkflowNode is a React Flow node of the editor. */
export type WorkflowNode = Node<WorkflowNodeData, 'workflow'>;
/** WorkflowEdge is a React Flow edge of the editor; handle ids are port names. */
export type WorkflowEdge = Edge;

/** WorkflowMeta is the rest of a definition: name, description, tags and settings. */
export interface WorkflowMeta {
  description: string;
  name: string;
  settings: SettingsFromAPI;
  /** tags label the workflow for the list's filter. */
  tags?: string[];
}

/** NoteColor is one of the colours a sticky note may take. */
export type NoteColor = NonNullable<NoteFromAPI['color']>;
/** NOTE_COLORS lists the note colours, the default first. */
export const NOTE_COLORS: readonly NoteColor[] = ['yellow', 'blue', 'green', 'pink', 'purple', 'gray'];
/** NoteData is a sticky note's content: markdown text and colour. */
export type NoteData = { color?: NoteColor; text: string };
/** NoteNode is a sticky note on the canvas; its React Flow id is NOTE_PREFIX + the note's id. */
export type NoteNode = Node<NoteData, 'note'>;
/** NOTE_PREFIX starts the React Flow id of every note; node ids never hold a colon. */
export const NOTE_PREFIX = 'note:';
/** Default and limit sizes of a note, in canvas units (the server's bounds). */
export const NOTE_WIDTH = 240;
export const NOTE_HEIGHT = 160;
export const NOTE_MIN_SIZE = 40;
export const NOTE_MAX_SIZE = 4000;
/** MAX_NOTES and MAX_NOTE_TEXT are the server's bounds on notes (count, and text in bytes). */
export const MAX_NOTES = 200;
export const MAX_NOTE_TEXT = 10 * 1024;

/** isNoteId tells a note's React Flow id from a node's. */
export function isNoteId(id: string): boolean {
  return id.startsWith(NOTE_PREFIX);
}

/** noteFromAPI converts a definition note to a canvas note. */
export function noteFromAPI(n: NoteFromAPI): NoteNode {
  const data: NoteData = { text: n.text ?? '' };
  if (n.color) data.color = n.color;
  return {
    data,
    height: n.height || NOTE_HEIGHT,
    id: NOTE_PREFIX + n.id,
    position: n.position ? { x: n.position.x, y: n.position.y } : { x: 0, y: 0 },
    type: 'note',
    width: n.width || NOTE_WIDTH,
    zIndex: -1,
  };
}

function clampSize(v: number | undefined, dflt: number): number {
  if (v === undefined || !Number.isFinite(v)) return dflt;
  return Math.min(NOTE_MAX_SIZE, Math.max(NOTE_MIN_SIZE, Math.round(v)));
}

/** noteToAPI converts a canvas note back, leaving out defaults. */
export function noteToAPI(n: NoteNode): NoteFromAPI {
  const out: NoteFromAPI = {
    id: n.id.slice(NOTE_PREFIX.length),
    position: { x: round(n.position.x), y: round(n.position.y) },
    text: n.data.text,
  };
  const w = clampSize(n.width ?? n.measured?.width, NOTE_WIDTH);
  const h = clampSize(n.height ?? n.measured?.height, NOTE_HEIGHT);
  if (w !== NOTE_WIDTH) out.width = w;
  if (h !== NOTE_HEIGHT) out.height = h;
  if (n.data.color && n.data.color !== 'yellow') out.color = n.data.color;
  return out;
}

/** newNoteId returns a note id not in taken: n1, n2… */
export function newNoteId(taken: readonly NoteNode[]): string {
  const ids = new Set(taken.map((n) => n.id));
  for (let i = 1; ; i++) {
    if (!ids.has(`${NOTE_PREFIX}n${i}`)) return `n${i}`;
  }
}

/** Graph is the part of the editor state that describes the workflow. */
export interface Graph {
  edges: WorkflowEdge[];
  meta: WorkflowMeta;
  nodes: WorkflowNode[];
  notes: NoteNode[];
}

/** NODE_ID_PATTERN is the server's rule for node ids: they are expression identifiers. */
export const NODE_ID_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;
/** DEFAULT_OUT and DEFAULT_IN are the ports an edge uses when it names none. */
export const DEFAULT_OUT = 'out';
export const DEFAULT_IN = 'in';
/** ERROR_PORT is the extra output a node gets when its onError is errorPort. */
export const ERROR_PORT = 'error';

/** edgeId names an edge by its two ends, so that the same connection never exists twice. */
export function edgeId(source: string, sourcePort: string, target: string, targetPort: string): string {
  return `${source}:${sourcePort}->${target}:${targetPort}`;
}

/** makeEdge builds a React Flow edge between two ports. */
export function makeEdge(source: string, sourcePort: string, target: string, targetPort: string): WorkflowEdge {
  return { id: edgeId(source, sourcePort, target, targetPort), source, sourceHandle: sourcePort, target, targetHandle: targetPort };
}

/** inputPorts lists the input ports of a node. */
export function inputPorts(type: NodeTypeInfo | undefined): Port[] {
  if (!type) return [{ name: DEFAULT_IN, title: 'Input' }];
  return type.inputs;
}

/**
 * outputPorts lists the output ports of a node: the type's, or for a type with dynamic ports
 * (flow.switch) one per case plus default; and "error" when the node routes failures to a port.
 */
export function outputPorts(type: NodeTypeInfo | undefined, data: WorkflowNodeData): Port[] {
  let ports: Port[] = type ? [...type.outputs] : [{ name: DEFAULT_OUT, title: 'Output' }];
  if (type?.dynamicPorts) {
    const cases = Array.isArray(data.config.cases) ? (data.config.cases as unknown[]) : [];
    const dyn: Port[] = [];
    const seen = new Set<string>();
    for (const c of cases) {
      const port = c && typeof c === 'object' ? (c as Record<string, unknown>).port : undefined;
      if (typeof port === 'string' && port !== '' && !seen.has(port)) {
        seen.add(port);
        dyn.push({ name: port, title: port });
      }
    }
    ports = [...dyn, ...ports.filter((p) => !seen.has(p.name))];
  }
  if (data.onError === 'errorPort' && !ports.some((p) => p.name === ERROR_PORT)) {
    ports = [...ports, { name: ERROR_PORT, title: 'Error' }];
  }
  return ports;
}

/**
 * portLabel is what a port is called on the canvas, for every node type alike: its name ("in", "out",
 * "true", "error", a switch case's port), the word edges and expressions use. The type's longer title
 * ("Input", "Result", "Published"…) varies between types and is only a hint (portHint).
 */
export function portLabel(p: Port): string {
  return p.name;
}

/** portHint is the tooltip of a port: its title and description, when they say more than its name. */
export function portHint(p: Port): string | undefined {
  const parts = [p.title && p.title.toLowerCase() !== p.name.toLowerCase() ? p.title : '', p.description ?? ''].filter(Boolean);
  return parts.length > 0 ? parts.join(': ') : undefined;
}

/** nodeFromAPI converts a definition node to a React Flow node. */
export function nodeFromAPI(n: NodeFromAPI, index = 0): WorkflowNode {
  const data: WorkflowNodeData = { config: n.config ?? {}, type: n.type };
  if (n.name) data.name = n.name;
  if (n.retry) data.retry = n.retry;
  if (n.timeout) data.timeout = n.timeout;
  if (n.onError) data.onError = n.onError;
  if (n.forEach) data.forEach = n.forEach;
  if (n.concurrency) data.concurrency = n.concurrency;
  return {
    data,
    id: n.id,
    position: n.position ? { x: n.position.x, y: n.position.y } : { x: index * 280, y: 0 },
    type: 'workflow',
  };
}

/** edgeFromAPI converts a definition edge, filling in the default ports. */
export function edgeFromAPI(e: EdgeFromAPI): WorkflowEdge {
  return makeEdge(e.source, e.sourcePort || DEFAULT_OUT, e.target, e.targetPort || DEFAULT_IN);
}

/** graphFromDefinition converts a saved definition into editor state. */
export function graphFromDefinition(def: DefinitionFromAPI): Graph {
  const nodes = (def.nodes ?? []).map(nodeFromAPI);
  const seen = new Set<string>();
  const edges: WorkflowEdge[] = [];
  for (const e of def.edges ?? []) {
    const edge = edgeFromAPI(e);
    if (seen.has(edge.id)) continue;
    seen.add(edge.id);
    edges.push(edge);
  }
  const notes = (def.notes ?? []).map(noteFromAPI);
  return { edges, meta: { description: def.description ?? '', name: def.name, settings: def.settings ?? {}, tags: def.tags ?? [] }, nodes, notes };
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/** nodeToAPI converts a React Flow node back to a definition node, leaving out empty fields. */
export function nodeToAPI(n: WorkflowNode): NodeFromAPI {
  const d = n.data;
  const out: NodeFromAPI = { id: n.id, position: { x: round(n.position.x), y: round(n.position.y) }, type: d.type };
  if (d.name) out.name = d.name;
  if (Object.keys(d.config).length > 0) out.config = d.config;
  if (d.retry && Object.keys(d.retry).length > 0) out.retry = d.retry;
  if (d.timeout) out.timeout = d.timeout;
  if (d.onError && d.onError !== 'fail') out.onError = d.onError;
  if (d.forEach) out.forEach = d.forEach;
  if (d.concurrency) out.concurrency = d.concurrency;
  return out;
}

/** edgeToAPI converts a React Flow edge back, leaving default ports out. */
export function edgeToAPI(e: WorkflowEdge): EdgeFromAPI {
  const out: EdgeFromAPI = { source: e.source, target: e.target };
  if (e.sourceHandle && e.sourceHandle !== DEFAULT_OUT) out.sourcePort = e.sourceHandle;
  if (e.targetHandle && e.targetHandle !== DEFAULT_IN) out.targetPort = e.targetHandle;
  return out;
}

/** definitionFromGraph converts editor state into the body POST, PUT and validate take. */
export function definitionFromGraph(g: Graph): DefinitionFromAPI {
  const def: DefinitionFromAPI = { edges: g.edges.map(edgeToAPI), name: g.meta.name, nodes: g.nodes.map(nodeToAPI) };
  if (g.meta.description) def.description = g.meta.description;
  if (g.meta.tags?.length) def.tags = g.meta.tags;
  const s = cleanSettings(g.meta.settings);
  if (Object.keys(s).length > 0) def.settings = s;
  if (g.notes.length > 0) def.notes = g.notes.map(noteToAPI);
  return def;
}

function cleanSettings(s: SettingsFromAPI): SettingsFromAPI {
  const out: SettingsFromAPI = {};
  if (s.maxConcurrentNodes) out.maxConcurrentNodes = s.maxConcurrentNodes;
  if (s.timeout) out.timeout = s.timeout;
  if (s.outputNode) out.outputNode = s.outputNode;
  if (s.errorWorkflow) out.errorWorkflow = s.errorWorkflow;
  if (s.vars && Object.keys(s.vars).length > 0) out.vars = s.vars;
  if (s.retention && (s.retention.maxAge || s.retention.maxExecutions)) out.retention = s.retention;
  return out;
}

/** baseIdFor turns a type name into a node id stem: http.request → request. */
export function baseIdFor(type: string): string {
  const last = type.split('.').pop() ?? type;
  let id = last
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!/^[a-z]/.test(id)) id = `n_${id}`;
  return id.slice(0, 50) || 'node';
}

/** uniqueNodeId returns stem, or stem_2, stem_3… whichever is not taken. */
export function uniqueNodeId(stem: string, taken: ReadonlySet<string>): string {
  const base = NODE_ID_PATTERN.test(stem) ? stem.slice(0, 56) : baseIdFor(stem);
  if (!taken.has(base)) return base;
  const m = /^(.*)_(\d+)$/.exec(base);
  const root = m ? m[1]! : base;
  for (let i = m ? Number(m[2]) + 1 : 2; ; i++) {
    const id = `${root}_${i}`;
    if (!taken.has(id)) return id;
  }
}

/**
 * randomWebhookPath is an unguessable webhook path: 16 random bytes (128 bits), base64url, which
 * matches the webhook path pattern. Webhooks are public by design, so their paths are their secret.
 */
export function randomWebhookPath(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** WEBHOOK_TYPE is the node type whose path must be unique on the server. */
export const WEBHOOK_TYPE = 'trigger.webhook';

/**
 * defaultConfig fills a new node's config with the schema's required defaults; a new webhook trigger
 * gets a random path of its own rather than an empty or guessable one.
 */
export function defaultConfig(type: NodeTypeInfo | undefined): Record<string, unknown> {
  if (!type) return {};
  if (type.type === WEBHOOK_TYPE) return { ...requiredDefaults(type), path: randomWebhookPath() };
  return requiredDefaults(type);
}

function requiredDefaults(type: NodeTypeInfo): Record<string, unknown> {
  const props = type.configSchema.properties;
  const required = Array.isArray(type.configSchema.required) ? (type.configSchema.required as string[]) : [];
  const out: Record<string, unknown> = {};
  if (props && typeof props === 'object') {
    for (const key of required) {
      const p = (props as Record<string, Record<string, unknown>>)[key];
      if (p && 'default' in p) out[key] = p.default;
    }
  }
  return out;
}

/** typeLabel is how a node is titled: its own name, or its type's title. */
export function typeLabel(catalog: Catalog, data: WorkflowNodeData): string {
  return data.name || catalog.get(data.type)?.title || data.type;
}

/** MAX_TITLE_LENGTH is the longest node title the server takes, in bytes (as UTF-16 units here, a lower bound). */
export const MAX_TITLE_LENGTH = 200;

/** nodeTitle is how a node is titled on the canvas: its name, its type's title, or its type. */
export function nodeTitle(catalog: Catalog, n: Pick<WorkflowNode, 'data'>): string {
  return typeLabel(catalog, n.data);
}

/**
 * uniqueTitle returns base when no node is titled so, else "base 2", "base 3"… the first free one; a
 * base that already ends in a number counts on from it. taken holds the titles in use.
 */
export function uniqueTitle(base: string, taken: ReadonlySet<string>): string {
  const trimmed = base.trim().slice(0, MAX_TITLE_LENGTH - 6) || 'Node';
  if (!taken.has(trimmed)) return trimmed;
  const m = /^(.*\S)\s+(\d{1,6})$/.exec(trimmed);
  const root = m ? m[1]! : trimmed;
  const from = m ? Number(m[2]) + 1 : 2;
  // taken.size + 1 numbers always hold a free one.
  for (let i = from; i <= from + taken.size; i++) {
    const t = `${root} ${i}`;
    if (!taken.has(t)) return t;
  }
  return `${root} ${from + taken.size + 1}`;
}

/** takenTitles lists the titles the nodes show. */
export function takenTitles(catalog: Catalog, nodes: readonly Pick<WorkflowNode, 'data'>[]): Set<string> {
  return new Set(nodes.map((n) => nodeTitle(catalog, n)));
}
