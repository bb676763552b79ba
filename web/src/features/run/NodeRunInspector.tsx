import { useQuery } from '@tanstack/react-query';
import clsx from 'clsx';
import { Pin } from 'lucide-react';
import { useState } from 'react';

import { Button } from '@components/Button';
import { JsonViewer } from '@components/JsonViewer';
import { StatusBadge } from '@components/StatusBadge';
import { useCan, useMe } from '@hooks/use-me';
import { usePinFromExecution, usePins } from '@hooks/use-pins';
import { formatBytes, formatDateTime, formatDuration } from '@lib/format';
import { executionQueries, inputOf, outputOf, type LogEntryFromAPI, type NodeRunFromAPI, type NodeRunSummary, type ValueRef } from '@services/executions';
import { errorMessage } from '@services/http';
import { toast } from '@lib/toast';

import { CALL_TYPE, ChildExecutions } from './ChildExecutions';
import { StoredValue } from './StoredValue';
import { WAIT_TYPE, WaitingPanel, waitModeOf } from './WaitingPanel';

/** InspectedNode is the node of the workflow version that ran: its type and configuration. */
export interface InspectedNode {
  config: Record<string, unknown> | undefined;
  /** name is the node's title in the version that ran, when it has one. */
  name?: string;
  type: string;
}

/**
 * NodeRunInspector shows one node's runs: status, attempt, timing, input, output, error and logs.
 * Given the node (its type and config in the version that ran), it also shows what a waiting
 * flow.wait waits for (with Approve / Reject), an approval's decision, and a flow.call's sub-workflow runs.
 * Given the workflow, an editor can pin a succeeded run's output ("Pin this output"): the server copies
 * it from the execution, so that test runs use it instead of running the node.
 */
export function NodeRunInspector({ node, summary, workflowId }: { node?: InspectedNode; summary: NodeRunSummary; workflowId?: string }) {
  const [attempt, setAttempt] = useState(summary.latest.attempt);
  const run = summary.runs.find((r) => r.attempt === attempt) ?? summary.latest;
  const isWait = node?.type === WAIT_TYPE;
  return (
    <div className="space-y-4" data-testid="run-inspector">
      {isWait && run.status === 'waiting' && run === summary.latest && (
        <WaitingPanel config={node.config} executionId={summary.executionId} nodeId={run.nodeId} run={run} variant="inspector" />
      )}
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
      {run.error && <RunError key={run.attempt} executionId={summary.executionId} run={run} />}
      {isWait && waitModeOf(node.config) === 'approval' && <DecisionSummary run={run} />}
      {node?.type === CALL_TYPE && (
        <ChildExecutions config={node.config} executionId={summary.executionId} nodeId={summary.latest.nodeId} runStatus={summary.latest.status} />
      )}
      <section>
        <div className="mb-1 flex items-center justify-between gap-2">
          <h3 className="text-xs font-semibold tracking-wide text-zinc-500 uppercase">Output</h3>
          {workflowId && run.status === 'succeeded' && <PinThisOutput executionId={summary.executionId} nodeId={run.nodeId} workflowId={workflowId} />}
        </div>
        <StoredValue key={run.attempt} empty="No output." label="Output" stored={outputOf(run)} valueRef={ref(summary.executionId, run, 'output')} />
      </section>
      <section>
        <h3 className="mb-1 text-xs font-semibold tracking-wide text-zinc-500 uppercase">Input</h3>
        <StoredValue
          key={run.attempt}
          empty="No input."
          expandDepth={1}
          label="Input"
          stored={inputOf(run)}
          valueRef={ref(summary.executionId, run, 'input')}
        />
      </section>
      <section>
        <h3 className="mb-1 text-xs font-semibold tracking-wide text-zinc-500 uppercase">Logs</h3>
        {run.logsTruncated ? (
          <LargeLogs key={run.attempt} bytes={run.logsBytes ?? 0} valueRef={ref(summary.executionId, run, 'logs')} />
        ) : (
          <Logs logs={run.logs} />
        )}
      </section>
    </div>
  );
}

/**
 * PinThisOutput pins the node's output from this execution (its last succeeded attempt), for editors;
 * the data goes from the stored run to the pin on the server, not through the browser.
 */
function PinThisOutput({ executionId, nodeId, workflowId }: { executionId: string; nodeId: string; workflowId: string }) {
  const canEdit = useCan('editor');
  const pins = usePins(canEdit ? workflowId : '');
  const pin = usePinFromExecution(workflowId);
  if (!canEdit) return null;
  const pinned = pins.has(nodeId);
  return (
    <Button
      disabled={pin.isPending}
      icon={<Pin className="size-3.5" />}
      onClick={() =>
        pin.mutate(
          { executionId, nodes: [nodeId] },
          {
            onError: (e) => toast.error(errorMessage(e), { title: 'Output not pinned' }),
            onSuccess: () => toast.success(`Output of ${nodeId} pinned: test runs use it instead of running the node`),
          },
        )
      }
      size="sm"
      title={pinned ? 'The node has a pin: this output replaces it' : 'Test runs will use this output instead of running the node'}
    >
      {pin.isPending ? 'Pinning…' : pinned ? 'Pin this output instead' : 'Pin this output'}
    </Button>
  );
}

/** DecisionSummary tells how an approval was decided, from the node's output. */
function DecisionSummary({ run }: { run: NodeRunFromAPI }) {
  const me = useMe();
  const out = run.output;
  if (!out || typeof out !== 'object' || Array.isArray(out)) return null;
  const o = out as { approved?: unknown; at?: unknown; by?: unknown; comment?: unknown; decision?: unknown };
  if (typeof o.decision !== 'string') return null;
  const by = o.by && typeof o.by === 'object' ? (o.by as { apiKeyId?: unknown; email?: unknown; userId?: unknown }) : {};
  const who =
    me?.user && by.userId === me.user.id
      ? 'you'
      : [by.email, by.userId, by.apiKeyId && `API key ${String(by.apiKeyId)}`].find((x) => typeof x === 'string' && x);
  return (
    <section
      aria-label="Decision"
      className={clsx(
        'rounded-md border p-3 text-sm',
        o.approved === true
          ? 'border-emerald-200 bg-emerald-50 dark:border-emerald-900 dark:bg-emerald-950/40'
          : 'border-red-200 bg-red-50 dark:border-red-900 dark:bg-red-950/40',
      )}
      data-testid="decision"
    >
      <div className="font-medium">
        {o.approved === true ? 'Approved' : 'Rejected'}
        {who ? <span className="font-normal text-zinc-600 dark:text-zinc-400"> by {String(who)}</span> : null}
        {typeof o.at === 'string' && <span className="font-normal text-zinc-600 dark:text-zinc-400"> · {formatDateTime(o.at)}</span>}
      </div>
      {typeof o.comment === 'string' && o.comment && <p className="mt-1 break-words whitespace-pre-wrap">“{o.comment}”</p>}
    </section>
  );
}

function ref(executionId: string, run: NodeRunFromAPI, field: ValueRef['field']): ValueRef {
  return { attempt: run.attempt, executionId, field, nodeId: run.nodeId };
}

/** RunError shows an attempt's error; a large one came without its details, which load on demand. */
function RunError({ executionId, run }: { executionId: string; run: NodeRunFromAPI }) {
  const [load, setLoad] = useState(false);
  const full = useQuery({ ...executionQueries.value(ref(executionId, run, 'error')), enabled: load && !!run.errorTruncated });
  const error = run.error!;
  const details = run.errorTruncated ? (full.data as { details?: unknown } | undefined)?.details : error.details;
  return (
    <section aria-label="Error" className="rounded-md border border-red-200 bg-red-50 p-3 text-sm dark:border-red-900 dark:bg-red-950/40">
      <div className="font-medium break-words text-red-800 dark:text-red-200">
        {error.code && <span className="mr-2 rounded bg-red-200/60 px-1 font-mono text-xs dark:bg-red-900">{error.code}</span>}
        {error.message}
        {run.errorTruncated && full.data === undefined && <span aria-hidden>…</span>}
      </div>
      {details !== undefined && <JsonViewer className="mt-2" label="Error details" value={details} />}
      {run.errorTruncated && full.data === undefined && (
        <div className="mt-2 flex items-center gap-2 text-xs text-red-800 dark:text-red-200">
          <span role="note">The error is {formatBytes(run.errorBytes)}: its details were left out.</span>
          <Button disabled={full.isFetching} onClick={() => setLoad(true)} size="sm">
            {full.isFetching ? 'Loading…' : 'Load the whole error'}
          </Button>
        </div>
      )}
      {full.isError && (
        <p className="mt-1 text-xs text-red-600" role="alert">
          {errorMessage(full.error)}
        </p>
      )}
    </section>
  );
}

/** LargeLogs offers to load logs that were too large for the execution read. */
function LargeLogs({ bytes, valueRef }: { bytes: number; valueRef: ValueRef }) {
  const [load, setLoad] = useState(false);
  const full = useQuery({ ...executionQueries.value(valueRef), enabled: load });
  if (full.data !== undefined) return <Logs logs={full.data as LogEntryFromAPI[]} />;
  return (
    <div className="flex items-center gap-2 text-sm text-zinc-500">
      <span role="note">The logs are {formatBytes(bytes)}.</span>
      <Button disabled={full.isFetching} onClick={() => setLoad(true)} size="sm">
        {full.isFetching ? 'Loading…' : 'Load the logs'}
      </Button>
      {full.isError && (
        <span className="text-xs text-red-600" role="alert">
          {errorMessage(full.error)}
        </span>
      )}
    </div>
  );
}

function Logs({ logs }: { logs: LogEntryFromAPI[] | null | undefined }) {
  if (!logs || logs.length === 0) return <p className="text-sm text-zinc-500">No logs.</p>;
  return (
    <ol className="space-y-1 font-mono text-xs">
      {logs.map((l, i) => (
        <li key={i} className="rounded bg-zinc-50 px-2 py-1 break-words dark:bg-zinc-950">
          <span className="text-zinc-500 dark:text-zinc-400">{new Date(l.time).toLocaleTimeString()}</span>{' '}
          <span className={clsx('font-semibold uppercase', l.level === 'error' ? 'text-red-600' : l.level === 'warn' ? 'text-amber-600' : 'text-zinc-500')}>
            {l.level}
          </span>{' '}
          {l.message}
          {l.attrs && Object.keys(l.attrs).length > 0 && <span className="text-zinc-500"> {JSON.stringify(l.attrs)}</span>}
        </li>
      ))}
    </ol>
  );
}
