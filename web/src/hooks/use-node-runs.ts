import { useInfiniteQuery } from '@tanstack/react-query';
import { useCallback, useMemo, useState } from 'react';

import { executionQueries, mergeNodeRuns, type ExecutionDetailFromAPI, type NodeRunFromAPI } from '@services/executions';

/** NodeRuns is every node run loaded so far for an execution, and how to load more. */
export interface NodeRuns {
  /** hasMore says the execution has node runs not loaded yet. */
  hasMore: boolean;
  /** loadMore loads the next page of node runs. */
  loadMore: () => void;
  loading: boolean;
  runs: NodeRunFromAPI[];
}

/**
 * useNodeRuns starts from the node runs the execution read carries (the first 50) and loads further
 * pages when asked. The pages start at the read's nodeRunsNextCursor, so when that moves (a live run
 * added nodes that sort earlier) they reload from the new cursor.
 */
export function useNodeRuns(execution: ExecutionDetailFromAPI | undefined): NodeRuns {
  const after = execution?.nodeRunsNextCursor ?? '';
  const [wanted, setWanted] = useState(false);
  const more = useInfiniteQuery({
    ...executionQueries.nodeRuns(execution?.id ?? '', after),
    enabled: wanted && after !== '',
  });
  const pages = more.data?.pages;
  const runs = useMemo(() => mergeNodeRuns(execution?.nodeRuns, pages ?? []), [execution?.nodeRuns, pages]);
  const { fetchNextPage, hasNextPage } = more;
  const loadMore = useCallback(() => {
    if (!wanted) setWanted(true);
    else void fetchNextPage();
  }, [wanted, fetchNextPage]);
  return {
    hasMore: after !== '' && (!wanted || !pages || hasNextPage),
    loadMore,
    loading: more.isFetching,
    runs,
  };
}
