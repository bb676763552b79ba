import { useSyncExternalStore } from 'react';

/** Toast is one notification. */
export interface Toast {
  action?: { label: string; onClick: () => void };
  id: number;
  kind: 'error' | 'info' | 'success';
  message: string;
  title?: string;
}

let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

function emit() {
  for (const l of listeners) l();
}

/** dismissToast removes a toast. */
export function dismissToast(id: number): void {
  toasts = toasts.filter((t) => t.id !== id);
  emit();
}

/** dismissAllToasts removes every toast (tests start each case from none). */
export function dismissAllToasts(): void {
  if (toasts.length === 0) return;
  toasts = [];
  emit();
}

function push(kind: Toast['kind'], message: string, opts: Partial<Pick<Toast, 'action' | 'title'>> & { durationMs?: number } = {}): number {
  const id = nextId++;
  const t: Toast = { id, kind, message };
  if (opts.title) t.title = opts.title;
  if (opts.action) t.action = opts.action;
  toasts = [...toasts.slice(-4), t];
  emit();
  const ms = opts.durationMs ?? (kind === 'error' ? 8000 : 3500);
  if (ms > 0) setTimeout(() => dismissToast(id), ms);
  return id;
}

/** toast shows notifications: toast.success('Saved'), toast.error(detail). */
export const toast = {
  error: (message: string, opts?: Parameters<typeof push>[2]) => push('error', message, opts),
  info: (message: string, opts?: Parameters<typeof push>[2]) => push('info', message, opts),
  success: (message: string, opts?: Parameters<typeof push>[2]) => push('success', message, opts),
};

/** useToasts subscribes to the current toasts. */
export function useToasts(): Toast[] {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => toasts,
    () => toasts,
  );
}
