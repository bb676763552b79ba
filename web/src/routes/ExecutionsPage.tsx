import { useQuery } from '@tanstack/react-query';
import { History, X } from 'lucide-react';
import { useEffect, useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';

import { PageHeader } from '@components/PageHeader';
import { Pager } from '@components/Pager';
import { EmptyState, ErrorState, Spinner } from '@components/States';
import { StatusBadge } from '@components/StatusBadge';
import { TriggerBadge } from '@components/TriggerBadge';
import { useCursorPages } from '@hooks/use-cursor-pages';
import { useExecutionsFeed } from '@hooks/use-live';
import { formatDuration, formatRelative, shortId } from '@lib/format';
import { EXECUTION_STATUSES, executionQueries, TRIGGER_KINDS, type ExecutionStatus } from '@services/executions';
import { workflowQueries } from '@services/workflows';
import { useDocumentTitle } from '@hooks/use-document-title';

function asStatus(v: string | null): ExecutionStatus | undefined {
  return EXECUTION_STATUSES.find((s) => s === v);
}

function asTrigger(v: string | null) {
  return TRIGGER_KINDS.find((k) => k === v);
}

/** toISO turns a datetime-local value (local time, no zone) into RFC 3339, or undefined when empty or invalid. */
export function toISO(local: string | null): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** ExecutionsPage lists executions, filtered by status, workflow, trigger and creation time, newest first. */
export function ExecutionsPage() {
  useDocumentTitle('Executions');
  const [params, setParams] = useSearchParams();
  const status = asStatus(params.get('status'));
  const workflowId = params.get('workflowId') ?? undefined;
  const parentExecutionId = params.get('parentExecutionId') ?? undefined;
  const trigger = asTrigger(params.get('trigger'));
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const pages = useCursorPages();
  const { reset } = pages;
  useEffect(() => reset(), [status, workflowId, parentExecutionId, trigger, from, to, reset]);

  const list = useQuery(
    executionQueries.list({ createdAfter: toISO(from), createdBefore: toISO(to), cursor: pages.cursor, parentExecutionId, status, trigger, workflowId }),
  );
  useExecutionsFeed({ workflowId });
  const workflows = useQuery(workflowQueries.list({ limit: 200 }));
  const names = useMemo(() => new Map((workflows.data?.items ?? []).map((w) => [w.id, w.name])), [workflows.data]);

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };

  const items = list.data?.items ?? [];
  const filtered = Boolean(status || workflowId || parentExecutionId || trigger || from || to);
  return (
    <div className="mx-auto max-w-6xl px-8 py-8" data-page="executions">
      <PageHeader title="Executions">Every run of every workflow, newest first, live: new runs appear as they start.</PageHeader>
      <div className="mb-4 flex flex-wrap gap-3">
        <label className="flex items-center gap-2 text-sm">
          <span className="text-zinc-500">Status</span>
          <select className="cm-input w-40" onChange={(e) => setFilter('status', e.target.value)} value={status ?? ''}>
            <option value="">Any status</option>
            {EXECUTION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-2 text-sm">
          <span className="text-zinc-500">Workflow</span>
          <select className="cm-input w-64" onChange={(e) => setFilter('workflowId', e.target.value)} value={workflowId ?? ''}>
            <option value="">All workflows</option>
            {workflowId && !names.has(workflowId) && <option value={workflowId}>{shortId(workflowId)}</option>}
            {(workflows.data?.items ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-2 text-sm">
          <span className="text-zinc-500">Trigger</span>
          <select className="cm-input w-36" onChange={(e) => setFilter('trigger', e.target.value)} value={trigger ?? ''}>
            <option value="">Any trigger</option>
            {TRIGGER_KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-2 text-sm">
          <span className="text-zinc-500">From</span>
          <input className="cm-input w-52" max={to || undefined} onChange={(e) => setFilter('from', e.target.value)} type="datetime-local" value={from} />
        </label>
        <label className="flex items-center gap-2 text-sm">
          <span className="text-zinc-500">To</span>
          <input className="cm-input w-52" min={from || undefined} onChange={(e) => setFilter('to', e.target.value)} type="datetime-local" value={to} />
        </label>
        {parentExecutionId && (
          <span
            className="inline-flex items-center gap-1 rounded-full bg-violet-50 py-1 pr-1 pl-3 text-sm text-violet-800 ring-1 ring-violet-200 ring-inset dark:bg-violet-950 dark:text-violet-200 dark:ring-violet-900"
            data-testid="parent-filter"
          >
            Sub-workflow runs of{' '}
            <Link className="font-mono text-xs font-medium hover:underline" to={`/executions/${parentExecutionId}`}>
              {shortId(parentExecutionId)}
            </Link>
            <button
              aria-label="Show every execution"
              className="rounded-full p-0.5 hover:bg-violet-100 dark:hover:bg-violet-900"
              onClick={() => setFilter('parentExecutionId', '')}
              type="button"
            >
              <X aria-hidden className="size-3.5" />
            </button>
          </span>
        )}
      </div>
      {list.isPending ? (
        <Spinner label="Loading executions…" />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} title="Executions could not be loaded" />
      ) : items.length === 0 ? (
        <EmptyState icon={<History className="size-8" />} title={filtered ? 'No execution matches these filters' : 'No executions yet'}>
          {filtered ? 'Change or clear the filters.' : 'Open a workflow and press Run: its executions show up here.'}
        </EmptyState>
      ) : (
        <div className="overflow-hidden rounded-xl border border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900">
          <table className="w-full text-left text-sm">
            <thead className="border-b border-zinc-200 bg-zinc-50 text-xs tracking-wide text-zinc-500 uppercase dark:border-zinc-800 dark:bg-zinc-900/60">
              <tr>
                <th className="px-4 py-2.5 font-medium">Status</th>
                <th className="px-4 py-2.5 font-medium">Execution</th>
                <th className="px-4 py-2.5 font-medium">Workflow</th>
                <th className="px-4 py-2.5 font-medium">Trigger</th>
                <th className="px-4 py-2.5 font-medium">Started</th>
                <th className="px-4 py-2.5 font-medium">Duration</th>
              </tr>
            </thead>
            <tbody className={list.isPlaceholderData ? 'opacity-60' : undefined}>
              {items.map((e) => (
                <tr
                  key={e.id}
                  className="border-b border-zinc-100 last:border-0 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-800/40"
                  data-testid="execution-row"
                >
                  <td className="px-4 py-2.5">
                    <StatusBadge status={e.status} />
                  </td>
                  <td className="px-4 py-2.5">
                    <Link className="font-mono text-xs font-medium text-indigo-600 hover:underline dark:text-indigo-400" to={`/executions/${e.id}`}>
                      {shortId(e.id)}
                    </Link>
                    {e.retryOf && <span className="ml-2 text-xs text-zinc-500">retry of {shortId(e.retryOf)}</span>}
                  </td>
                  <td className="px-4 py-2.5">
                    <Link className="hover:text-indigo-600 dark:hover:text-indigo-400" to={`/workflows/${e.workflowId}`}>
                      {names.get(e.workflowId) ?? shortId(e.workflowId)}
                    </Link>
                    <span className="ml-1.5 text-xs text-zinc-500">v{e.workflowVersion}</span>
                  </td>
                  <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400">
                    <TriggerBadge kind={e.trigger.kind} />
                    {e.parentExecutionId && (
                      <span className="ml-2 text-xs text-zinc-500">
                        from{' '}
                        <Link
                          className="font-mono text-indigo-600 hover:underline dark:text-indigo-400"
                          title={e.parentNodeId ? `Started by node ${e.parentNodeId}` : undefined}
                          to={`/executions/${e.parentExecutionId}`}
                        >
                          {shortId(e.parentExecutionId)}
                        </Link>
                      </span>
                    )}
                  </td>
                  <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400" title={e.startedAt ? new Date(e.startedAt).toLocaleString() : undefined}>
                    {formatRelative(e.startedAt ?? e.createdAt)}
                  </td>
                  <td className="px-4 py-2.5 text-zinc-600 tabular-nums dark:text-zinc-400">{formatDuration(e.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager hasNext={Boolean(list.data?.nextCursor)} onNext={() => pages.next(list.data?.nextCursor ?? null)} onPrev={pages.prev} page={pages.page} />
    </div>
  );
}
