import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';

import { deletePin, pinFromExecution, pinQueries, pinsByNode, putPin, type PinFromAPI } from '@services/pins';

/**
 * usePins reads a workflow's pinned outputs, by node id (empty until read, and for a workflow that is
 * not saved yet: workflowId '').
 */
export function usePins(workflowId: string): ReadonlyMap<string, PinFromAPI> {
  const q = useQuery({ ...pinQueries.list(workflowId), enabled: workflowId !== '' });
  return useMemo(() => pinsByNode(q.data), [q.data]);
}

/** useSavePin pins data as a node's output (PUT), and refreshes the workflow's pins. */
export function useSavePin(workflowId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ data, nodeId, port }: { data: unknown; nodeId: string; port?: string }) => putPin(workflowId, nodeId, data, port),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: pinQueries.all(workflowId) }),
  });
}

/** useUnpin removes a node's pin, and refreshes the workflow's pins (also after a 404: it had none). */
export function useUnpin(workflowId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (nodeId: string) => deletePin(workflowId, nodeId),
    onSettled: () => queryClient.invalidateQueries({ queryKey: pinQueries.all(workflowId) }),
  });
}

/**
 * usePinFromExecution has the server pin the outputs nodes had in an execution (the trigger's when
 * nodes is left out); the answer is every pin of the workflow, which replaces the cached list.
 */
export function usePinFromExecution(workflowId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ executionId, nodes }: { executionId: string; nodes?: string[] }) => pinFromExecution(workflowId, executionId, nodes),
    onSuccess: (items) => {
      queryClient.setQueryData(pinQueries.list(workflowId).queryKey, items);
      return queryClient.invalidateQueries({ queryKey: pinQueries.all(workflowId), refetchType: 'none' });
    },
  });
}
