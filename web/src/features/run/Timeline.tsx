import clsx from 'clsx';

import { useNow } from '@hooks/use-now';
import { formatDuration } from '@lib/format';
import type { ExecutionDetailFromAPI, NodeRunFromAPI } from '@services/executions';

const BAR: Record<string, string> = {
  canceled: 'bg-zinc-400',
  failed: 'bg-red-500',
  pending: 'bg-zinc-300',
  running: 'bg-sky-500 animate-pulse',
  skipped: 'bg-zinc-200 dark:bg-zinc-700',
  succeeded: 'bg-emerald-500',
  waiting: 'bg-amber-400',
};

/** TimelineRow is one node's runs on the timeline. */
export interface TimelineRow {
  nodeId: string;
  runs: NodeRunFromAPI[];
}

/**
 * timeKey reads an RFC 3339 time to the nanosecond: Date.parse stops at the millisecond, and node
 * runs of a fast workflow start within the same one. Missing or unreadable times sort last.
 */
export function timeKey(iso: string | undefined): number {
  if (!iso) return Infinity;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return Infinity;
  const frac = /\.(\d+)/.exec(iso)?.[1] ?? '';
  // The part below the millisecond, in nanoseconds (0–999999): ms * 1e6 would lose precision.
  return ms + Number(frac.slice(3, 9).padEnd(6, '0')) / 1e6;
}

/**
 * graphOrder numbers the nodes of a workflow in run order: a node after every node that feeds it
 * (a topological order), ties in the order of the definition. Nodes in a cycle, which the server
 * refuses, come last.
 */
export function graphOrder(nodes: readonly { id: string }[], edges: readonly { source: string; target: string }[]): Map<string, number> {
  const indegree = new Map(nodes.map((n) => [n.id, 0]));
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (!indegree.has(e.source) || !indegree.has(e.target)) continue;
    indegree.set(e.target, indegree.get(e.target)! + 1);
    next.set(e.source, [...(next.get(e.source) ?? []), e.target]);
  }
  const order = new Map<string, number>();
  const ready = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const position = new Map(nodes.map((n, i) => [n.id, i]));
  while (ready.length > 0) {
    ready.sort((a, b) => position.get(a)! - position.get(b)!);
    const id = ready.shift()!;
    order.set(id, order.size);
    for (const t of next.get(id) ?? []) {
      const d = indegree.get(t)! - 1;
      indegree.set(t, d);
      if (d === 0) ready.push(t);
    }
  }
  for (const n of nodes) if (!order.has(n.id)) order.set(n.id, order.size);
  return order;
}

function compare(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/**
 * timelineRows groups node runs by node, in run order: by the time each node first started (to the
 * nanosecond), then by its place in the workflow's run order (order, from graphOrder) when two
 * started at once, then by when it finished; the id decides only what nothing else does.
 */
export function timelineRows(runs: readonly NodeRunFromAPI[], order?: ReadonlyMap<string, number>): TimelineRow[] {
  const by = new Map<string, NodeRunFromAPI[]>();
  for (const r of runs) by.set(r.nodeId, [...(by.get(r.nodeId) ?? []), r]);
  const first = (list: NodeRunFromAPI[]) => Math.min(...list.map((r) => timeKey(r.startedAt ?? r.finishedAt)));
  const finished = (list: NodeRunFromAPI[]) => Math.min(...list.map((r) => timeKey(r.finishedAt)));
  const place = (id: string) => order?.get(id) ?? Infinity;
  return [...by]
    .map(([nodeId, list]) => ({ nodeId, runs: [...list].sort((a, b) => a.attempt - b.attempt) }))
    .sort(
      (a, b) =>
        compare(first(a.runs), first(b.runs)) ||
        compare(place(a.nodeId), place(b.nodeId)) ||
        compare(finished(a.runs), finished(b.runs)) ||
        a.nodeId.localeCompare(b.nodeId),
    );
}

/** TimelineProps are an execution, the node runs loaded so far, and the selection. */
export interface TimelineProps {
  execution: ExecutionDetailFromAPI;
  onSelect: (nodeId: string) => void;
  /** order is the workflow's run order (graphOrder): it sorts nodes that started at the same time. */
  order?: ReadonlyMap<string, number>;
  runs: readonly NodeRunFromAPI[];
  selected: string | null;
  /** titleOf names a node by its title; without one (or a title) the node's id is shown. */
  titleOf?: (nodeId: string) => string | undefined;
}

/** Timeline draws a bar per node run against the execution's clock; retries are separate bars. */
export function Timeline({ execution, onSelect, order, runs, selected, titleOf }: TimelineProps) {
  const rows = timelineRows(runs, order);
  const start = Date.parse(execution.startedAt ?? execution.createdAt);
  const now = useNow(!execution.finishedAt);
  const ends = runs.map((r) => Date.parse(r.finishedAt ?? '') || 0);
  const end = Math.max(Date.parse(execution.finishedAt ?? '') || 0, ...ends, execution.finishedAt ? 0 : now, start + 1);
  const total = end - start;
  if (rows.length === 0) return <p className="text-sm text-zinc-500">No node has run yet.</p>;
  const pct = (t: number) => `${Math.max(0, Math.min(100, ((t - start) / total) * 100))}%`;
  return (
    <div className="text-xs" data-testid="timeline">
      <div className="mb-1 flex justify-between pl-36 text-[11px] text-zinc-500 dark:text-zinc-400">
        <span>0</span>
        <span>{formatDuration(total / 2)}</span>
        <span>{formatDuration(total)}</span>
      </div>
      <ul className="space-y-1">
        {rows.map((row) => {
          const title = titleOf?.(row.nodeId) || undefined;
          const label = title ?? row.nodeId;
          return (
            <li key={row.nodeId} className="flex items-center gap-2">
              <button
                className={clsx(
                  'w-34 shrink-0 truncate rounded px-1 text-left hover:bg-zinc-100 dark:hover:bg-zinc-800',
                  !title && 'font-mono',
                  selected === row.nodeId && 'bg-indigo-50 font-semibold dark:bg-indigo-950',
                )}
                data-testid="timeline-node"
                onClick={() => onSelect(row.nodeId)}
                title={title ? `${title} (${row.nodeId})` : row.nodeId}
                type="button"
              >
                {label}
              </button>
              <div className="relative h-5 flex-1 rounded bg-zinc-100 dark:bg-zinc-800/60">
                {row.runs.map((r) => {
                  const s = Date.parse(r.startedAt ?? r.finishedAt ?? '') || start;
                  const e = Date.parse(r.finishedAt ?? '') || (execution.finishedAt ? s : now);
                  return (
                    <button
                      key={r.attempt}
                      aria-label={`${label} attempt ${r.attempt}: ${r.status}, ${formatDuration(r.durationMs ?? e - s)}`}
                      className={clsx('absolute top-0.5 bottom-0.5 min-w-[4px] rounded-sm ring-white hover:ring-2 dark:ring-zinc-900', BAR[r.status])}
                      data-status={r.status}
                      data-testid="timeline-bar"
                      onClick={() => onSelect(row.nodeId)}
                      style={{ left: pct(s), width: `calc(${pct(e)} - ${pct(s)})` }}
                      title={`Attempt ${r.attempt} · ${r.status} · ${formatDuration(r.durationMs ?? e - s)}${r.error ? ` · ${r.error.message}` : ''}`}
                      type="button"
                    />
                  );
                })}
              </div>
              <span className="w-20 shrink-0 text-right text-zinc-500 tabular-nums">
                {row.runs.length > 1 && <span className="mr-1 text-amber-600">×{row.runs.length}</span>}
                {formatDuration(row.runs[row.runs.length - 1]?.durationMs)}
              </span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
