import clsx from 'clsx';
import { Ban, CircleCheck, CircleDashed, CirclePause, CircleSlash, CircleX, Clock, LoaderCircle } from 'lucide-react';

import type { ExecutionStatus, NodeRunStatus } from '@services/executions';

/** Status is any execution or node run status. */
export type Status = ExecutionStatus | NodeRunStatus;

const STYLES: Record<Status, string> = {
  canceled: 'bg-zinc-100 text-zinc-700 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700',
  failed: 'bg-red-50 text-red-700 ring-red-200 dark:bg-red-950 dark:text-red-300 dark:ring-red-900',
  pending: 'bg-zinc-100 text-zinc-600 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700',
  queued: 'bg-zinc-100 text-zinc-600 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700',
  running: 'bg-sky-50 text-sky-700 ring-sky-200 dark:bg-sky-950 dark:text-sky-300 dark:ring-sky-900',
  skipped: 'bg-zinc-50 text-zinc-500 ring-zinc-200 dark:bg-zinc-900 dark:text-zinc-400 dark:ring-zinc-800',
  succeeded: 'bg-emerald-50 text-emerald-700 ring-emerald-200 dark:bg-emerald-950 dark:text-emerald-300 dark:ring-emerald-900',
  waiting: 'bg-amber-50 text-amber-700 ring-amber-200 dark:bg-amber-950 dark:text-amber-300 dark:ring-amber-900',
};

/** StatusIcon is the icon of a status; running spins. */
export function StatusIcon({ className, status }: { className?: string; status: Status }) {
  const c = clsx('size-3.5 shrink-0', className);
  switch (status) {
    case 'succeeded':
      return <CircleCheck aria-hidden className={c} />;
    case 'failed':
      return <CircleX aria-hidden className={c} />;
    case 'running':
      return <LoaderCircle aria-hidden className={clsx(c, 'animate-spin')} />;
    case 'waiting':
      return <CirclePause aria-hidden className={c} />;
    case 'skipped':
      return <CircleSlash aria-hidden className={c} />;
    case 'canceled':
      return <Ban aria-hidden className={c} />;
    case 'queued':
      return <Clock aria-hidden className={c} />;
    default:
      return <CircleDashed aria-hidden className={c} />;
  }
}

/** StatusBadge shows a status as a coloured pill. */
export function StatusBadge({ className, status }: { className?: string; status: Status }) {
  return (
    <span
      className={clsx('inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset', STYLES[status], className)}
      data-status={status}
    >
      <StatusIcon status={status} />
      {status}
    </span>
  );
}
