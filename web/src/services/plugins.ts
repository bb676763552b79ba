import { queryOptions } from '@tanstack/react-query';

import type { components } from './api.gen';
import { request } from './http';
import type { NodeTypeInfo } from './nodeTypes';

/** PluginFromAPI is one folder of the plugin directory as GET /api/v1/plugins returns it. */
export type PluginFromAPI = components['schemas']['Plugin'];

/** PluginProblemFromAPI is one reason a plugin folder was refused: a JSON pointer into its plugin.json and a message. */
export type PluginProblemFromAPI = components['schemas']['PluginProblem'];

/** PluginRuntimeFromAPI is what the server shows of a plugin's runtime (WebAssembly instances, or a process). */
export type PluginRuntimeFromAPI = components['schemas']['RuntimeStats'];

type ListPluginsFromAPI = components['schemas']['ListPluginsOutputBody'];

/** PLUGINS_POLL_MS is how often the Plugins page reads the list again: the server applies a change to the folder within a second. */
export const PLUGINS_POLL_MS = 3_000;

/** KIND_LABELS names a plugin's kind for people. */
export const KIND_LABELS: Record<NonNullable<PluginFromAPI['kind']>, string> = { process: 'Process', wasm: 'WebAssembly' };

/** listOf turns the API's list (whose nullable arrays come as null or absent from older servers) into plugins with arrays. */
function listOf(body: ListPluginsFromAPI | undefined): PluginFromAPI[] {
  return (body?.items ?? []).map((p) => ({ ...p, errors: p.errors ?? [], nodeTypes: p.nodeTypes ?? [], retired: p.retired ?? [] }));
}

/** reloadPlugins asks the server to look at the plugin directory now (admins); it answers the plugins as the list does. */
export async function reloadPlugins(): Promise<PluginFromAPI[]> {
  const res = await request<ListPluginsFromAPI>('/api/v1/plugins/reload', { method: 'POST' });
  return listOf(res.data);
}

/** pluginQueries holds the query factories for plugins. */
export const pluginQueries = {
  all: () => ['plugins'] as const,
  /** list is every plugin folder; it is read again every PLUGINS_POLL_MS while a page shows it. */
  list: () =>
    queryOptions({
      queryFn: async ({ signal }) => listOf((await request<ListPluginsFromAPI>('/api/v1/plugins', { signal })).data),
      queryKey: [...pluginQueries.all(), 'list'] as const,
      refetchInterval: PLUGINS_POLL_MS,
      staleTime: 0,
    }),
};

/** servingDigests is the set of plugin versions in service according to the plugins list (their content digests). */
function servingDigests(plugins: readonly PluginFromAPI[]): Set<string> {
  return new Set(plugins.filter((p) => p.digest && (p.nodeTypes ?? []).length > 0).map((p) => p.digest!));
}

/**
 * catalogOutOfDate reports whether a node type catalogue was read before the plugins changed: the
 * plugin versions its types come from are not the ones the plugins list says serve (a plugin added,
 * replaced or removed since). The editor's palette and forms then need the catalogue again.
 */
export function catalogOutOfDate(types: readonly NodeTypeInfo[], plugins: readonly PluginFromAPI[]): boolean {
  const inCatalog = new Set(types.flatMap((t) => (t.plugin ? [t.plugin.digest] : [])));
  const serving = servingDigests(plugins);
  if (inCatalog.size !== serving.size) return true;
  for (const d of serving) if (!inCatalog.has(d)) return true;
  return false;
}
