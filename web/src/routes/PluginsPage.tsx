import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Puzzle, RefreshCw } from 'lucide-react';
import { useEffect } from 'react';

import { Button } from '@components/Button';
import { PageHeader } from '@components/PageHeader';
import { EmptyState, ErrorState, Spinner } from '@components/States';
import { PluginCard } from '@features/plugins/PluginCard';
import { useCan } from '@hooks/use-me';
import { toast } from '@lib/toast';
import { errorMessage } from '@services/http';
import { nodeTypeQueries } from '@services/nodeTypes';
import { catalogOutOfDate, pluginQueries, reloadPlugins, type PluginFromAPI } from '@services/plugins';
import { useDocumentTitle } from '@hooks/use-document-title';

/** PLUGINS_DOCS is the guide to writing plugins (docs/plugins.md in the repository). */
export const PLUGINS_DOCS = 'https://github.com/concertmaster/concertmaster/blob/main/docs/plugins.md';

/** reloadSummary says what a reload found: "2 plugins: 1 active, 1 refused". */
export function reloadSummary(items: readonly PluginFromAPI[]): string {
  if (items.length === 0) return 'No plugins in the plugin folder';
  const refused = items.filter((p) => p.status === 'refused').length;
  const n = `${items.length} plugin${items.length === 1 ? '' : 's'}`;
  return refused === 0 ? `${n}, all active` : `${n}: ${items.length - refused} active, ${refused} refused`;
}

/**
 * PluginsPage lists the folders of the server's plugin directory (CM_PLUGIN_DIR), read again every
 * few seconds since the server applies changes to the folder by itself; admins can ask for a reload
 * now. When the plugins in service change, the node type catalogue is read again, so that the
 * editor's palette and forms show the new types.
 */
export function PluginsPage() {
  useDocumentTitle('Plugins');
  const queryClient = useQueryClient();
  const admin = useCan('admin');
  const list = useQuery(pluginQueries.list());
  const reload = useMutation({
    mutationFn: reloadPlugins,
    onError: (e) => toast.error(errorMessage(e), { title: 'Plugins not reloaded' }),
    onSuccess: (items) => {
      queryClient.setQueryData(pluginQueries.list().queryKey, items);
      toast.success(reloadSummary(items), { title: 'Plugins reloaded' });
    },
  });

  // A plugin added, replaced or removed: the cached catalogue no longer matches, read it again.
  useEffect(() => {
    if (!list.data) return;
    const types = queryClient.getQueryData(nodeTypeQueries.list().queryKey);
    if (types && catalogOutOfDate(types, list.data)) void queryClient.invalidateQueries({ queryKey: nodeTypeQueries.all() });
  }, [list.data, queryClient]);

  const items = list.data ?? [];
  return (
    <div className="mx-auto max-w-6xl px-8 py-8" data-page="plugins" data-ready={list.isSuccess ? 'true' : undefined}>
      <PageHeader
        actions={
          admin && (
            <Button
              disabled={reload.isPending}
              icon={<RefreshCw aria-hidden className={reload.isPending ? 'size-4 animate-spin' : 'size-4'} />}
              onClick={() => reload.mutate()}
              title="Look at the plugin folder now instead of within the second the server takes"
            >
              Reload
            </Button>
          )
        }
        title="Plugins"
      >
        Node types added while the server runs, from the folders of its plugin directory: WebAssembly modules run sandboxed, processes are trusted programs.
        Changes to the folder take effect within a second.
      </PageHeader>
      {list.isPending ? (
        <Spinner label="Loading plugins…" />
      ) : list.isError && !list.data ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} title="Plugins could not be loaded" />
      ) : items.length === 0 ? (
        <EmptyState icon={<Puzzle className="size-8" />} title="No plugins loaded">
          <p>
            The server loads each folder of its plugin directory, <code>CM_PLUGIN_DIR</code> (<code>./data/plugins</code> unless set; <code>off</code> loads
            none): a <code>plugin.json</code> with a WebAssembly module or a program beside it. Put one there and it shows here within a second.
          </p>
          <p className="mt-2">
            <a className="font-medium text-indigo-600 hover:underline dark:text-indigo-400" href={PLUGINS_DOCS} rel="noreferrer" target="_blank">
              How to write a plugin (docs/plugins.md)
            </a>
          </p>
        </EmptyState>
      ) : (
        <div className="grid gap-4" data-testid="plugin-list">
          {items.map((p) => (
            <PluginCard key={p.folder} plugin={p} />
          ))}
        </div>
      )}
    </div>
  );
}
