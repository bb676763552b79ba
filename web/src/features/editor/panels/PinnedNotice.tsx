import { Pin } from 'lucide-react';
import { useState } from 'react';

import { Button } from '@components/Button';
import { useUnpin } from '@hooks/use-pins';
import { formatBytes } from '@lib/format';
import { toast } from '@lib/toast';
import { errorMessage } from '@services/http';
import type { PinFromAPI } from '@services/pins';

import { PinDialog } from '../PinDialog';

/** PinnedNoticeProps name a pinned node, its pin and its output ports. */
export interface PinnedNoticeProps {
  nodeId: string;
  nodeTitle: string;
  pin: PinFromAPI;
  ports: string[];
  /** readOnly (a viewer) shows the notice without Edit and Unpin. */
  readOnly?: boolean;
  workflowId: string;
}

/**
 * PinnedNotice tells, at the top of a node's panel, that its output is pinned (test runs use the pin
 * instead of running it), with Edit (the pin dialog) and Unpin.
 */
export function PinnedNotice({ nodeId, nodeTitle, pin, ports, readOnly, workflowId }: PinnedNoticeProps) {
  const [editing, setEditing] = useState(false);
  const unpin = useUnpin(workflowId);
  return (
    <div
      className="flex items-center gap-2 border-b border-violet-200 bg-violet-50 px-4 py-2 text-xs text-violet-900 dark:border-violet-900 dark:bg-violet-950/40 dark:text-violet-200"
      data-testid="pinned-notice"
      role="note"
    >
      <Pin aria-hidden className="size-3.5 shrink-0" />
      <span className="flex-1">
        Output pinned (port <span className="font-mono">{pin.port}</span>, {formatBytes(pin.bytes)}): test runs use it instead of running this node; production
        runs never do.
      </span>
      {!readOnly && (
        <>
          <Button onClick={() => setEditing(true)} size="sm" variant="ghost">
            Edit pin
          </Button>
          <Button
            disabled={unpin.isPending}
            onClick={() =>
              unpin.mutate(nodeId, {
                onError: (e) => toast.error(errorMessage(e), { title: 'Not unpinned' }),
                onSuccess: () => toast.success(`Output of ${nodeId} unpinned: test runs run the node again`),
              })
            }
            size="sm"
            variant="ghost"
          >
            Unpin
          </Button>
        </>
      )}
      {editing && <PinDialog nodeId={nodeId} nodeTitle={nodeTitle} onClose={() => setEditing(false)} pin={pin} ports={ports} workflowId={workflowId} />}
    </div>
  );
}
