import { queryOptions } from '@tanstack/react-query';

import { request } from './http';
import type { DefinitionFromAPI, WorkflowFromAPI } from './workflows';

/** TemplateFromAPI is a workflow template of the gallery. */
export interface TemplateFromAPI {
  /** credentialTypes are the credential types it needs: one credential of each. */
  credentialTypes?: string[] | null;
  description: string;
  id: string;
  name: string;
  nodeTypes?: string[] | null;
  tags?: string[] | null;
}

/** TemplateDetailFromAPI is a template with its definition (credential fields hold placeholders). */
export interface TemplateDetailFromAPI extends TemplateFromAPI {
  definition: DefinitionFromAPI;
}

/** InstantiateTemplate is what POST /templates/{id}/instantiate takes: a credential id per type. */
export interface InstantiateTemplate {
  credentials: Record<string, string>;
  name?: string;
}

/** templateQueries holds the query factories for templates. */
export const templateQueries = {
  all: () => ['templates'] as const,
  detail: (id: string) =>
    queryOptions({
      queryFn: async ({ signal }) => (await request<TemplateDetailFromAPI>(`/api/v1/templates/${encodeURIComponent(id)}`, { signal })).data,
      queryKey: [...templateQueries.all(), 'detail', id] as const,
      staleTime: Infinity,
    }),
  list: () =>
    queryOptions({
      queryFn: async ({ signal }) => (await request<{ items?: TemplateFromAPI[] | null }>('/api/v1/templates', { signal })).data.items ?? [],
      queryKey: [...templateQueries.all(), 'list'] as const,
      staleTime: 5 * 60_000,
    }),
};

/** instantiateTemplate creates a workflow from a template with the credentials chosen for it. */
export async function instantiateTemplate(id: string, body: InstantiateTemplate): Promise<WorkflowFromAPI> {
  return (await request<WorkflowFromAPI>(`/api/v1/templates/${encodeURIComponent(id)}/instantiate`, { body, method: 'POST' })).data;
}

/** filterTemplates keeps the templates whose name, description, tags or node types hold every word of query. */
export function filterTemplates(items: readonly TemplateFromAPI[], query: string): TemplateFromAPI[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...items];
  return items.filter((t) => {
    const hay = `${t.name} ${t.description} ${(t.tags ?? []).join(' ')} ${(t.nodeTypes ?? []).join(' ')}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}
