import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import clsx from 'clsx';
import { GitCompare, RotateCcw, X } from 'lucide-react';
import { useEffect, useMemo, useState } from 'react';

import { Button } from '@components/Button';
import { ConfirmDialog } from '@components/ConfirmDialog';
import { IconButton } from '@components/IconButton';
import { Spinner } from '@components/States';
import { formatDateTime, formatRelative } from '@lib/format';
import { toast } from '@lib/toast';
import { errorMessage, isApiError } from '@services/http';
import { toDefinition, updateWorkflow, workflowQueries, type VersionSummaryFromAPI } from '@services/workflows';

import { useEditorApi, useEditorStore } from '../EditorContext';
import { isDirty } from '../store';
import { VersionDiffDialog } from './VersionDiffDialog';

/** author says who saved a version: a user's name (or e-mail), or "API key <id>"; null when the server does not know. */
export function author(v: VersionSummaryFromAPI): string | null {
  const a = v.author;
  if (!a?.name) return null;
  return a.kind === 'apikey' ? `API key ${a.name}` : a.name;
}

/**
 * VersionsPanel is the workflow's history: its saved versions newest first (paged), the one the editor
 * holds marked current, a visual diff of any two, and, for editors, "restore as new version", which
 * saves an old definition as the next version (asking first when there are unsaved changes).
 */
export function VersionsPanel({ onClose }: { onClose: () => void }) {
  const store = useEditorApi();
  const queryClient = useQueryClient();
  const workflowId = useEditorStore((s) => s.workflowId);
  const current = useEditorStore((s) => s.version);
  const readOnly = useEditorStore((s) => s.readOnly);
  const catalog = useEditorStore((s) => s.catalog);
  const dirty = useEditorStore(isDirty);
  const list = useInfiniteQuery(workflowQueries.versions(workflowId));
  const items = useMemo(() => list.data?.pages.flatMap((p) => p.items) ?? [], [list.data]);
  const numbers = useMemo(() => items.map((v) => v.version), [items]);
  // A save in the editor (or a reload of someone else's) makes a version the list does not have yet.
  const newest = items[0]?.version;
  useEffect(() => {
    if (newest !== undefined && newest < current) void queryClient.invalidateQueries({ queryKey: [...workflowQueries.all(), 'versions', workflowId] });
  }, [newest, current, queryClient, workflowId]);
  const [compare, setCompare] = useState<{ a: number; b: number } | null>(null);
  const [restoring, setRestoring] = useState<number | null>(null);

  const restore = useMutation({
    mutationFn: async (version: number) => {
      const old = await queryClient.fetchQuery(workflowQueries.version(workflowId, version));
      // The definition goes back as the version holds it (tags and all), not as the editor would rebuild it.
      return updateWorkflow(workflowId, old.definition, store.getState().version);
    },
    onError: (e) =>
      toast.error(isApiError(e, 412) ? 'Someone saved a newer version meanwhile. Reload the workflow, then restore.' : errorMessage(e), {
        title: 'Not restored',
      }),
    onSuccess: (wf, version) => {
      store.getState().replaceDefinition(toDefinition(wf), wf.version);
      queryClient.setQueryData(workflowQueries.detail(wf.id).queryKey, wf);
      // The history is read again by the effect above, now that the current version is not listed.
      void queryClient.invalidateQueries({ queryKey: [...workflowQueries.all(), 'list'] });
      setRestoring(null);
      toast.success(`Restored version ${version} as version ${wf.version}`);
    },
  });

  const openCompare = (v: number) => {
    if (v !== current) setCompare({ a: v, b: current });
    else if (v > 1) setCompare({ a: v - 1, b: v });
  };

  return (
    <aside
      aria-label="History"
      className="flex w-[320px] shrink-0 flex-col border-l border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900"
      data-testid="versions-panel"
      onKeyDown={(e) => {
        if (e.key === 'Escape' && !compare && restoring === null) {
          e.stopPropagation();
          onClose();
        }
      }}
    >
      <div className="flex items-center justify-between border-b border-zinc-200 px-4 py-2.5 dark:border-zinc-800">
        <h2 className="font-semibold">History</h2>
        <IconButton autoFocus label="Close history" onClick={onClose}>
          <X className="size-4" />
        </IconButton>
      </div>
      <div className="min-h-0 flex-1 overflow-auto">
        {list.isPending ? (
          <Spinner label="Loading versions…" />
        ) : list.isError ? (
          <p className="p-4 text-sm text-red-600 dark:text-red-400" role="alert">
            Could not load the versions: {errorMessage(list.error)}
          </p>
        ) : (
          <ol aria-label="Versions, newest first" className="divide-y divide-zinc-100 dark:divide-zinc-800">
            {items.map((v) => {
              const isCurrent = v.version === current;
              const who = author(v);
              return (
                <li
                  key={v.version}
                  aria-current={isCurrent ? 'true' : undefined}
                  className={clsx('px-4 py-2.5', isCurrent && 'bg-indigo-50/70 dark:bg-indigo-950/40')}
                  data-testid="version-row"
                  data-version={v.version}
                >
                  <div className="flex items-center gap-2">
                    <span className="font-semibold">Version {v.version}</span>
                    {isCurrent && (
                      <span
                        className="rounded-full bg-indigo-100 px-2 py-0.5 text-xs font-medium text-indigo-700 dark:bg-indigo-900 dark:text-indigo-200"
                        data-testid="current-version"
                      >
                        Current
                      </span>
                    )}
                    <div className="ml-auto flex items-center gap-0.5">
                      <IconButton
                        disabled={isCurrent && v.version <= 1}
                        label={
                          isCurrent ? `Compare version ${v.version} with version ${v.version - 1}` : `Compare version ${v.version} with the current version`
                        }
                        onClick={() => openCompare(v.version)}
                      >
                        <GitCompare className="size-4" />
                      </IconButton>
                      {!readOnly && !isCurrent && (
                        <IconButton label={`Restore version ${v.version}`} onClick={() => setRestoring(v.version)}>
                          <RotateCcw className="size-4" />
                        </IconButton>
                      )}
                    </div>
                  </div>
                  <div className="text-xs text-zinc-600 dark:text-zinc-400">
                    <time dateTime={v.createdAt} title={formatDateTime(v.createdAt)}>
                      {formatRelative(v.createdAt)}
                    </time>
                    <span aria-hidden> · </span>
                    <span>{formatDateTime(v.createdAt)}</span>
                    {who && <span className="block truncate">by {who}</span>}
                  </div>
                </li>
              );
            })}
          </ol>
        )}
        {list.hasNextPage && (
          <div className="p-3">
            <Button className="w-full" disabled={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()} size="sm">
              {list.isFetchingNextPage ? 'Loading…' : 'Load older versions'}
            </Button>
          </div>
        )}
      </div>

      {compare && (
        <VersionDiffDialog
          a={compare.a}
          b={compare.b}
          catalog={catalog}
          current={current}
          onChange={(a, b) => setCompare({ a, b })}
          onClose={() => setCompare(null)}
          onRestore={
            readOnly
              ? undefined
              : (v) => {
                  setCompare(null);
                  setRestoring(v);
                }
          }
          versions={numbers}
          workflowId={workflowId}
        />
      )}
      <ConfirmDialog
        busy={restore.isPending}
        confirmLabel={dirty ? 'Discard changes and restore' : 'Restore'}
        danger={dirty}
        onCancel={() => setRestoring(null)}
        onConfirm={() => restoring !== null && restore.mutate(restoring)}
        open={restoring !== null}
        title={`Restore version ${restoring ?? ''}?`}
      >
        <p>
          Version {restoring} is saved again as the next version; the versions after it stay in the history, and the editor then shows the restored workflow.
        </p>
        {dirty && (
          <p className="mt-2 font-medium text-amber-700 dark:text-amber-400" data-testid="restore-dirty-warning">
            You have unsaved changes. Restoring discards them; save first to keep them as a version.
          </p>
        )}
      </ConfirmDialog>
    </aside>
  );
}
