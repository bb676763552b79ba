import type { DefinitionFromAPI, EdgeFromAPI, NodeFromAPI } from '@services/workflows';

import { DEFAULT_IN, DEFAULT_OUT, edgeId } from './graphModel';

/**
 * versionDiff compares two definitions of a workflow (version A, the older, and B, the newer) and says
 * what changed from A to B: nodes added, removed, renamed (id or title), moved, configuration and
 * settings changed, edges added and removed, and the workflow's own name, description, settings and tags.
 * It is pure: no React, no store, no fetch.
 */

/** ValueChange is one changed value at a path ("url", "fields.size", "retry.maxAttempts"); undefined means absent. */
export interface ValueChange {
  after: unknown;
  before: unknown;
  path: string;
}

/** NodeChangeKind is one way a node present in both versions changed. */
export type NodeChangeKind = 'config' | 'moved' | 'renamed' | 'settings' | 'type';

/** NodeDiff describes one node present in both versions (perhaps under another id) that changed. */
export interface NodeDiff {
  /** config lists the changed configuration values, at most MAX_VALUE_CHANGES. */
  config: ValueChange[];
  /** configTruncated is true when more configuration values changed than config lists. */
  configTruncated: boolean;
  /** id is the node's id in B. */
  id: string;
  kinds: NodeChangeKind[];
  /** move is set when the node's position changed. */
  move?: { from?: { x: number; y: number }; to?: { x: number; y: number } };
  /** rename is set when the node's id or title changed. */
  rename?: { idBefore: string; nameAfter?: string; nameBefore?: string };
  /** settings lists changed node settings: retry, timeout, onError, forEach, concurrency. */
  settings: ValueChange[];
  /** type is B's node type; typeBefore is A's when it differs. */
  type: string;
  typeBefore?: string;
}

/** EdgeRef is an edge with both ports named (defaults filled in). */
export interface EdgeRef {
  id: string;
  source: string;
  sourcePort: string;
  target: string;
  targetPort: string;
}

/** NodeStatus is how a node of the merged picture is coloured: 'same' nodes are left plain. */
export type NodeStatus = 'added' | 'changed' | 'moved' | 'removed' | 'same';

/** VersionDiff is what changed from A to B. */
export interface VersionDiff {
  /** added lists B's nodes that A does not have. */
  added: NodeFromAPI[];
  /** changed lists nodes in both that differ, in B's order. */
  changed: NodeDiff[];
  edgesAdded: EdgeRef[];
  edgesRemoved: EdgeRef[];
  /** empty is true when A and B hold the same workflow. */
  empty: boolean;
  /** removed lists A's nodes that B does not have. */
  removed: NodeFromAPI[];
  /** renamedIds maps A's id to B's id for nodes whose id changed. */
  renamedIds: ReadonlyMap<string, string>;
  /** workflow lists changes to the workflow's name, description, settings ("settings.timeout") and tags. */
  workflow: ValueChange[];
}

/** MAX_VALUE_CHANGES bounds the changed values listed for one node or for the workflow. */
export const MAX_VALUE_CHANGES = 50;
/** MAX_DEPTH bounds how deep objects are compared key by key; deeper values are compared whole. */
export const MAX_DEPTH = 4;
/** MAX_NODES bounds the nodes compared (the server allows far fewer); the rest are not looked at. */
export const MAX_NODES = 5000;
/** MOVE_EPSILON is how far (in canvas pixels) a node must move for the move to count. */
export const MOVE_EPSILON = 0.5;

type Json = unknown;

function isPlainObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * sameValue compares two JSON values deeply, ignoring object key order. Recursion is bounded by the
 * values themselves, which came from JSON the server accepted.
 */
export function sameValue(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!Object.hasOwn(b, k) || !sameValue(a[k], b[k])) return false;
    return true;
  }
  return false;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

function joinPath(prefix: string, key: string): string {
  const part = IDENT.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (!prefix) return part;
  return part.startsWith('[') ? `${prefix}${part}` : `${prefix}.${part}`;
}

/**
 * diffValues lists the values that differ between a and b, walking objects key by key down to
 * MAX_DEPTH levels (arrays and deeper values are compared whole), keys in sorted order. It stops at
 * limit changes and reports whether it had to.
 */
export function diffValues(a: Json, b: Json, prefix = '', limit = MAX_VALUE_CHANGES): { changes: ValueChange[]; truncated: boolean } {
  const changes: ValueChange[] = [];
  let truncated = false;
  const walk = (x: Json, y: Json, path: string, depth: number) => {
    if (truncated) return;
    if (isPlainObject(x) && isPlainObject(y) && depth < MAX_DEPTH) {
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
      for (const k of keys) {
        walk(Object.hasOwn(x, k) ? x[k] : undefined, Object.hasOwn(y, k) ? y[k] : undefined, joinPath(path, k), depth + 1);
        if (truncated) return;
      }
      return;
    }
    if (sameValue(x, y)) return;
    if (changes.length >= limit) {
      truncated = true;
      return;
    }
    changes.push({ after: y, before: x, path });
  };
  walk(a, b, prefix, 0);
  return { changes, truncated };
}

/**
 * formatValue renders a value for the diff list: pretty JSON cut to max characters with an ellipsis,
 * or "(none)" when absent.
 */
export function formatValue(v: unknown, max = 200): string {
  if (v === undefined) return '(none)';
  let text: string;
  try {
    text = JSON.stringify(v, null, 2) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}

/** edgeRef names an edge by its two ends with the default ports filled in. */
export function edgeRef(e: EdgeFromAPI): EdgeRef {
  const sourcePort = e.sourcePort || DEFAULT_OUT;
  const targetPort = e.targetPort || DEFAULT_IN;
  return { id: edgeId(e.source, sourcePort, e.target, targetPort), source: e.source, sourcePort, target: e.target, targetPort };
}

/** nodeSettings is a node's settings with the defaults the editor leaves out made explicit. */
function nodeSettings(n: NodeFromAPI): Record<string, Json> {
  const out: Record<string, Json> = { onError: n.onError || 'fail' };
  if (n.retry && Object.keys(n.retry).length > 0) out.retry = n.retry;
  if (n.timeout) out.timeout = n.timeout;
  if (n.forEach) out.forEach = n.forEach;
  if (n.concurrency) out.concurrency = n.concurrency;
  return out;
}

function config(n: NodeFromAPI): Record<string, Json> {
  return n.config ?? {};
}

function moved(a: NodeFromAPI, b: NodeFromAPI): boolean {
  const p = a.position;
  const q = b.position;
  if (!p && !q) return false;
  if (!p || !q) return true;
  return Math.abs(p.x - q.x) > MOVE_EPSILON || Math.abs(p.y - q.y) > MOVE_EPSILON;
}

function samePosition(a: NodeFromAPI, b: NodeFromAPI): boolean {
  return !!a.position && !!b.position && !moved(a, b);
}

/**
 * pairRenamed finds, among the nodes only in A and only in B, those that are one node whose id was
 * changed: the same type and the same configuration, or else the same type at the same position.
 * Each node is paired at most once, in order.
 */
function pairRenamed(removed: NodeFromAPI[], added: NodeFromAPI[]): Map<string, string> {
  const pairs = new Map<string, string>();
  const taken = new Set<string>();
  const pick = (a: NodeFromAPI, match: (b: NodeFromAPI) => boolean) => {
    const b = added.find((x) => !taken.has(x.id) && x.type === a.type && match(x));
    if (!b) return false;
    taken.add(b.id);
    pairs.set(a.id, b.id);
    return true;
  };
  const rest: NodeFromAPI[] = [];
  for (const a of removed) if (!pick(a, (b) => sameValue(config(a), config(b)))) rest.push(a);
  for (const a of rest) pick(a, (b) => samePosition(a, b));
  return pairs;
}

function compareNode(a: NodeFromAPI, b: NodeFromAPI): NodeDiff | null {
  const kinds: NodeChangeKind[] = [];
  const d: NodeDiff = { config: [], configTruncated: false, id: b.id, kinds, settings: [], type: b.type };
  if (a.id !== b.id || (a.name ?? '') !== (b.name ?? '')) {
    kinds.push('renamed');
    d.rename = { idBefore: a.id };
    if ((a.name ?? '') !== (b.name ?? '')) {
      if (a.name) d.rename.nameBefore = a.name;
      if (b.name) d.rename.nameAfter = b.name;
    }
  }
  if (a.type !== b.type) {
    kinds.push('type');
    d.typeBefore = a.type;
  }
  if (moved(a, b)) {
    kinds.push('moved');
    d.move = {};
    if (a.position) d.move.from = { x: a.position.x, y: a.position.y };
    if (b.position) d.move.to = { x: b.position.x, y: b.position.y };
  }
  const c = diffValues(config(a), config(b));
  if (c.changes.length > 0) {
    kinds.push('config');
    d.config = c.changes;
    d.configTruncated = c.truncated;
  }
  const s = diffValues(nodeSettings(a), nodeSettings(b));
  if (s.changes.length > 0) {
    kinds.push('settings');
    d.settings = s.changes;
  }
  return kinds.length > 0 ? d : null;
}

function indexNodes(nodes: readonly NodeFromAPI[] | null | undefined): Map<string, NodeFromAPI> {
  const m = new Map<string, NodeFromAPI>();
  for (const n of (nodes ?? []).slice(0, MAX_NODES)) if (!m.has(n.id)) m.set(n.id, n);
  return m;
}

function workflowFields(d: DefinitionFromAPI): Record<string, Json> {
  return { description: d.description ?? '', name: d.name, settings: d.settings ?? {}, tags: [...(d.tags ?? [])].sort() };
}

/** diffVersions says what changed from definition a (the older) to b (the newer). */
export function diffVersions(a: DefinitionFromAPI, b: DefinitionFromAPI): VersionDiff {
  const na = indexNodes(a.nodes);
  const nb = indexNodes(b.nodes);
  const onlyA = [...na.values()].filter((n) => !nb.has(n.id));
  const onlyB = [...nb.values()].filter((n) => !na.has(n.id));
  const renamedIds = pairRenamed(onlyA, onlyB);
  const renamedTo = new Set(renamedIds.values());
  const bToA = new Map<string, NodeFromAPI>();
  for (const [from, to] of renamedIds) bToA.set(to, na.get(from)!);

  const changed: NodeDiff[] = [];
  for (const n of nb.values()) {
    const before = na.get(n.id) ?? bToA.get(n.id);
    if (!before) continue;
    const d = compareNode(before, n);
    if (d) changed.push(d);
  }

  // A's edges are compared under B's ids, so that renaming a node does not re-add its edges.
  const rename = (id: string) => renamedIds.get(id) ?? id;
  const edgesA = new Map<string, EdgeRef>();
  for (const e of a.edges ?? []) {
    const r = edgeRef({ ...e, source: rename(e.source), target: rename(e.target) });
    edgesA.set(r.id, r);
  }
  const edgesB = new Map<string, EdgeRef>();
  for (const e of b.edges ?? []) {
    const r = edgeRef(e);
    edgesB.set(r.id, r);
  }
  const edgesAdded = [...edgesB.values()].filter((e) => !edgesA.has(e.id));
  const edgesRemoved = [...edgesA.values()].filter((e) => !edgesB.has(e.id));
  // Removed edges are named by their ends in A.
  const unrename = new Map([...renamedIds].map(([from, to]) => [to, from]));
  const edgesRemovedInA = edgesRemoved.map((e) => {
    const source = unrename.get(e.source) ?? e.source;
    const target = unrename.get(e.target) ?? e.target;
    return source === e.source && target === e.target ? e : { ...e, id: edgeId(source, e.sourcePort, target, e.targetPort), source, target };
  });

  const workflow = diffValues(workflowFields(a), workflowFields(b)).changes;
  const added = onlyB.filter((n) => !renamedTo.has(n.id));
  const removed = onlyA.filter((n) => !renamedIds.has(n.id));
  return {
    added,
    changed,
    edgesAdded,
    edgesRemoved: edgesRemovedInA,
    empty: added.length + removed.length + changed.length + edgesAdded.length + edgesRemovedInA.length + workflow.length === 0,
    removed,
    renamedIds,
    workflow,
  };
}

/** DiffPicture is one definition showing both versions at once, and how to colour its parts. */
export interface DiffPicture {
  definition: DefinitionFromAPI;
  /** edges maps an edge id (graphModel's edgeId) of definition to 'added' or 'removed'. */
  edges: ReadonlyMap<string, 'added' | 'removed'>;
  /** nodes maps a node id of definition to its status; absent means 'same'. */
  nodes: ReadonlyMap<string, NodeStatus>;
}

/** changeStatus is how a changed node is coloured: 'moved' when moving is all that happened to it. */
export function changeStatus(d: NodeDiff): NodeStatus {
  return d.kinds.length === 1 && d.kinds[0] === 'moved' ? 'moved' : 'changed';
}

/**
 * diffPicture merges A into B for drawing: B's nodes and edges, plus A's removed nodes at their old
 * positions and A's removed edges (a renamed node's under its id in B). Removed nodes keep their ids:
 * B has no node with those ids, or they would not be removed.
 */
export function diffPicture(b: DefinitionFromAPI, diff: VersionDiff): DiffPicture {
  const nodes = new Map<string, NodeStatus>();
  for (const n of diff.added) nodes.set(n.id, 'added');
  for (const d of diff.changed) nodes.set(d.id, changeStatus(d));
  for (const n of diff.removed) nodes.set(n.id, 'removed');
  const edges = new Map<string, 'added' | 'removed'>();
  for (const e of diff.edgesAdded) edges.set(e.id, 'added');
  const extraEdges: EdgeFromAPI[] = [];
  for (const e of diff.edgesRemoved) {
    const end = (id: string) => diff.renamedIds.get(id) ?? id;
    const r = edgeRef({ source: end(e.source), sourcePort: e.sourcePort, target: end(e.target), targetPort: e.targetPort });
    edges.set(r.id, 'removed');
    extraEdges.push({ source: r.source, sourcePort: r.sourcePort, target: r.target, targetPort: r.targetPort });
  }
  return {
    definition: { ...b, edges: [...(b.edges ?? []), ...extraEdges], nodes: [...(b.nodes ?? []).slice(0, MAX_NODES), ...diff.removed] },
    edges,
    nodes,
  };
}
