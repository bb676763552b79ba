import clsx from 'clsx';
import { useState } from 'react';

import { JsonViewer } from '@components/JsonViewer';
import { StatusBadge } from '@components/StatusBadge';
import { formatDateTime, formatDuration } from '@lib/format';
import type { NodeRunSummary } from '@services/executions';

/** NodeRunInspector shows one node's runs: status, attempt, timing, input, output, error and logs. */
export function NodeRunInspector({ summary }: { summary: NodeRunSummary }) {
  const [attempt, setAttempt] = useState(summary.latest.attempt);
  const run = summary.runs.find((r) => r.attempt === attempt) ?? summary.latest;
  return (
    <div className="space-y-4" data-testid="run-inspector">
      {summary.runs.length > 1 && (
        <div aria-label="Attempts" className="flex flex-wrap gap-1" role="tablist">
          {summary.runs.map((r) => (
            <button
              key={r.attempt}
              aria-selected={r.attempt === run.attempt}
              className={clsx(
                'rounded-md px-2 py-1 text-xs font-medium',
                r.attempt === run.attempt ? 'bg-indigo-600 text-white' : 'bg-zinc-100 text-zinc-700 hover:bg-zinc-200 dark:bg-zinc-800 dark:text-zinc-300',
              )}
              onClick={() => setAttempt(r.attempt)}
              role="tab"
              type="button"
            >
              Attempt {r.attempt} · {r.status}
            </button>
          ))}
        </div>
      )}
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
        <dt className="text-zinc-500">Status</dt>
        <dd>
          <StatusBadge status={run.status} />
        </dd>
        <dt className="text-zinc-500">Attempt</dt>
        <dd data-testid="run-attempt">
          {run.attempt} of {summary.runs.length}
        </dd>
        {run.port && (
          <>
            <dt className="text-zinc-500">Port</dt>
            <dd className="font-mono text-xs">{run.port}</dd>
          </>
        )}
        <dt className="text-zinc-500">Duration</dt>
        <dd>{formatDuration(run.durationMs)}</dd>
        <dt className="text-zinc-500">Started</dt>
        <dd>{formatDateTime(run.startedAt)}</dd>
      </dl>
      {run.error && (
        <section aria-label="Error" className="rounded-md border border-red-200 bg-red-50 p-3 text-sm dark:border-red-900 dark:bg-red-950/40">
          <div className="font-medium text-red-800 dark:text-red-200">
            {run.error.code && <span className="mr-2 rounded bg-red-200/60 px-1 font-mono text-xs dark:bg-red-900">{run.error.code}</span>}
            {run.error.message}
          </div>
          {run.error.details !== undefined && <JsonViewer className="mt-2" label="Error details" value={run.error.details} />}
        </section>
      )}
      <section>
        <h3 className="mb-1 text-xs font-semibold tracking-wide text-zinc-500 uppercase">Output</h3>
        {run.output === undefined ? <p className="text-sm text-zinc-500">No output.</p> : <JsonViewer label="Output" value={run.output} />}
      </section>
      <section>
        <h3 className="mb-1 text-xs font-semibold tracking-wide text-zinc-500 uppercase">Input</h3>
        {run.input === undefined ? <p className="text-sm text-zinc-500">No input.</p> : <JsonViewer expandDepth={1} label="Input" value={run.input} />}
      </section>
      <section>
        <h3 className="mb-1 text-xs font-semibold tracking-wide text-zinc-500 uppercase">Logs</h3>
        {!run.logs || run.logs.length === 0 ? (
          <p className="text-sm text-zinc-500">No logs.</p>
        ) : (
          <ol className="space-y-1 font-mono text-xs">
            {run.logs.map((l, i) => (
              <li key={i} className="rounded bg-zinc-50 px-2 py-1 dark:bg-zinc-950">
                <span className="text-zinc-400">{new Date(l.time).toLocaleTimeString()}</span>{' '}
                <span className={clsx('font-semibold uppercase', l.level === 'error' ? 'text-red-600' : l.level === 'warn' ? 'text-amber-600' : 'text-zinc-500')}>{l.level}</span>{' '}
                {l.message}
                {l.attrs && Object.keys(l.attrs).length > 0 && <span className="text-zinc-500"> {JSON.stringify(l.attrs)}</span>}
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}
