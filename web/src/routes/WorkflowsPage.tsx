import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Copy, Download, LayoutTemplate, Pencil, Plus, Search, Trash, Upload, Workflow } from 'lucide-react';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';

import { Button } from '@components/Button';
import { ConfirmDialog } from '@components/ConfirmDialog';
import { Dialog } from '@components/Dialog';
import { IconButton } from '@components/IconButton';
import { PageHeader } from '@components/PageHeader';
import { Pager } from '@components/Pager';
import { SearchInput } from '@components/SearchInput';
import { EmptyState, ErrorState, Spinner } from '@components/States';
import { StatusBadge } from '@components/StatusBadge';
import { NewFromTemplateDialog } from '@features/templates/NewFromTemplateDialog';
import { useCursorPages } from '@hooks/use-cursor-pages';
import { useDebouncedValue } from '@hooks/use-debounced-value';
import { useCan } from '@hooks/use-me';
import { useExecutionsFeed } from '@hooks/use-live';
import { formatRelative } from '@lib/format';
import { downloadJson, readFileText } from '@lib/json';
import { toast } from '@lib/toast';
import { executionQueries, type ExecutionFromAPI } from '@services/executions';
import { ApiError, errorMessage } from '@services/http';
import {
  createWorkflow,
  NEW_WORKFLOW_PATH,
  deleteWorkflow,
  duplicateWorkflow,
  fetchWorkflow,
  parseImportedWorkflow,
  renameWorkflow,
  setWorkflowActive,
  toDefinition,
  workflowQueries,
  type WorkflowSummaryFromAPI,
} from '@services/workflows';
import { useDocumentTitle } from '@hooks/use-document-title';

const PAGE_SIZE = 20;
/** RECENT_RUNS is how many of the latest executions the "Last run" column is drawn from. */
const RECENT_RUNS = 100;

/**
 * workflowsPageQueries are the reads the page starts with (for ?q=name&tag=t): the route's loader starts
 * them while the session and /auth/me are read, so that the first paint waits for one round trip, not two.
 */
export function workflowsPageQueries(params: URLSearchParams) {
  return [
    workflowQueries.list({ cursor: undefined, limit: PAGE_SIZE, name: (params.get('q') ?? '').trim(), tag: params.get('tag') ?? '' }),
    executionQueries.list({ limit: RECENT_RUNS }),
  ] as const;
}

function problemSummary(err: unknown): string {
  if (err instanceof ApiError && err.problem?.errors?.length) {
    const first = err.problem.errors.slice(0, 3).map((e) => `${e.location ?? ''} ${e.message ?? ''}`.trim());
    return `${err.message}: ${first.join('; ')}${err.problem.errors.length > 3 ? '…' : ''}`;
  }
  return errorMessage(err);
}

/** WorkflowsPage lists workflows with search and pagination, and creates, imports and manages them. */
export function WorkflowsPage() {
  useDocumentTitle('Workflows');
  const [params, setParams] = useSearchParams();
  const [search, setSearch] = useState(params.get('q') ?? '');
  const name = useDebouncedValue(search.trim(), 250);
  const tag = params.get('tag') ?? '';
  const pages = useCursorPages();
  const { reset } = pages;
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const fileRef = useRef<HTMLInputElement>(null);
  const [renaming, setRenaming] = useState<WorkflowSummaryFromAPI | null>(null);
  const [deleting, setDeleting] = useState<WorkflowSummaryFromAPI | null>(null);
  const [fromTemplate, setFromTemplate] = useState(false);
  // Viewers read: what would change a workflow is not offered to them (the server refuses it anyway).
  const canEdit = useCan('editor');

  useEffect(() => {
    reset();
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (name) next.set('q', name);
        else next.delete('q');
        return next;
      },
      { replace: true },
    );
  }, [name, reset, setParams]);
  const setTag = (t: string) => {
    reset();
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (t) next.set('tag', t);
        else next.delete('tag');
        return next;
      },
      { replace: true },
    );
  };

  const list = useQuery(workflowQueries.list({ cursor: pages.cursor, limit: PAGE_SIZE, name, tag }));
  const tags = useQuery(workflowQueries.tags());
  const activate = useMutation({
    mutationFn: ({ active, id }: { active: boolean; id: string }) => setWorkflowActive(id, active),
    onError: (e) => toast.error(errorMessage(e), { title: 'Could not change the workflow' }),
    onSuccess: async (wf) => {
      await invalidate();
      toast.success(wf.active ? `“${wf.name}” is active: its webhooks and schedules run` : `“${wf.name}” is inactive`);
    },
  });
  // The last run of each workflow among the latest executions, kept live by the executions feed.
  const recent = useQuery(executionQueries.list({ limit: RECENT_RUNS }));
  useExecutionsFeed();
  const lastRun = useMemo(() => {
    const m = new Map<string, ExecutionFromAPI>();
    for (const e of recent.data?.items ?? []) if (!m.has(e.workflowId)) m.set(e.workflowId, e);
    return m;
  }, [recent.data]);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: workflowQueries.all() });

  const importWf = useMutation({
    mutationFn: async (file: File) => {
      const def = parseImportedWorkflow(await readFileText(file));
      // Nodes without positions are laid out (dagre, loaded only for them) rather than stacked.
      const placed = def.nodes?.some((n) => !n.position) ? (await import('@features/editor/layout')).placeUnpositioned(def) : def;
      return createWorkflow(placed);
    },
    onError: (e) => toast.error(problemSummary(e), { title: 'Import failed' }),
    onSuccess: async (wf) => {
      await invalidate();
      toast.success(`Imported “${wf.name}”`, { action: { label: 'Open it', onClick: () => navigate(`/workflows/${wf.id}`) } });
    },
  });
  const duplicate = useMutation({
    mutationFn: (id: string) => duplicateWorkflow(id),
    onError: (e) => toast.error(errorMessage(e), { title: 'Could not duplicate' }),
    onSuccess: async (wf) => {
      await invalidate();
      toast.success(`Created “${wf.name}”`);
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => deleteWorkflow(id),
    onError: (e) => toast.error(errorMessage(e), { title: 'Could not delete' }),
    onSuccess: async () => {
      setDeleting(null);
      await invalidate();
      toast.success('Workflow deleted');
    },
  });
  const exportWf = async (w: WorkflowSummaryFromAPI) => {
    try {
      const full = await fetchWorkflow(w.id);
      const slug =
        full.name
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-|-$/g, '') || 'workflow';
      downloadJson(`${slug}.json`, toDefinition(full));
    } catch (e) {
      toast.error(errorMessage(e), { title: 'Export failed' });
    }
  };

  const items = list.data?.items ?? [];
  return (
    <div className="mx-auto max-w-6xl px-8 py-8" data-page="workflows" data-ready={list.isSuccess ? 'true' : undefined}>
      <PageHeader
        actions={
          canEdit && (
            <>
              <input
                ref={fileRef}
                accept="application/json,.json"
                aria-label="Workflow file to import"
                className="hidden"
                data-testid="import-input"
                onChange={(e) => {
                  const f = e.target.files?.[0];
                  if (f) importWf.mutate(f);
                  e.target.value = '';
                }}
                type="file"
              />
              <Button disabled={importWf.isPending} icon={<Upload className="size-4" />} onClick={() => fileRef.current?.click()}>
                Import
              </Button>
              <Button icon={<LayoutTemplate className="size-4" />} onClick={() => setFromTemplate(true)}>
                New from template
              </Button>
              <Button icon={<Plus className="size-4" />} onClick={() => navigate(NEW_WORKFLOW_PATH)} variant="primary">
                New workflow
              </Button>
            </>
          )
        }
        title="Workflows"
      >
        Build a graph of steps, run it, and inspect every node’s output.
      </PageHeader>

      <div className="mb-4 flex flex-wrap items-center gap-3">
        <SearchInput className="w-full max-w-sm" label="Search workflows by name" onChange={setSearch} placeholder="Search by name…" value={search} />
        <label className="flex items-center gap-2 text-sm">
          <span className="text-zinc-500">Tag</span>
          <select className="cm-input w-48" data-testid="tag-filter" onChange={(e) => setTag(e.target.value)} value={tag}>
            <option value="">All tags</option>
            {tag && !(tags.data ?? []).some((t) => t.tag.toLowerCase() === tag.toLowerCase()) && <option value={tag}>{tag}</option>}
            {(tags.data ?? []).map((t) => (
              <option key={t.tag} value={t.tag}>
                {t.tag} ({t.count})
              </option>
            ))}
          </select>
        </label>
      </div>

      {list.isPending ? (
        <Spinner label="Loading workflows…" />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} title="Workflows could not be loaded" />
      ) : items.length === 0 ? (
        name || tag ? (
          <EmptyState
            icon={<Search className="size-8" />}
            title={name ? `No workflow matches “${name}”${tag ? ` with tag “${tag}”` : ''}` : `No workflow has the tag “${tag}”`}
          >
            Try another part of the name or another tag, or clear the filters.
          </EmptyState>
        ) : (
          <EmptyState
            action={
              canEdit && (
                <div className="flex gap-2">
                  <Button onClick={() => fileRef.current?.click()}>Import a file</Button>
                  <Button onClick={() => setFromTemplate(true)}>Start from a template</Button>
                  <Button onClick={() => navigate(NEW_WORKFLOW_PATH)} variant="primary">
                    Create your first workflow
                  </Button>
                </div>
              )
            }
            icon={<Workflow className="size-8" />}
            title="No workflows yet"
          >
            {canEdit
              ? 'A workflow is a graph of steps: a trigger, then requests, transforms and branches. Create one and drag steps onto the canvas.'
              : 'A workflow is a graph of steps: a trigger, then requests, transforms and branches. Your role lets you read the workflows of this workspace.'}
          </EmptyState>
        )
      ) : (
        <div className="overflow-hidden rounded-xl border border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900">
          <table className="w-full text-left text-sm">
            <thead className="border-b border-zinc-200 bg-zinc-50 text-xs tracking-wide text-zinc-500 uppercase dark:border-zinc-800 dark:bg-zinc-900/60">
              <tr>
                <th className="px-4 py-2.5 font-medium">Name</th>
                <th className="px-4 py-2.5 font-medium">Active</th>
                <th className="px-4 py-2.5 font-medium">Nodes</th>
                <th className="px-4 py-2.5 font-medium">Version</th>
                <th className="px-4 py-2.5 font-medium">Updated</th>
                <th className="px-4 py-2.5 font-medium">Last run</th>
                <th className="px-4 py-2.5 text-right font-medium">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className={list.isPlaceholderData ? 'opacity-60' : undefined}>
              {items.map((w) => (
                <tr
                  key={w.id}
                  className="border-b border-zinc-100 last:border-0 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-800/40"
                  data-testid="workflow-row"
                >
                  <td className="px-4 py-3">
                    <Link className="font-medium text-zinc-900 hover:text-indigo-600 dark:text-zinc-100 dark:hover:text-indigo-400" to={`/workflows/${w.id}`}>
                      {w.name}
                    </Link>
                    {w.description && <div className="mt-0.5 line-clamp-1 text-xs text-zinc-500">{w.description}</div>}
                    {(w.tags ?? []).length > 0 && (
                      <div className="mt-1 flex flex-wrap gap-1" data-testid="workflow-tags">
                        {(w.tags ?? []).map((t) => (
                          <button
                            key={t}
                            className="rounded-full bg-indigo-50 px-2 py-0.5 text-xs text-indigo-800 hover:bg-indigo-100 dark:bg-indigo-950 dark:text-indigo-200 dark:hover:bg-indigo-900"
                            onClick={() => setTag(t)}
                            title={`Show the workflows tagged ${t}`}
                            type="button"
                          >
                            {t}
                          </button>
                        ))}
                      </div>
                    )}
                  </td>
                  <td className="px-4 py-3">
                    <ActiveSwitch
                      busy={activate.isPending && activate.variables?.id === w.id}
                      canEdit={canEdit}
                      onChange={(active) => activate.mutate({ active, id: w.id })}
                      workflow={w}
                    />
                  </td>
                  <td className="px-4 py-3 text-zinc-600 tabular-nums dark:text-zinc-400">{w.nodeCount}</td>
                  <td className="px-4 py-3 text-zinc-600 tabular-nums dark:text-zinc-400">v{w.version}</td>
                  <td className="px-4 py-3 text-zinc-600 dark:text-zinc-400" title={new Date(w.updatedAt).toLocaleString()}>
                    {formatRelative(w.updatedAt)}
                  </td>
                  <td className="px-4 py-3" data-testid="last-run">
                    <LastRun execution={lastRun.get(w.id)} />
                  </td>
                  <td className="px-2 py-2">
                    <div className="flex justify-end gap-0.5">
                      {canEdit && (
                        <IconButton label={`Rename ${w.name}`} onClick={() => setRenaming(w)}>
                          <Pencil className="size-4" />
                        </IconButton>
                      )}
                      {canEdit && (
                        <IconButton disabled={duplicate.isPending} label={`Duplicate ${w.name}`} onClick={() => duplicate.mutate(w.id)}>
                          <Copy className="size-4" />
                        </IconButton>
                      )}
                      <IconButton label={`Export ${w.name}`} onClick={() => exportWf(w)}>
                        <Download className="size-4" />
                      </IconButton>
                      {canEdit && (
                        <IconButton className="hover:text-red-600" label={`Delete ${w.name}`} onClick={() => setDeleting(w)}>
                          <Trash className="size-4" />
                        </IconButton>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager hasNext={Boolean(list.data?.nextCursor)} onNext={() => pages.next(list.data?.nextCursor ?? null)} onPrev={pages.prev} page={pages.page} />

      {fromTemplate && (
        <NewFromTemplateDialog
          onClose={() => setFromTemplate(false)}
          onCreated={(wf) => {
            setFromTemplate(false);
            toast.success(`Created “${wf.name}”`);
            navigate(`/workflows/${wf.id}`);
          }}
        />
      )}
      <RenameDialog
        key={renaming?.id ?? 'none'}
        onClose={() => setRenaming(null)}
        onRenamed={async () => {
          setRenaming(null);
          await invalidate();
          toast.success('Renamed');
        }}
        workflow={renaming}
      />
      <ConfirmDialog
        busy={remove.isPending}
        confirmLabel="Delete"
        danger
        onCancel={() => setDeleting(null)}
        onConfirm={() => deleting && remove.mutate(deleting.id)}
        open={deleting !== null}
        title={`Delete “${deleting?.name ?? ''}”?`}
      >
        The workflow and its triggers are removed. Its past executions stay readable.
      </ConfirmDialog>
    </div>
  );
}

/** ActiveSwitch shows whether a workflow's webhooks and schedules run, and switches it for editors. */
function ActiveSwitch({
  busy,
  canEdit,
  onChange,
  workflow,
}: {
  busy: boolean;
  canEdit: boolean;
  onChange: (active: boolean) => void;
  workflow: WorkflowSummaryFromAPI;
}) {
  if (!canEdit)
    return <span className={workflow.active ? 'text-emerald-700 dark:text-emerald-400' : 'text-zinc-400'}>{workflow.active ? 'Active' : 'Inactive'}</span>;
  return (
    <button
      aria-checked={workflow.active}
      aria-label={`${workflow.name} active`}
      className={`relative inline-flex h-5 w-9 shrink-0 items-center rounded-full transition-colors focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:outline-none disabled:opacity-50 ${
        workflow.active ? 'bg-emerald-600' : 'bg-zinc-300 dark:bg-zinc-700'
      }`}
      data-testid="active-switch"
      disabled={busy}
      onClick={() => onChange(!workflow.active)}
      role="switch"
      title={workflow.active ? 'Active: webhooks and schedules start runs. Click to deactivate.' : 'Inactive: only manual runs. Click to activate.'}
      type="button"
    >
      <span className={`inline-block size-4 rounded-full bg-white shadow transition-transform ${workflow.active ? 'translate-x-4.5' : 'translate-x-0.5'}`} />
    </button>
  );
}

function LastRun({ execution }: { execution: ExecutionFromAPI | undefined }) {
  if (!execution) return <span className="text-zinc-500 dark:text-zinc-400">—</span>;
  return (
    <Link
      className="inline-flex items-center gap-2 text-zinc-600 hover:text-indigo-600 dark:text-zinc-400 dark:hover:text-indigo-400"
      to={`/executions/${execution.id}`}
    >
      <StatusBadge status={execution.status} />
      <span className="text-xs" title={new Date(execution.startedAt ?? execution.createdAt).toLocaleString()}>
        {formatRelative(execution.startedAt ?? execution.createdAt)}
      </span>
    </Link>
  );
}

function RenameDialog({ onClose, onRenamed, workflow }: { onClose: () => void; onRenamed: () => void; workflow: WorkflowSummaryFromAPI | null }) {
  const [value, setValue] = useState(workflow?.name ?? '');
  const rename = useMutation({
    mutationFn: () => renameWorkflow(workflow!.id, value.trim()),
    onError: (e) => toast.error(errorMessage(e), { title: 'Could not rename' }),
    onSuccess: onRenamed,
  });
  return (
    <Dialog
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button disabled={!value.trim() || rename.isPending} form="rename-form" type="submit" variant="primary">
            Rename
          </Button>
        </>
      }
      onClose={onClose}
      open={workflow !== null}
      title="Rename workflow"
    >
      <form
        id="rename-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) rename.mutate();
        }}
      >
        <label className="mb-1 block text-sm font-medium" htmlFor="rename-input">
          Name
        </label>
        <input autoFocus className="cm-input" id="rename-input" maxLength={200} onChange={(e) => setValue(e.target.value)} value={value} />
      </form>
    </Dialog>
  );
}
