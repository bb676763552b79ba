import type { ReactNode } from 'react';

import { Toaster } from '@components/Toaster';

/** AuthFrame is the centred card of the sign-in pages. */
export function AuthFrame({ children, subtitle, title }: { children: ReactNode; subtitle?: ReactNode; title: string }) {
  return (
    <main className="flex min-h-full items-center justify-center px-4 py-12" id="main">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex flex-col items-center gap-3 text-center">
          <svg aria-hidden className="size-10" viewBox="0 0 32 32">
            <rect fill="#4f46e5" height="32" rx="8" width="32" />
            <path d="M9 22V10l7 6 7-6v12" fill="none" stroke="white" strokeLinecap="round" strokeLinejoin="round" strokeWidth="3" />
          </svg>
          <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
          {subtitle && <p className="text-sm text-zinc-500 dark:text-zinc-400">{subtitle}</p>}
        </div>
        <div className="rounded-xl border border-zinc-200 bg-white p-6 shadow-sm dark:border-zinc-800 dark:bg-zinc-900">{children}</div>
      </div>
      <Toaster />
    </main>
  );
}
