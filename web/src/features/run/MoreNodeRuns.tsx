import { Button } from '@components/Button';
import type { NodeRuns } from '@hooks/use-node-runs';

/** MoreNodeRuns says that an execution has more node runs than are loaded, and loads the next page. */
export function MoreNodeRuns({ nodeRuns }: { nodeRuns: NodeRuns }) {
  return (
    <div className="flex items-center gap-2 text-xs text-zinc-500" data-testid="more-node-runs">
      <span role="note">{nodeRuns.runs.length} node runs loaded; there are more.</span>
      <Button disabled={nodeRuns.loading} onClick={nodeRuns.loadMore} size="sm">
        {nodeRuns.loading ? 'Loading…' : 'Load more node runs'}
      </Button>
    </div>
  );
}
