import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useRef, useSyncExternalStore } from 'react';

import { executionQueries, isTerminal } from '@services/executions';
import { getLiveClient, type LiveClient, type LiveEvent, type LiveStatus } from '@services/live';
import { followExecution, followLists } from '@services/liveCache';

/** LiveClientContext overrides the tab's live client (tests hand in one with a fake socket). */
export const LiveClientContext = createContext<LiveClient | null>(null);

/** useLiveClient is the live client of this tree: the context's, or the tab's one. */
export function useLiveClient(): LiveClient {
  return useContext(LiveClientContext) ?? getLiveClient();
}

/** useLiveStatus starts the live connection and follows its state. */
export function useLiveStatus(): LiveStatus {
  const client = useLiveClient();
  useEffect(() => client.start(), [client]);
  return useSyncExternalStore(client.onStatus, client.getStatus, client.getStatus);
}

/**
 * useExecutionEvents keeps the cached detail of an execution live while it runs: it subscribes once
 * the detail is loaded and not finished, and lets go when it finishes. inspecting names the node
 * whose input and output are on screen (they are refetched, throttled, when it starts or finishes).
 */
export function useExecutionEvents(executionId: string | null | undefined, options: { inspecting?: string | null } = {}): void {
  const client = useLiveClient();
  const queryClient = useQueryClient();
  const status = useQuery({ ...executionQueries.detail(executionId ?? ''), enabled: !!executionId, select: (d) => d.status }).data;
  const follow = !!executionId && status !== undefined && !isTerminal(status);
  const shown = options.inspecting ?? null;
  const inspecting = useRef(shown);
  useEffect(() => {
    inspecting.current = shown;
  }, [shown]);
  useEffect(() => {
    if (!follow || !executionId) return;
    return followExecution(client, queryClient, executionId, () => inspecting.current);
  }, [follow, client, queryClient, executionId]);
}

/**
 * useExecutionsFeed keeps the cached execution lists live: new runs appear on top as they are
 * queued, statuses change in place, bursts are coalesced. With workflowId it follows that workflow's
 * executions only. onEvent sees each execution-level event (the editor follows new runs with it).
 */
export function useExecutionsFeed(options: { enabled?: boolean; onEvent?: (ev: LiveEvent) => void; workflowId?: string } = {}): void {
  const client = useLiveClient();
  const queryClient = useQueryClient();
  const onEvent = useRef(options.onEvent);
  useEffect(() => {
    onEvent.current = options.onEvent;
  }, [options.onEvent]);
  const enabled = options.enabled ?? true;
  const { workflowId } = options;
  useEffect(() => {
    if (!enabled) return;
    return followLists(client, queryClient, workflowId, (ev) => onEvent.current?.(ev));
  }, [client, queryClient, workflowId, enabled]);
}
