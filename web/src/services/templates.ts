import { queryOptions } from '@tanstack/react-query';

import type { components } from './api.gen';
import { request } from './http';
import type { WorkflowFromAPI } from './workflows';

/** TemplateFromAPI is a workflow template of the gallery (credentialTypes: one credential of each is needed). */
export type TemplateFromAPI = components['schemas']['TemplateSummary'];

/** TemplateDetailFromAPI is a template with its definition (credential fields hold $credential:<type> placeholders). */
export type TemplateDetailFromAPI = components['schemas']['Template'];

/** InstantiateTemplate is what POST /templates/{id}/instantiate takes: a credential id per type. */
export type InstantiateTemplate = components['schemas']['InstantiateTemplateInputBody'];

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
      queryFn: async ({ signal }) => (await request<components['schemas']['ListTemplatesOutputBody']>('/api/v1/templates', { signal })).data.items ?? [],
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
