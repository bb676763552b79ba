import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ReactFlowProvider } from '@xyflow/react';
import { ArrowLeft, Ban, Bug, CornerLeftUp, RotateCcw, Siren } from 'lucide-react';
import { useMemo } from 'react';
import { Link, useNavigate, useParams } from 'react-router';

import { Button } from '@components/Button';
import { EmptyState, ErrorState, Spinner } from '@components/States';
import { StatusBadge } from '@components/StatusBadge';
import { TriggerBadge } from '@components/TriggerBadge';
import { Canvas } from '@features/editor/Canvas';
import { EditorStoreContext, RunOverlayContext, useEditorApi, useEditorStore } from '@features/editor/EditorContext';
import { createEditorStore } from '@features/editor/store';
import { NodeRunInspector, type InspectedNode } from '@features/run/NodeRunInspector';
import { MoreNodeRuns } from '@features/run/MoreNodeRuns';
import { StoredValue } from '@features/run/StoredValue';
import { graphOrder, Timeline } from '@features/run/Timeline';
import { WAIT_TYPE, WaitingPanel } from '@features/run/WaitingPanel';
import { useExecutionEvents } from '@hooks/use-live';
import { useDocumentTitle } from '@hooks/use-document-title';
import { useCan } from '@hooks/use-me';
import { usePinFromExecution } from '@hooks/use-pins';
import { useNodeRuns, type NodeRuns } from '@hooks/use-node-runs';
import { formatDateTime, formatDuration, shortId } from '@lib/format';
import { toast } from '@lib/toast';
import {
  cancelExecution,
  executionQueries,
  inputOf,
  isTerminal,
  outputOf,
  retryExecution,
  summarizeRuns,
  type ExecutionDetailFromAPI,
} from '@services/executions';
import { errorMessage, isApiError } from '@services/http';
import { nodeTypeQueries, toCatalog } from '@services/nodeTypes';
import { workflowQueries, type DefinitionFromAPI } from '@services/workflows';

/** nodesOf indexes the nodes of the workflow version that ran by id: their type and config. */
function nodesOf(def: DefinitionFromAPI | undefined): ReadonlyMap<string, InspectedNode> {
  return new Map((def?.nodes ?? []).map((n) => [n.id, { config: n.config ?? undefined, name: n.name || undefined, type: n.type }]));
}

/** failedExecutionOf reads, from an error workflow run's input, the execution whose failure started it. */
function failedExecutionOf(execution: ExecutionDetailFromAPI): string | null {
  if (execution.trigger.kind !== 'error') return null;
  const input = execution.input as { execution?: { id?: unknown } } | null | undefined;
  const id = input?.execution?.id;
  return typeof id === 'string' && id ? id : null;
}

const linkClass = 'font-mono text-indigo-600 hover:underline dark:text-indigo-400';

/** ExecutionPage shows one execution: its graph with node status, a timeline, input and output. */
export function ExecutionPage() {
  const { id = '' } = useParams();
  // The route's loader has read it already: an answer it got (such as a 404) is not asked again on mount.
  const exec = useQuery({ ...executionQueries.detail(id), retryOnMount: false });
  const notFound = exec.isError && isApiError(exec.error, 404);
  useDocumentTitle(notFound ? 'Execution not found' : `Execution ${shortId(id)}`);
  useExecutionEvents(notFound ? null : id);
  if (exec.isPending) return <Spinner label="Loading the execution…" />;
  if (notFound) {
    // Final: no retry, no live subscription, no polling.
    return (
      <div className="mx-auto max-w-2xl p-10" data-page="execution-not-found">
        <EmptyState title="Execution not found">
          No execution <span className="font-mono">{id}</span> exists in this workspace: it may have been deleted by the retention policy, or the link is wrong.{' '}
          <Link className="text-indigo-600 hover:underline dark:text-indigo-400" to="/executions">
            All executions
          </Link>
        </EmptyState>
      </div>
    );
  }
  if (exec.isError) {
    return (
      <div className="p-10">
        <ErrorState error={exec.error} onRetry={() => exec.refetch()} title="This execution could not be loaded" />
      </div>
    );
  }
  return <ExecutionView execution={exec.data} />;
}

function ExecutionView({ execution }: { execution: ExecutionDetailFromAPI }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const version = useQuery(workflowQueries.version(execution.workflowId, execution.workflowVersion));
  const types = useQuery(nodeTypeQueries.list());
  const nodeRuns = useNodeRuns(execution);
  const overlay = useMemo(() => summarizeRuns(execution.id, nodeRuns.runs), [execution.id, nodeRuns.runs]);
  const store = useMemo(
    () =>
      version.data && types.data
        ? createEditorStore({
            catalog: toCatalog(types.data),
            definition: version.data.definition,
            readOnly: true,
            version: version.data.version,
            workflowId: execution.workflowId,
          })
        : null,
    [version.data, types.data, execution.workflowId],
  );
  const cancel = useMutation({
    mutationFn: () => cancelExecution(execution.id),
    onError: (e) => toast.error(errorMessage(e), { title: 'Could not cancel' }),
    onSuccess: () => {
      toast.info('Cancel requested');
      void queryClient.invalidateQueries({ queryKey: executionQueries.all() });
    },
  });
  const retry = useMutation({
    mutationFn: () => retryExecution(execution.id),
    onError: (e) => toast.error(errorMessage(e), { title: 'Could not retry' }),
    onSuccess: (next) => {
      void queryClient.invalidateQueries({ queryKey: [...executionQueries.all(), 'list'] });
      toast.success('Retry started');
      navigate(`/executions/${next.id}`);
    },
  });
  // Debug in editor: the trigger's data of this run is pinned, then the editor opens with the run on the canvas.
  const debug = usePinFromExecution(execution.workflowId);
  const debugInEditor = () =>
    debug.mutate(
      { executionId: execution.id },
      {
        onError: (e) => toast.error(errorMessage(e), { title: 'Could not debug in the editor' }),
        onSuccess: () => {
          toast.success('The trigger data of this run is pinned: test runs start from it');
          navigate(`/workflows/${encodeURIComponent(execution.workflowId)}?execution=${encodeURIComponent(execution.id)}`);
        },
      },
    );
  const terminal = isTerminal(execution.status);
  const canRun = useCan('editor');
  const wfName = version.data?.definition.name;
  const nodes = useMemo(() => nodesOf(version.data?.definition), [version.data]);
  const order = useMemo(() => graphOrder(version.data?.definition.nodes ?? [], version.data?.definition.edges ?? []), [version.data]);
  const waiting = useMemo(
    () => [...overlay.values()].filter((r) => r.status === 'waiting' && nodes.get(r.latest.nodeId)?.type === WAIT_TYPE).map((r) => r.latest),
    [overlay, nodes],
  );
  const failed = failedExecutionOf(execution);

  return (
    <div className="mx-auto max-w-7xl px-8 py-6" data-page="execution">
      <Link
        className="mb-3 inline-flex items-center gap-1 text-sm text-zinc-500 hover:text-zinc-900 dark:hover:text-zinc-100"
        to={`/executions?workflowId=${execution.workflowId}`}
      >
        <ArrowLeft className="size-4" /> Executions
      </Link>
      <header className="mb-4 flex flex-wrap items-start justify-between gap-4">
        <div>
          <h1 className="flex items-center gap-3 text-2xl font-semibold tracking-tight">
            Execution <span className="font-mono text-lg text-zinc-500">{shortId(execution.id)}</span>
            <StatusBadge className="text-sm" status={execution.status} />
            <TriggerBadge className="text-sm" kind={execution.trigger.kind} />
          </h1>
          <p className="mt-1 text-sm text-zinc-500">
            <Link className="font-medium text-indigo-600 hover:underline dark:text-indigo-400" to={`/workflows/${execution.workflowId}`}>
              {wfName ?? shortId(execution.workflowId)}
            </Link>{' '}
            v{execution.workflowVersion} · {execution.trigger.kind}
            {execution.trigger.node && ` from ${execution.trigger.node}`} · started {formatDateTime(execution.startedAt ?? execution.createdAt)} ·{' '}
            {formatDuration(execution.durationMs)}
            {execution.retryOf && (
              <>
                {' '}
                · retry of{' '}
                <Link className={linkClass} to={`/executions/${execution.retryOf}`}>
                  {shortId(execution.retryOf)}
                </Link>
              </>
            )}
          </p>
          {execution.parentExecutionId && (
            <p className="mt-1 flex items-center gap-1 text-sm text-zinc-600 dark:text-zinc-400" data-testid="parent-link">
              <CornerLeftUp aria-hidden className="size-4 text-violet-500" />
              Called by{' '}
              <Link className={linkClass} title={execution.parentExecutionId} to={`/executions/${execution.parentExecutionId}`}>
                execution {shortId(execution.parentExecutionId)}
              </Link>
              {execution.parentNodeId && (
                <>
                  {' '}
                  (node <span className="font-mono">{execution.parentNodeId}</span>)
                </>
              )}
            </p>
          )}
          {failed && (
            <p className="mt-1 flex items-center gap-1 text-sm text-zinc-600 dark:text-zinc-400" data-testid="failed-link">
              <Siren aria-hidden className="size-4 text-rose-500" />
              Handles the failure of{' '}
              <Link className={linkClass} title={failed} to={`/executions/${failed}`}>
                execution {shortId(failed)}
              </Link>
            </p>
          )}
        </div>
        {canRun && (
          <div className="flex gap-2">
            <Button
              disabled={debug.isPending}
              icon={<Bug className="size-4" />}
              onClick={debugInEditor}
              title="Pin this run's trigger data and open the workflow with this run on the canvas"
            >
              {debug.isPending ? 'Opening…' : 'Debug in editor'}
            </Button>
            <Button disabled={terminal || cancel.isPending} icon={<Ban className="size-4" />} onClick={() => cancel.mutate()}>
              Cancel
            </Button>
            <Button
              disabled={!terminal || execution.status === 'succeeded' || retry.isPending}
              icon={<RotateCcw className="size-4" />}
              onClick={() => retry.mutate()}
              variant="primary"
            >
              Retry
            </Button>
          </div>
        )}
      </header>
      {execution.error && (
        <div
          className="mb-4 rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800 dark:border-red-900 dark:bg-red-950/40 dark:text-red-200"
          role="alert"
        >
          <b>{execution.error.nodeId ? `${nodes.get(execution.error.nodeId)?.name || execution.error.nodeId} failed: ` : 'Failed: '}</b>
          {execution.error.message}
          {execution.error.code && <span className="ml-2 font-mono text-xs">({execution.error.code})</span>}
        </div>
      )}
      {waiting.map((run) => (
        <WaitingPanel key={run.nodeId} config={nodes.get(run.nodeId)?.config} executionId={execution.id} nodeId={run.nodeId} run={run} variant="banner" />
      ))}
      {version.isError ? (
        <ErrorState error={version.error} title="The workflow version could not be loaded" />
      ) : !store ? (
        <Spinner label="Loading the graph…" />
      ) : (
        <EditorStoreContext.Provider value={store}>
          <RunOverlayContext.Provider value={overlay}>
            <ReactFlowProvider>
              <GraphAndInspector execution={execution} nodeRuns={nodeRuns} nodes={nodes} order={order} overlay={overlay} />
            </ReactFlowProvider>
          </RunOverlayContext.Provider>
        </EditorStoreContext.Provider>
      )}
      <div className="mt-6 grid gap-4 md:grid-cols-2">
        <section>
          <h2 className="mb-2 text-sm font-semibold">Trigger input</h2>
          <StoredValue empty="No input." label="Trigger input" stored={inputOf(execution)} valueRef={{ executionId: execution.id, field: 'input' }} />
        </section>
        <section>
          <h2 className="mb-2 text-sm font-semibold">Final output</h2>
          <StoredValue
            empty={terminal ? 'No output.' : 'Not finished yet.'}
            label="Final output"
            stored={outputOf(execution)}
            valueRef={{ executionId: execution.id, field: 'output' }}
          />
        </section>
      </div>
    </div>
  );
}

function GraphAndInspector({
  execution,
  nodeRuns,
  nodes,
  order,
  overlay,
}: {
  execution: ExecutionDetailFromAPI;
  nodeRuns: NodeRuns;
  nodes: ReadonlyMap<string, InspectedNode>;
  order: ReadonlyMap<string, number>;
  overlay: ReturnType<typeof summarizeRuns>;
}) {
  const store = useEditorApi();
  const selected = useEditorStore((s) => s.selectedId);
  useExecutionEvents(execution.id, { inspecting: selected });
  const run = selected ? overlay.get(selected) : undefined;
  return (
    <>
      <div className="grid gap-4 lg:grid-cols-[1fr_400px]">
        <div className="h-[440px] overflow-hidden rounded-xl border border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900">
          <Canvas readOnly />
        </div>
        <aside aria-label="Node run" className="h-[440px] overflow-auto rounded-xl border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900">
          {!selected ? (
            <p className="text-sm text-zinc-500">Click a node or a timeline bar to see its input, output, error and logs.</p>
          ) : !run ? (
            <p className="text-sm text-zinc-500">
              <span className={nodes.get(selected)?.name ? undefined : 'font-mono'}>{nodes.get(selected)?.name || selected}</span>{' '}
              {nodeRuns.hasMore ? 'has no run among those loaded so far.' : 'did not run in this execution.'}
            </p>
          ) : (
            <>
              <h2 className="mb-3 text-sm font-semibold" data-testid="inspected-node">
                {nodes.get(selected)?.name ? (
                  <>
                    {nodes.get(selected)?.name} <span className="font-mono text-xs font-normal text-zinc-500">{selected}</span>
                  </>
                ) : (
                  <span className="font-mono">{selected}</span>
                )}
              </h2>
              <NodeRunInspector key={`${selected}-${run.latest.attempt}`} node={nodes.get(selected)} summary={run} workflowId={execution.workflowId} />
            </>
          )}
        </aside>
      </div>
      <section className="mt-6 rounded-xl border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900">
        <div className="mb-3 flex items-center justify-between gap-4">
          <h2 className="text-sm font-semibold">Timeline</h2>
          {nodeRuns.hasMore && <MoreNodeRuns nodeRuns={nodeRuns} />}
        </div>
        <Timeline
          execution={execution}
          onSelect={(id) => store.getState().select(id)}
          order={order}
          runs={nodeRuns.runs}
          selected={selected}
          titleOf={(id) => nodes.get(id)?.name}
        />
      </section>
    </>
  );
}
