import { infiniteQueryOptions, keepPreviousData, queryOptions } from '@tanstack/react-query';

import type { components } from './api.gen';
import { ApiError, etagVersion, request } from './http';

/** WorkflowFromAPI is a workflow as the API returns it. */
export type WorkflowFromAPI = components['schemas']['Workflow'];
/** WorkflowSummaryFromAPI is a workflow in a list. */
export type WorkflowSummaryFromAPI = components['schemas']['WorkflowSummary'];
/** DefinitionFromAPI is the editable body of a workflow: what POST and PUT take. */
export type DefinitionFromAPI = components['schemas']['Definition'];
/** NodeFromAPI is one node of a definition. */
export type NodeFromAPI = components['schemas']['Node'];
/** EdgeFromAPI is one edge of a definition. */
export type EdgeFromAPI = components['schemas']['Edge'];
/** NoteFromAPI is a sticky note on the canvas. */
export type NoteFromAPI = components['schemas']['Note'];
/** SettingsFromAPI is a workflow's execution settings. */
export type SettingsFromAPI = components['schemas']['Settings'];
/** RetryPolicyFromAPI is a node's retry policy. */
export type RetryPolicyFromAPI = components['schemas']['RetryPolicy'];
/** WorkflowVersionFromAPI is one saved version of a workflow, with its definition. */
export type WorkflowVersionFromAPI = components['schemas']['WorkflowVersion'];
/** VersionSummaryFromAPI is a version in the list of a workflow's versions (no definition). */
export type VersionSummaryFromAPI = components['schemas']['WorkflowVersionSummary'];
type ListBody = components['schemas']['ListWorkflowsOutputBody'];
type ListVersionsBody = components['schemas']['ListVersionsOutputBody'];

/** VersionPage is one page of a workflow's versions, newest first. */
export interface VersionPage {
  items: VersionSummaryFromAPI[];
  nextCursor: string | null;
}

/** VERSIONS_PAGE_SIZE is how many versions one page of the history holds. */
export const VERSIONS_PAGE_SIZE = 20;

/** WorkflowPage is one page of the workflow list. */
export interface WorkflowPage {
  items: WorkflowSummaryFromAPI[];
  nextCursor: string | null;
}

/** WorkflowListParams filters and pages the workflow list. */
export interface WorkflowListParams {
  cursor?: string;
  limit?: number;
  name?: string;
  /** tag keeps workflows carrying this tag (ignoring case). */
  tag?: string;
}

/** toDefinition strips a workflow down to the body POST and PUT take. */
export function toDefinition(w: WorkflowFromAPI | DefinitionFromAPI): DefinitionFromAPI {
  const def: DefinitionFromAPI = { edges: w.edges ?? [], name: w.name, nodes: w.nodes ?? [] };
  if (w.description) def.description = w.description;
  if (w.tags?.length) def.tags = w.tags;
  if (w.settings && Object.keys(w.settings).length > 0) def.settings = w.settings;
  if (w.notes && w.notes.length > 0) def.notes = w.notes;
  return def;
}

/** workflowQueries holds the query factories for workflows. */
export const workflowQueries = {
  all: () => ['workflows'] as const,
  detail: (id: string) =>
    queryOptions({
      queryFn: async ({ signal }) => {
        const res = await request<WorkflowFromAPI>(`/api/v1/workflows/${encodeURIComponent(id)}`, { signal });
        return res.data;
      },
      queryKey: [...workflowQueries.all(), 'detail', id] as const,
    }),
  list: (params: WorkflowListParams) =>
    queryOptions({
      placeholderData: keepPreviousData,
      queryFn: async ({ signal }): Promise<WorkflowPage> => {
        const res = await request<ListBody>('/api/v1/workflows', {
          query: { cursor: params.cursor, limit: params.limit ?? 20, name: params.name, tag: params.tag || undefined },
          signal,
        });
        return { items: res.data.items ?? [], nextCursor: res.data.nextCursor ?? null };
      },
      queryKey: [...workflowQueries.all(), 'list', params] as const,
    }),
  /** tags lists every tag the workspace's workflows carry, most used first. */
  tags: () =>
    queryOptions({
      queryFn: async ({ signal }) => {
        const res = await request<components['schemas']['ListTagsOutputBody']>('/api/v1/workflow-tags', { signal });
        return res.data.items ?? [];
      },
      queryKey: [...workflowQueries.all(), 'tags'] as const,
    }),
  /** versions pages through a workflow's versions, newest first. */
  versions: (id: string, pageSize = VERSIONS_PAGE_SIZE) =>
    infiniteQueryOptions({
      initialPageParam: undefined as string | undefined,
      queryFn: async ({ pageParam, signal }): Promise<VersionPage> => {
        const res = await request<ListVersionsBody>(`/api/v1/workflows/${encodeURIComponent(id)}/versions`, {
          query: { cursor: pageParam, limit: pageSize },
          signal,
        });
        return { items: res.data.items ?? [], nextCursor: res.data.nextCursor ?? null };
      },
      getNextPageParam: (last: VersionPage) => last.nextCursor ?? undefined,
      queryKey: [...workflowQueries.all(), 'versions', id, pageSize] as const,
    }),
  version: (id: string, version: number) =>
    queryOptions({
      queryFn: async ({ signal }) => {
        const res = await request<components['schemas']['WorkflowVersion']>(`/api/v1/workflows/${encodeURIComponent(id)}/versions/${version}`, { signal });
        return res.data;
      },
      queryKey: [...workflowQueries.all(), 'version', id, version] as const,
      staleTime: Infinity,
    }),
};

/**
 * NEW_WORKFLOW_PATH opens the editor on a draft that is not saved yet: the first change (or an
 * explicit save) creates the workflow and the address becomes /workflows/<id>. Leaving the draft
 * untouched leaves nothing behind.
 */
export const NEW_WORKFLOW_PATH = '/workflows/new';
/** NEW_WORKFLOW_ID is the :id of NEW_WORKFLOW_PATH; server ids never take that form. */
export const NEW_WORKFLOW_ID = 'new';

/** newWorkflowDraft is what a new workflow starts as: a manual trigger to build from. */
export function newWorkflowDraft(): DefinitionFromAPI {
  return { edges: [], name: 'Untitled workflow', nodes: [{ id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' }] };
}

/** createWorkflow saves a new workflow (version 1). */
export async function createWorkflow(def: DefinitionFromAPI): Promise<WorkflowFromAPI> {
  const res = await request<WorkflowFromAPI>('/api/v1/workflows', { body: def, method: 'POST' });
  return res.data;
}

/**
 * updateWorkflow saves def as the next version of workflow id. version is the version the edit started
 * from; the server answers 412 (an ApiError) when someone saved another version since.
 */
export async function updateWorkflow(id: string, def: DefinitionFromAPI, version: number): Promise<WorkflowFromAPI> {
  const res = await request<WorkflowFromAPI>(`/api/v1/workflows/${encodeURIComponent(id)}`, {
    body: def,
    headers: { 'If-Match': `"${version}"` },
    method: 'PUT',
  });
  const v = etagVersion(res.etag);
  return v !== null && v !== res.data.version ? { ...res.data, version: v } : res.data;
}

/** deleteWorkflow removes a workflow; its executions stay readable. */
export async function deleteWorkflow(id: string): Promise<void> {
  await request<undefined>(`/api/v1/workflows/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

/** fetchWorkflow reads one workflow outside a query (for rename, duplicate, export). */
export async function fetchWorkflow(id: string): Promise<WorkflowFromAPI> {
  return (await request<WorkflowFromAPI>(`/api/v1/workflows/${encodeURIComponent(id)}`)).data;
}

/** renameWorkflow reads the current version and saves it under a new name. */
export async function renameWorkflow(id: string, name: string): Promise<WorkflowFromAPI> {
  const current = await fetchWorkflow(id);
  return updateWorkflow(id, { ...toDefinition(current), name }, current.version);
}

/** duplicateWorkflow copies a workflow into a new one named "<name> (copy)". */
export async function duplicateWorkflow(id: string): Promise<WorkflowFromAPI> {
  const current = await fetchWorkflow(id);
  return createWorkflow({ ...toDefinition(current), name: `${current.name} (copy)`.slice(0, 200) });
}

/** ValidationResult is the answer of POST /workflows/validate: valid, or the 422 problem. */
export type ValidationResult = { valid: true } | { problem: components['schemas']['ErrorModel']; valid: false };

/** validateWorkflow checks a definition without saving it. A 422 is a result, not an error. */
export async function validateWorkflow(def: DefinitionFromAPI, signal?: AbortSignal): Promise<ValidationResult> {
  try {
    await request<components['schemas']['ValidateOutputBody']>('/api/v1/workflows/validate', { body: def, method: 'POST', signal });
    return { valid: true };
  } catch (e) {
    if (e instanceof ApiError && e.status === 422 && e.problem) return { problem: e.problem, valid: false };
    throw e;
  }
}

/** parseImportedWorkflow reads an exported workflow file into a definition, or throws with a reason. */
export function parseImportedWorkflow(text: string): DefinitionFromAPI {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`The file is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('The file does not hold a workflow object.');
  const o = raw as Record<string, unknown>;
  if (!Array.isArray(o.nodes)) throw new Error('The file has no "nodes" array: it is not a workflow export.');
  const def: DefinitionFromAPI = {
    edges: Array.isArray(o.edges) ? (o.edges as EdgeFromAPI[]) : [],
    name: typeof o.name === 'string' && o.name.trim() ? o.name : 'Imported workflow',
    nodes: o.nodes as NodeFromAPI[],
  };
  if (typeof o.description === 'string') def.description = o.description;
  if (Array.isArray(o.tags) && o.tags.every((t) => typeof t === 'string')) def.tags = o.tags as string[];
  if (o.settings && typeof o.settings === 'object') def.settings = o.settings as SettingsFromAPI;
  return def;
}

/** setWorkflowActive switches a workflow's webhook and schedule triggers on or off. */
export async function setWorkflowActive(id: string, active: boolean): Promise<WorkflowFromAPI> {
  const res = await request<WorkflowFromAPI>(`/api/v1/workflows/${encodeURIComponent(id)}/${active ? 'activate' : 'deactivate'}`, { method: 'POST' });
  return res.data;
}
