import { queryOptions } from '@tanstack/react-query';

import type { components } from './api.gen';
import { request } from './http';

/** NodeTypeFromAPI is a node type as GET /api/v1/node-types returns it. */
export type NodeTypeFromAPI = components['schemas']['NodeType'];

/** NodeTypePluginFromAPI names the plugin version a node type comes from. */
export type NodeTypePluginFromAPI = components['schemas']['NodeTypePlugin'];

/** Port is a named input or output of a node. */
export interface Port {
  description?: string;
  name: string;
  title: string;
}

/** JsonSchema is a JSON Schema object as the node types carry it. */
export type JsonSchema = { [key: string]: unknown };

/** NodeTypeInfo is the UI's view of a node type. */
export interface NodeTypeInfo {
  category: string;
  configSchema: JsonSchema;
  description: string;
  /** docs is the type's documentation in Markdown (no top-level heading); empty when it has none. */
  docs: string;
  dynamicPorts: boolean;
  icon: string;
  inputs: Port[];
  outputs: Port[];
  /** outputSchema describes what the node emits before a run shows real data (see lib/outputShape); undefined when unknown. */
  outputSchema?: JsonSchema;
  /** plugin is the plugin version that adds the type; undefined for built-in types. */
  plugin?: NodeTypePluginFromAPI;
  title: string;
  trigger: boolean;
  type: string;
  version: number;
}

/** Catalog maps a type name to its description. */
export type Catalog = ReadonlyMap<string, NodeTypeInfo>;

function toPort(p: components['schemas']['PortSpec']): Port {
  return { description: p.description, name: p.name, title: p.title || p.name };
}

/** nodeTypeFromAPI maps the API shape to NodeTypeInfo. */
export function nodeTypeFromAPI(t: NodeTypeFromAPI): NodeTypeInfo {
  const schema = t.configSchema && typeof t.configSchema === 'object' ? (t.configSchema as JsonSchema) : { type: 'object' };
  return {
    category: t.category || 'Other',
    configSchema: schema,
    description: t.description,
    docs: t.docs ?? '',
    dynamicPorts: t.dynamicPorts,
    icon: t.icon ?? '',
    inputs: (t.inputs ?? []).map(toPort),
    outputs: (t.outputs ?? []).map(toPort),
    outputSchema: t.outputSchema && typeof t.outputSchema === 'object' ? (t.outputSchema as JsonSchema) : undefined,
    plugin: t.plugin,
    title: t.title || t.type,
    trigger: t.trigger,
    type: t.type,
    version: t.version,
  };
}

/** CATEGORY_ORDER puts the categories a user reaches for first at the top of the palette (the order of nodedoc.Categories in Go). */
const CATEGORY_ORDER = ['Triggers', 'Flow', 'Data', 'Code', 'Files', 'HTTP', 'Databases', 'Messaging', 'Storage', 'AI'];

/** sortNodeTypes orders types by category (triggers first), then title. */
export function sortNodeTypes(types: readonly NodeTypeInfo[]): NodeTypeInfo[] {
  const rank = (c: string) => {
    const i = CATEGORY_ORDER.indexOf(c);
    return i === -1 ? CATEGORY_ORDER.length : i;
  };
  return [...types].sort((a, b) => rank(a.category) - rank(b.category) || a.category.localeCompare(b.category) || a.title.localeCompare(b.title));
}

/** TypeMatches splits the types a search finds: those it names (type, title or category) and those only their description mentions. */
export interface TypeMatches {
  mentions: NodeTypeInfo[];
  names: NodeTypeInfo[];
}

/** searchTypes finds the types whose name, title, category, plugin or description holds every word of query, those it names first. */
export function searchTypes(types: readonly NodeTypeInfo[], query: string): TypeMatches {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return { mentions: [], names: [...types] };
  const found: TypeMatches = { mentions: [], names: [] };
  for (const t of types) {
    const name = `${t.type} ${t.title} ${t.category}${t.plugin ? ` ${t.plugin.name} plugin` : ''}`.toLowerCase();
    if (words.every((w) => name.includes(w))) found.names.push(t);
    else if (words.every((w) => name.includes(w) || t.description.toLowerCase().includes(w))) found.mentions.push(t);
  }
  return found;
}

/** filterTypes keeps the types searchTypes finds, the types the query names before those it only finds in a description. */
export function filterTypes(types: readonly NodeTypeInfo[], query: string): NodeTypeInfo[] {
  const { mentions, names } = searchTypes(types, query);
  return [...names, ...mentions];
}

/** groupByCategory groups types by category, keeping the order they come in (sortNodeTypes'). */
export function groupByCategory(types: readonly NodeTypeInfo[]): [string, NodeTypeInfo[]][] {
  const groups = new Map<string, NodeTypeInfo[]>();
  for (const t of types) {
    const list = groups.get(t.category) ?? [];
    list.push(t);
    groups.set(t.category, list);
  }
  return [...groups];
}

/** nodeTypeQueries holds the query factories for node types. */
export const nodeTypeQueries = {
  all: () => ['node-types'] as const,
  list: () =>
    queryOptions({
      queryFn: async ({ signal }) => {
        const res = await request<components['schemas']['ListNodeTypesOutputBody']>('/api/v1/node-types', { signal });
        return sortNodeTypes((res.data.items ?? []).map(nodeTypeFromAPI));
      },
      queryKey: [...nodeTypeQueries.all(), 'list'] as const,
      // Plugins change the catalogue while the server runs: the Plugins page invalidates it when it
      // sees them change, and coming back to the tab asks again. That costs a 304 when nothing
      // changed (the browser revalidates with the catalogue's ETag), and structural sharing keeps
      // the same data, so nothing re-renders.
      refetchOnWindowFocus: 'always',
      staleTime: Infinity,
    }),
};

/** toCatalog indexes a list of types by name. */
export function toCatalog(types: readonly NodeTypeInfo[]): Catalog {
  return new Map(types.map((t) => [t.type, t]));
}
