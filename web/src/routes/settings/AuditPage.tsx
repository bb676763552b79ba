import { useQuery } from '@tanstack/react-query';
import clsx from 'clsx';
import { ChevronRight, Download, ScrollText } from 'lucide-react';
import { Fragment, useEffect, useMemo, useState } from 'react';

import { Button } from '@components/Button';
import { JsonViewer } from '@components/JsonViewer';
import { Pager } from '@components/Pager';
import { EmptyState, ErrorState, Spinner } from '@components/States';
import { useCursorPages } from '@hooks/use-cursor-pages';
import { useDebouncedValue } from '@hooks/use-debounced-value';
import { formatDateTime } from '@lib/format';
import { toast } from '@lib/toast';
import { errorMessage } from '@services/http';
import { AUDIT_ACTIONS, exportAudit, identityQueries, type AuditEntryFromAPI, type AuditFilters } from '@services/identity';
import { useDocumentTitle } from '@hooks/use-document-title';

/** localToISO turns a datetime-local value into RFC 3339 (undefined when empty or unreadable). */
export function localToISO(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** toFilters drops the empty fields of the filter form. */
export function toFilters(form: { action: string; actor: string; since: string; targetId: string; targetType: string; until: string }): AuditFilters {
  const f: AuditFilters = {};
  if (form.actor.trim()) f.actor = form.actor.trim();
  if (form.action) f.action = form.action;
  if (form.targetType.trim()) f.targetType = form.targetType.trim();
  if (form.targetId.trim()) f.targetId = form.targetId.trim();
  const since = localToISO(form.since);
  const until = localToISO(form.until);
  if (since) f.since = since;
  if (until) f.until = until;
  return f;
}

/** saveBlob saves a downloaded body as a file. */
function saveBlob(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const EMPTY = { action: '', actor: '', since: '', targetId: '', targetType: '', until: '' };

/**
 * AuditPage reads the workspace's audit log, newest first: filtered by actor, action, target and time,
 * a page at a time, each entry's details on demand, and the same selection exported as JSON lines.
 */
export function AuditPage() {
  useDocumentTitle('Audit log');
  const [form, setForm] = useState(EMPTY);
  const filters = useDebouncedValue(
    useMemo(() => toFilters(form), [form]),
    300,
  );
  const key = JSON.stringify(filters);
  const pages = useCursorPages();
  const { reset } = pages;
  useEffect(() => reset(), [key, reset]);
  const list = useQuery(identityQueries.audit({ ...filters, cursor: pages.cursor }));
  const members = useQuery(identityQueries.members({ limit: 200 }));
  const emails = useMemo(() => new Map((members.data?.items ?? []).map((m) => [m.userId, m.email])), [members.data]);
  const [open, setOpen] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);

  const doExport = async () => {
    setExporting(true);
    try {
      const blob = await exportAudit(filters);
      saveBlob(blob, `audit-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.jsonl`);
    } catch (e) {
      toast.error(errorMessage(e), { title: 'Export failed' });
    } finally {
      setExporting(false);
    }
  };
  const set = (k: keyof typeof EMPTY) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setForm((f) => ({ ...f, [k]: e.target.value }));
  const items = list.data?.items ?? [];
  const filtered = Object.keys(filters).length > 0;
  return (
    <section aria-label="Audit log" data-page="audit">
      <div className="mb-4 grid gap-3 sm:grid-cols-3 lg:grid-cols-6">
        <label className="text-sm">
          <span className="mb-1 block text-zinc-500">Actor</span>
          <input className="cm-input" onChange={set('actor')} placeholder="a user id, apikey:…, system" value={form.actor} />
        </label>
        <label className="text-sm">
          <span className="mb-1 block text-zinc-500">Action</span>
          <select className="cm-input" onChange={set('action')} value={form.action}>
            <option value="">Any action</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label className="text-sm">
          <span className="mb-1 block text-zinc-500">Target type</span>
          <input className="cm-input" onChange={set('targetType')} placeholder="workflow, member…" value={form.targetType} />
        </label>
        <label className="text-sm">
          <span className="mb-1 block text-zinc-500">Target id</span>
          <input className="cm-input" onChange={set('targetId')} value={form.targetId} />
        </label>
        <label className="text-sm">
          <span className="mb-1 block text-zinc-500">From</span>
          <input className="cm-input" onChange={set('since')} type="datetime-local" value={form.since} />
        </label>
        <label className="text-sm">
          <span className="mb-1 block text-zinc-500">Until</span>
          <input className="cm-input" onChange={set('until')} type="datetime-local" value={form.until} />
        </label>
      </div>
      <div className="mb-3 flex items-center justify-between gap-2">
        <Button disabled={!filtered} onClick={() => setForm(EMPTY)} size="sm" variant="ghost">
          Clear filters
        </Button>
        <Button disabled={exporting} icon={<Download className="size-4" />} onClick={() => void doExport()}>
          {exporting ? 'Exporting…' : 'Export JSON lines'}
        </Button>
      </div>
      {list.isPending ? (
        <Spinner label="Loading the audit log…" />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} title="The audit log could not be loaded" />
      ) : items.length === 0 ? (
        <EmptyState icon={<ScrollText className="size-8" />} title={filtered ? 'No entry matches these filters' : 'No entries yet'} />
      ) : (
        <div className="overflow-hidden rounded-xl border border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900">
          <table className="w-full text-left text-sm">
            <thead className="border-b border-zinc-200 bg-zinc-50 text-xs tracking-wide text-zinc-500 uppercase dark:border-zinc-800 dark:bg-zinc-900/60">
              <tr>
                <th className="w-8 px-2 py-2.5" />
                <th className="px-4 py-2.5 font-medium">Time</th>
                <th className="px-4 py-2.5 font-medium">Actor</th>
                <th className="px-4 py-2.5 font-medium">Action</th>
                <th className="px-4 py-2.5 font-medium">Target</th>
                <th className="px-4 py-2.5 font-medium">From</th>
              </tr>
            </thead>
            <tbody className={list.isPlaceholderData ? 'opacity-60' : undefined}>
              {items.map((e) => (
                <Fragment key={e.id}>
                  <tr
                    className="border-b border-zinc-100 last:border-0 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-800/40"
                    data-testid="audit-row"
                  >
                    <td className="px-2 py-1.5">
                      <button
                        aria-expanded={open === e.id}
                        aria-label={`Details of ${e.action} at ${formatDateTime(e.time)}`}
                        className="rounded p-1 text-zinc-500 hover:bg-zinc-200 dark:hover:bg-zinc-700"
                        onClick={() => setOpen((o) => (o === e.id ? null : e.id))}
                        type="button"
                      >
                        <ChevronRight aria-hidden className={clsx('size-4 transition-transform', open === e.id && 'rotate-90')} />
                      </button>
                    </td>
                    <td className="px-4 py-2 whitespace-nowrap text-zinc-600 tabular-nums dark:text-zinc-400">{formatDateTime(e.time)}</td>
                    <td className="px-4 py-2">
                      <Actor actor={e.actor} emails={emails} />
                    </td>
                    <td className="px-4 py-2 font-mono text-xs" data-testid="audit-action">
                      {e.action}
                    </td>
                    <td className="px-4 py-2 text-zinc-600 dark:text-zinc-400">
                      {e.targetType && <span>{e.targetType}</span>} {e.targetId && <span className="font-mono text-xs">{e.targetId}</span>}
                    </td>
                    <td className="px-4 py-2 font-mono text-xs text-zinc-500">{e.ip}</td>
                  </tr>
                  {open === e.id && (
                    <tr className="border-b border-zinc-100 bg-zinc-50/60 dark:border-zinc-800 dark:bg-zinc-950/40">
                      <td />
                      <td className="px-4 py-3" colSpan={5}>
                        <EntryDetails entry={e} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager hasNext={Boolean(list.data?.nextCursor)} onNext={() => pages.next(list.data?.nextCursor ?? null)} onPrev={pages.prev} page={pages.page} />
    </section>
  );
}

function Actor({ actor, emails }: { actor: string; emails: ReadonlyMap<string, string> }) {
  const [kind, id] = actor.includes(':') ? [actor.slice(0, actor.indexOf(':')), actor.slice(actor.indexOf(':') + 1)] : ['', actor];
  const email = kind === 'user' || kind === '' ? emails.get(id) : undefined;
  return (
    <span title={actor}>
      {email ?? <span className="font-mono text-xs">{actor || '—'}</span>}
      {email && kind && <span className="ml-1 text-xs text-zinc-500">({kind})</span>}
    </span>
  );
}

function EntryDetails({ entry }: { entry: AuditEntryFromAPI }) {
  return (
    <div className="space-y-2 text-xs">
      <dl className="grid grid-cols-[8rem_1fr] gap-x-3 gap-y-1">
        <dt className="text-zinc-500">Entry</dt>
        <dd className="font-mono">{entry.id}</dd>
        <dt className="text-zinc-500">Actor</dt>
        <dd className="font-mono">{entry.actor}</dd>
        <dt className="text-zinc-500">User agent</dt>
        <dd className="break-all">{entry.userAgent || '—'}</dd>
      </dl>
      {entry.details !== undefined && entry.details !== null ? (
        <JsonViewer expandDepth={3} label="Details" value={entry.details} />
      ) : (
        <p className="text-zinc-500">No details.</p>
      )}
    </div>
  );
}
