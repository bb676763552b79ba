import clsx from 'clsx';
import { Clock, FlaskConical, Inbox, MousePointerClick, RotateCcw, Siren, Webhook, Workflow, type LucideIcon } from 'lucide-react';

import type { TriggerKind } from '@services/executions';

const KINDS: Record<TriggerKind, { icon: LucideIcon; label: string; style: string; title: string }> = {
  call: {
    icon: Workflow,
    label: 'call',
    style: 'bg-violet-50 text-violet-700 ring-violet-200 dark:bg-violet-950 dark:text-violet-300 dark:ring-violet-900',
    title: 'Started by a flow.call node of another run (a sub-workflow run)',
  },
  error: {
    icon: Siren,
    label: 'error',
    style: 'bg-rose-50 text-rose-700 ring-rose-200 dark:bg-rose-950 dark:text-rose-300 dark:ring-rose-900',
    title: 'Started because a run of a workflow that names this one as its error workflow failed',
  },
  manual: {
    icon: MousePointerClick,
    label: 'manual',
    style: 'bg-zinc-50 text-zinc-600 ring-zinc-200 dark:bg-zinc-900 dark:text-zinc-300 dark:ring-zinc-700',
    title: 'Started by hand, from the editor or the API',
  },
  message: {
    icon: Inbox,
    label: 'message',
    style: 'bg-zinc-50 text-zinc-600 ring-zinc-200 dark:bg-zinc-900 dark:text-zinc-300 dark:ring-zinc-700',
    title: 'Started by a message a listening trigger received (a queue, a topic, a stream)',
  },
  retry: {
    icon: RotateCcw,
    label: 'retry',
    style: 'bg-zinc-50 text-zinc-600 ring-zinc-200 dark:bg-zinc-900 dark:text-zinc-300 dark:ring-zinc-700',
    title: 'A retry of a failed or canceled run',
  },
  schedule: {
    icon: Clock,
    label: 'schedule',
    style: 'bg-zinc-50 text-zinc-600 ring-zinc-200 dark:bg-zinc-900 dark:text-zinc-300 dark:ring-zinc-700',
    title: 'Started by a schedule trigger',
  },
  test: {
    icon: FlaskConical,
    label: 'test',
    style: 'bg-amber-50 text-amber-800 ring-amber-200 dark:bg-amber-950 dark:text-amber-300 dark:ring-amber-900',
    title: 'A test run from the editor: a part of the workflow, using pinned outputs',
  },
  webhook: {
    icon: Webhook,
    label: 'webhook',
    style: 'bg-zinc-50 text-zinc-600 ring-zinc-200 dark:bg-zinc-900 dark:text-zinc-300 dark:ring-zinc-700',
    title: 'Started by a request to a webhook trigger',
  },
};

/** TriggerBadge shows what started an execution; sub-workflow (call) and error-workflow runs stand out. */
export function TriggerBadge({ className, kind }: { className?: string; kind: TriggerKind }) {
  const k = KINDS[kind] ?? KINDS.manual;
  const Icon = k.icon;
  return (
    <span
      className={clsx('inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset', k.style, className)}
      data-testid="trigger-badge"
      data-trigger={kind}
      title={k.title}
    >
      <Icon aria-hidden className="size-3.5 shrink-0" />
      {k.label}
    </span>
  );
}
