import clsx from 'clsx';
import { CircleCheck, CircleX, Info, X } from 'lucide-react';

import { dismissToast, useToasts } from '@lib/toast';

/** Toaster shows the current toasts in the bottom-right corner and announces them to screen readers. */
export function Toaster() {
  const toasts = useToasts();
  return (
    <div aria-live="polite" className="pointer-events-none fixed right-4 bottom-4 z-[1000] flex w-[min(92vw,24rem)] flex-col gap-2">
      {toasts.map((t) => (
        <div
          key={t.id}
          className={clsx(
            'pointer-events-auto flex items-start gap-3 rounded-lg border bg-white px-3.5 py-3 text-sm shadow-lg dark:bg-zinc-900',
            t.kind === 'error' ? 'border-red-300 dark:border-red-900' : 'border-zinc-200 dark:border-zinc-800',
          )}
          data-kind={t.kind}
          role={t.kind === 'error' ? 'alert' : 'status'}
        >
          {t.kind === 'success' && <CircleCheck aria-hidden className="mt-0.5 size-4 shrink-0 text-emerald-500" />}
          {t.kind === 'error' && <CircleX aria-hidden className="mt-0.5 size-4 shrink-0 text-red-500" />}
          {t.kind === 'info' && <Info aria-hidden className="mt-0.5 size-4 shrink-0 text-indigo-500" />}
          <div className="min-w-0 flex-1">
            {t.title && <div className="font-medium">{t.title}</div>}
            <div className="break-words text-zinc-600 dark:text-zinc-300">{t.message}</div>
            {t.action && (
              <button
                className="mt-1.5 text-sm font-medium text-indigo-600 hover:underline dark:text-indigo-400"
                onClick={() => {
                  t.action?.onClick();
                  dismissToast(t.id);
                }}
                type="button"
              >
                {t.action.label}
              </button>
            )}
          </div>
          <button
            aria-label="Dismiss"
            className="rounded p-0.5 text-zinc-400 hover:text-zinc-700 dark:hover:text-zinc-200"
            onClick={() => dismissToast(t.id)}
            type="button"
          >
            <X className="size-3.5" />
          </button>
        </div>
      ))}
    </div>
  );
}
