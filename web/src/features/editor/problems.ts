import type { ProblemFromAPI } from '@services/http';
import { parsePointer } from '@lib/pointer';

import { itemTitle } from './panels/schemaForm';

/** FieldProblem is one message about one field of a node, e.g. path ["config", "url"]. */
export interface FieldProblem {
  message: string;
  path: string[];
}

/** Problems are a validation problem split up by where its errors point. */
export interface Problems {
  byEdge: ReadonlyMap<string, string[]>;
  byNode: ReadonlyMap<string, FieldProblem[]>;
  /** count is the number of errors in all. */
  count: number;
  /** global holds errors about the workflow itself (/name, /settings/…) and any the UI cannot place. */
  global: { location: string; message: string }[];
}

/** NO_PROBLEMS is the empty Problems. */
export const NO_PROBLEMS: Problems = { byEdge: new Map(), byNode: new Map(), count: 0, global: [] };

/**
 * mapProblems places each error of a problem+json answer: a location /nodes/<i>/… belongs to the node
 * at index i of the body that was sent (nodeIds), /edges/<i>/… to edge i (edgeIds); the rest of the
 * pointer is the field. Anything else is about the workflow as a whole.
 */
export function mapProblems(problem: ProblemFromAPI, nodeIds: readonly string[], edgeIds: readonly string[]): Problems {
  const byNode = new Map<string, FieldProblem[]>();
  const byEdge = new Map<string, string[]>();
  const global: { location: string; message: string }[] = [];
  const errors = problem.errors ?? [];
  for (const e of errors) {
    const message = e.message ?? 'invalid';
    const location = e.location ?? '';
    const tokens = parsePointer(location.startsWith('body.') || location === 'body' ? '' : location);
    const [head, index, ...rest] = tokens;
    const i = index !== undefined && /^\d+$/.test(index) ? Number(index) : -1;
    if (head === 'nodes' && i >= 0 && i < nodeIds.length) {
      const id = nodeIds[i]!;
      const list = byNode.get(id) ?? [];
      list.push({ message, path: rest });
      byNode.set(id, list);
    } else if (head === 'edges' && i >= 0 && i < edgeIds.length) {
      const id = edgeIds[i]!;
      const list = byEdge.get(id) ?? [];
      list.push(rest.length > 0 ? `${rest.join('.')}: ${message}` : message);
      byEdge.set(id, list);
    } else {
      global.push({ location, message });
    }
  }
  if (errors.length === 0) global.push({ location: '', message: problem.detail || problem.title || 'The workflow is not valid.' });
  return { byEdge, byNode, count: Math.max(errors.length, 1), global };
}

/** ErrorTree is rjsf's ErrorSchema shape: nested objects with __errors lists. */
export interface ErrorTree {
  [key: string]: ErrorTree | string[] | undefined;
  __errors?: string[];
}

/** configErrorTree builds the error tree of a node's config form from its problems under ["config"]. */
export function configErrorTree(problems: readonly FieldProblem[] | undefined): ErrorTree {
  const root: ErrorTree = {};
  for (const p of problems ?? []) {
    if (p.path[0] !== 'config') continue;
    let cur: ErrorTree = root;
    for (const key of p.path.slice(1)) {
      const next = cur[key];
      if (next && !Array.isArray(next)) cur = next;
      else {
        const created: ErrorTree = {};
        cur[key] = created;
        cur = created;
      }
    }
    (cur.__errors ??= []).push(p.message);
  }
  return root;
}

/** fieldMessages returns the messages of the problems whose path starts with prefix. */
export function fieldMessages(problems: readonly FieldProblem[] | undefined, ...prefix: string[]): string[] {
  return (problems ?? []).filter((p) => prefix.every((k, i) => p.path[i] === k)).map((p) => p.message);
}

type SchemaNode = Record<string, unknown>;

function asSchema(v: unknown): SchemaNode | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as SchemaNode) : undefined;
}

/**
 * problemLabel names the field a problem's path points at the way the form titles it: a property by
 * its schema title (or name), a list item as "Case 1" (itemTitle, numbered from 1), so that the
 * pointer /nodes/3/config/cases/0 reads "Case 1" wherever it is shown. configSchema is the node
 * type's config schema; without it the names in the path are used.
 */
export function problemLabel(path: readonly string[], configSchema?: unknown): string {
  const labels: string[] = [];
  const inConfig = path[0] === 'config';
  let cur = inConfig ? asSchema(configSchema) : undefined;
  for (const [i, token] of path.entries()) {
    if (inConfig && i === 0) continue;
    if (/^\d+$/.test(token) && labels.length > 0) {
      labels.push(itemTitle(labels.pop()!, Number(token)));
      cur = asSchema(cur?.items);
      continue;
    }
    const prop = asSchema(asSchema(cur?.properties)?.[token]);
    labels.push(typeof prop?.title === 'string' && prop.title ? prop.title : token);
    cur = prop;
  }
  return labels.join(' › ');
}
