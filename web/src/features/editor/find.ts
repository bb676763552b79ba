import type { Catalog } from '@services/nodeTypes';

import { typeLabel, type WorkflowNode } from './graphModel';

/** FoundNode is one match of a find on the canvas. */
export interface FoundNode {
  id: string;
  title: string;
  type: string;
}

/** MAX_FOUND bounds the list a find shows. */
export const MAX_FOUND = 50;

/**
 * findNodes lists the nodes whose title, id or type (or type's title) hold every word of query, case
 * and accents aside: those whose title or id starts with the query first, then the rest, each in canvas
 * order. An empty query lists every node. At most limit matches are returned.
 */
export function findNodes(nodes: readonly Pick<WorkflowNode, 'data' | 'id'>[], catalog: Catalog, query: string, limit = MAX_FOUND): FoundNode[] {
  const words = fold(query).split(/\s+/).filter(Boolean);
  const q = words.join(' ');
  const first: FoundNode[] = [];
  const rest: FoundNode[] = [];
  for (const n of nodes) {
    const title = typeLabel(catalog, n.data);
    const found = { id: n.id, title, type: n.data.type };
    if (words.length === 0) {
      first.push(found);
    } else {
      const t = fold(title);
      const hay = `${t} ${fold(n.id)} ${fold(n.data.type)} ${fold(catalog.get(n.data.type)?.title ?? '')}`;
      if (!words.every((w) => hay.includes(w))) continue;
      (t.startsWith(q) || fold(n.id).startsWith(q) ? first : rest).push(found);
    }
    if (first.length >= limit) break;
  }
  return [...first, ...rest].slice(0, limit);
}

function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}
