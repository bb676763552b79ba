import type { ReactNode } from 'react';

/** PageHeader titles a list page and holds its main actions. */
export function PageHeader({ actions, children, title }: { actions?: ReactNode; children?: ReactNode; title: string }) {
  return (
    <header className="mb-6 flex flex-wrap items-end justify-between gap-4">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
        {children && <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">{children}</p>}
      </div>
      {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
    </header>
  );
}
