import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useRef } from 'react';
import { Link } from 'react-router';

import { Button } from '@components/Button';
import { StatusBadge } from '@components/StatusBadge';
import { useExecutionsFeed } from '@hooks/use-live';
import { formatDuration, formatRelative, shortId } from '@lib/format';
import { hasExpression } from '@lib/json';
import { Throttle } from '@lib/throttle';
import { executionQueries, isTerminal, type NodeRunStatus } from '@services/executions';
import { errorMessage } from '@services/http';
import type { LiveEvent } from '@services/live';
import { REFETCH_INTERVAL_MS } from '@services/liveCache';

/** CALL_TYPE is the node type that starts sub-workflow runs. */
export const CALL_TYPE = 'flow.call';

/** ChildExecutionsProps name a flow.call node of an execution and what it is configured to call. */
export interface ChildExecutionsProps {
  config: Record<string, unknown> | undefined;
  executionId: string;
  nodeId: string;
  /** runStatus is the status of the node's latest attempt: the list is reread when it changes. */
  runStatus: NodeRunStatus;
}

/**
 * ChildExecutions lists the sub-workflow runs a flow.call node started (newest first, paged), each
 * with its status and a link, and keeps them live while any of them, or the node, is unfinished.
 */
export function ChildExecutions({ config, executionId, nodeId, runStatus }: ChildExecutionsProps) {
  const queryClient = useQueryClient();
  const query = useInfiniteQuery(executionQueries.children(executionId, nodeId));
  const { data, fetchNextPage, hasNextPage, isFetchingNextPage } = query;
  const children = useMemo(() => (data?.pages ?? []).flatMap((p) => p.items), [data]);
  const unfinished = children.some((c) => !isTerminal(c.status)) || !['canceled', 'failed', 'skipped', 'succeeded'].includes(runStatus);
  const ids = useMemo(() => new Set(children.map((c) => c.id)), [children]);

  const throttle = useRef<Throttle | null>(null);
  throttle.current ??= new Throttle(REFETCH_INTERVAL_MS);
  useEffect(() => () => throttle.current?.cancel(), []);
  const reread = useCallback(() => {
    throttle.current?.schedule('children', () => void queryClient.invalidateQueries({ queryKey: executionQueries.children(executionId, nodeId).queryKey }));
  }, [queryClient, executionId, nodeId]);
  const onEvent = useCallback(
    (ev: LiveEvent) => {
      if (ids.has(ev.executionId) || (ev.type === 'execution.queued' && ev.payload?.parentExecutionId === executionId)) reread();
    },
    [ids, executionId, reread],
  );
  const target = typeof config?.workflowId === 'string' && config.workflowId && !hasExpression(config.workflowId) ? config.workflowId : undefined;
  useExecutionsFeed({ enabled: unfinished, onEvent, workflowId: target });

  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    reread();
  }, [runStatus, reread]);

  return (
    <section aria-label="Sub-workflow runs" data-testid="child-executions">
      <div className="mb-1 flex items-center justify-between gap-2">
        <h3 className="text-xs font-semibold tracking-wide text-zinc-500 uppercase">Sub-workflow runs</h3>
        <Link className="text-xs text-indigo-600 hover:underline dark:text-indigo-400" to={`/executions?parentExecutionId=${encodeURIComponent(executionId)}`}>
          All in the list
        </Link>
      </div>
      {query.isPending ? (
        <p className="text-sm text-zinc-500">Loading…</p>
      ) : query.isError ? (
        <p className="text-sm text-red-600" role="alert">
          {errorMessage(query.error)}
        </p>
      ) : children.length === 0 ? (
        <p className="text-sm text-zinc-500">{hasNextPage ? 'None of this node among the runs loaded so far.' : 'No sub-workflow run yet.'}</p>
      ) : (
        <ul className="divide-y divide-zinc-100 rounded-md border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800">
          {children.map((c) => (
            <li key={c.id} className="flex items-center gap-2 px-2 py-1.5 text-sm" data-testid="child-execution">
              <StatusBadge status={c.status} />
              <Link className="font-mono text-xs font-medium text-indigo-600 hover:underline dark:text-indigo-400" title={c.id} to={`/executions/${c.id}`}>
                {shortId(c.id)}
              </Link>
              <span className="text-xs text-zinc-500">v{c.workflowVersion}</span>
              <span className="ml-auto text-xs text-zinc-500" title={c.createdAt}>
                {formatRelative(c.startedAt ?? c.createdAt)} · {formatDuration(c.durationMs)}
              </span>
            </li>
          ))}
        </ul>
      )}
      {hasNextPage && (
        <Button className="mt-2" disabled={isFetchingNextPage} onClick={() => void fetchNextPage()} size="sm">
          {isFetchingNextPage ? 'Loading…' : 'More'}
        </Button>
      )}
    </section>
  );
}
