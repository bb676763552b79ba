import { LoaderCircle, TriangleExclamationPoint } from 'lucide-react';
import type { ReactNode } from 'react';

import { errorMessage } from '@services/http';

import { Button } from './Button';

/** Spinner is an accessible loading indicator. */
export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="flex items-center justify-center gap-2 p-8 text-sm text-zinc-500" role="status">
      <LoaderCircle aria-hidden className="size-4 animate-spin" />
      {label}
    </div>
  );
}

/** EmptyState explains an empty list and offers the next step. */
export function EmptyState({ action, children, icon, title }: { action?: ReactNode; children?: ReactNode; icon?: ReactNode; title: string }) {
  return (
    <div className="flex flex-col items-center justify-center gap-2 rounded-xl border border-dashed border-zinc-300 px-6 py-14 text-center dark:border-zinc-700">
      {icon && <div className="mb-1 text-zinc-400">{icon}</div>}
      <h2 className="text-base font-semibold">{title}</h2>
      {children && <div className="max-w-md text-sm text-zinc-500 dark:text-zinc-400">{children}</div>}
      {action && <div className="mt-3">{action}</div>}
    </div>
  );
}

/** ErrorState shows an API error's detail, with a retry button when one is given. */
export function ErrorState({ error, onRetry, title = 'Something went wrong' }: { error: unknown; onRetry?: () => void; title?: string }) {
  return (
    <div
      className="flex flex-col items-center gap-2 rounded-xl border border-red-200 bg-red-50 px-6 py-10 text-center dark:border-red-900 dark:bg-red-950/40"
      role="alert"
    >
      <TriangleExclamationPoint aria-hidden className="size-6 text-red-500" />
      <h2 className="font-semibold text-red-800 dark:text-red-200">{title}</h2>
      <p className="max-w-lg text-sm text-red-700 dark:text-red-300">{errorMessage(error)}</p>
      {onRetry && (
        <Button className="mt-2" onClick={onRetry} size="sm">
          Try again
        </Button>
      )}
    </div>
  );
}
