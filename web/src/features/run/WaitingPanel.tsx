import { useIsMutating, useMutation, useMutationState, useQueryClient } from '@tanstack/react-query';
import clsx from 'clsx';
import { Hand, Link2, ThumbsDown, ThumbsUp } from 'lucide-react';
import { useId, useState } from 'react';

import { Button } from '@components/Button';
import { useCan } from '@hooks/use-me';
import { formatDateTime } from '@lib/format';
import { hasExpression } from '@lib/json';
import { toast } from '@lib/toast';
import { decideApproval, executionQueries, type Decision, type NodeRunFromAPI } from '@services/executions';
import { errorMessage, isApiError } from '@services/http';

/** WAIT_TYPE is the node type that parks a run until an approval or a request to its resume URL. */
export const WAIT_TYPE = 'flow.wait';

/** COMMENT_MAX is the longest comment the server keeps with a decision. */
export const COMMENT_MAX = 2000;

/** WaitMode is what a flow.wait node waits for. */
export type WaitMode = 'approval' | 'webhook';

/** waitModeOf reads a flow.wait node's mode from its config (approval is the schema's default). */
export function waitModeOf(config: Record<string, unknown> | undefined): WaitMode {
  return config?.mode === 'webhook' ? 'webhook' : 'approval';
}

/**
 * approvalMessage is the text shown to whoever decides: the node's message as configured, or, when
 * it is a {{ template }}, the first entry of the node's logs, which is the message as the run
 * evaluated it. Null when there is none (or the evaluated one is not loaded).
 */
export function approvalMessage(config: Record<string, unknown> | undefined, run: NodeRunFromAPI): string | null {
  const configured = typeof config?.message === 'string' ? config.message.trim() : '';
  if (configured && !hasExpression(configured)) return configured;
  const first = run.logs?.[0]?.message;
  if (first && first !== 'Waiting for a decision') return first;
  return configured || null;
}

/** timeoutAt is when a waiting node gives up, or null when it waits without a limit. */
export function timeoutAt(run: NodeRunFromAPI, now = Date.now()): string | null {
  if (!run.wakeAt) return null;
  const t = Date.parse(run.wakeAt);
  // A wait without timeout is parked a century ahead: that is "no limit", not a date to show.
  if (Number.isNaN(t) || t - now > 50 * 365 * 24 * 3600 * 1000) return null;
  return run.wakeAt;
}

/** decideKey identifies the decision on one node of one execution, shared by every panel that offers it. */
export function decideKey(executionId: string, nodeId: string) {
  return ['decide', executionId, nodeId] as const;
}

/** WaitingPanelProps name the waiting node run and how it is laid out (banner: at the top of the page). */
export interface WaitingPanelProps {
  config: Record<string, unknown> | undefined;
  executionId: string;
  nodeId: string;
  run: NodeRunFromAPI;
  variant?: 'banner' | 'inspector';
}

/**
 * WaitingPanel tells what a waiting flow.wait node waits for: in approval mode the message with a
 * comment box and Approve / Reject buttons (for editors and above), in webhook mode a request to the
 * execution's resume URL.
 */
export function WaitingPanel(props: WaitingPanelProps) {
  return waitModeOf(props.config) === 'webhook' ? <ResumeUrlWait {...props} /> : <ApprovalWait {...props} />;
}

function shell(variant: WaitingPanelProps['variant']) {
  return clsx(
    'rounded-lg border border-amber-300 bg-amber-50 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-100',
    variant === 'banner' ? 'mb-4 px-4 py-3 shadow-xs' : 'p-3',
  );
}

function ResumeUrlWait({ nodeId, run, variant }: WaitingPanelProps) {
  const until = timeoutAt(run);
  return (
    <section
      aria-label={`${nodeId} is waiting`}
      className={shell(variant)}
      data-testid="waiting-panel"
      data-variant={variant ?? 'inspector'}
      data-wait-mode="webhook"
    >
      <h3 className="flex items-center gap-2 font-semibold">
        <Link2 aria-hidden className="size-4 shrink-0" />
        Waiting for a request to the execution’s resume URL
        {variant === 'banner' && <span className="font-mono text-xs font-normal">({nodeId})</span>}
      </h3>
      <p className="mt-1 text-xs text-amber-900/80 dark:text-amber-200/80">
        A GET or POST to the URL resumes the run, and <span className="font-mono">{nodeId}</span> outputs the request. The workflow reads the URL as{' '}
        <code className="rounded bg-amber-100 px-1 font-mono dark:bg-amber-900/60">{'{{ execution.resumeUrl }}'}</code>: a node before this one sends it to
        whoever should call it.
        {until && <> It times out {formatDateTime(until)}.</>}
      </p>
    </section>
  );
}

function ApprovalWait({ config, executionId, nodeId, run, variant }: WaitingPanelProps) {
  const queryClient = useQueryClient();
  const canDecide = useCan('editor');
  const [comment, setComment] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const commentId = useId();
  const key = decideKey(executionId, nodeId);
  const pending = useIsMutating({ mutationKey: key }) > 0;
  // Shared by the banner and the inspector: once either has decided, neither offers it again.
  const decided = useMutationState({ filters: { mutationKey: key, status: 'success' }, select: (m) => (m.state.variables as Decision | undefined)?.approve });
  const decision = decided.length > 0 ? decided[decided.length - 1] : undefined;
  const decide = useMutation({
    meta: { inlineErrors: true },
    mutationFn: (d: Decision) => decideApproval(executionId, nodeId, d),
    mutationKey: key,
    onError: (e, d) => {
      const verb = d.approve ? 'approve' : 'reject';
      const msg = isApiError(e, 409)
        ? `Someone already decided, or the run has moved on: nothing was changed. (${errorMessage(e)})`
        : isApiError(e, 403)
          ? errorMessage(e)
          : `Could not ${verb}: ${errorMessage(e)}`;
      setProblem(msg);
      toast.error(msg, { title: `Could not ${verb}` });
      // The page may be behind: read the execution again.
      void queryClient.invalidateQueries({ queryKey: executionQueries.detail(executionId).queryKey });
    },
    onSuccess: (_res, d) => {
      setProblem(null);
      toast.success(`${nodeId} ${d.approve ? 'approved' : 'rejected'}: the run goes on.`, { title: d.approve ? 'Approved' : 'Rejected' });
      void queryClient.invalidateQueries({ queryKey: executionQueries.detail(executionId).queryKey });
    },
  });
  const message = approvalMessage(config, run);
  const until = timeoutAt(run);
  const send = (approve: boolean) => {
    setProblem(null);
    decide.mutate({ approve, comment });
  };
  return (
    <section
      aria-label={`Approval: ${nodeId}`}
      className={shell(variant)}
      data-testid="waiting-panel"
      data-variant={variant ?? 'inspector'}
      data-wait-mode="approval"
    >
      <h3 className="flex items-center gap-2 font-semibold">
        <Hand aria-hidden className="size-4 shrink-0" />
        Waiting for approval
        {variant === 'banner' && <span className="font-mono text-xs font-normal">({nodeId})</span>}
      </h3>
      {message ? (
        <p className="mt-1.5 text-base break-words whitespace-pre-wrap" data-testid="approval-message">
          {message}
        </p>
      ) : (
        <p className="mt-1 text-xs text-amber-900/80 dark:text-amber-200/80">The node has no message: its input is in the node’s details.</p>
      )}
      {until && <p className="mt-1 text-xs text-amber-900/80 dark:text-amber-200/80">Times out {formatDateTime(until)}.</p>}
      {decision !== undefined ? (
        <p className="mt-2 text-sm font-medium" role="status">
          {decision ? 'Approved' : 'Rejected'}: the run is resuming…
        </p>
      ) : canDecide ? (
        <div className="mt-2 space-y-2">
          <div>
            <label className="mb-1 block text-xs font-medium" htmlFor={commentId}>
              Comment <span className="font-normal text-amber-900/70 dark:text-amber-200/70">(optional, kept with the decision)</span>
            </label>
            <textarea
              className="cm-input bg-white text-sm dark:bg-zinc-900"
              disabled={pending}
              id={commentId}
              maxLength={COMMENT_MAX}
              onChange={(e) => setComment(e.target.value)}
              rows={variant === 'banner' ? 1 : 2}
              value={comment}
            />
          </div>
          <div className="flex flex-wrap gap-2">
            <Button disabled={pending} icon={<ThumbsUp className="size-4" />} onClick={() => send(true)} variant="primary">
              Approve
            </Button>
            <Button disabled={pending} icon={<ThumbsDown className="size-4" />} onClick={() => send(false)} variant="danger">
              Reject
            </Button>
          </div>
          {problem && (
            <p className="text-xs text-red-700 dark:text-red-300" role="alert">
              {problem}
            </p>
          )}
        </div>
      ) : (
        <p className="mt-2 text-xs text-amber-900/80 dark:text-amber-200/80" data-testid="approval-viewer-note">
          An editor, admin or owner of this workspace approves or rejects it; your role can only watch.
        </p>
      )}
    </section>
  );
}
