import clsx from 'clsx';
import { Blocks, History, KeyRound, Puzzle, Settings, Workflow } from 'lucide-react';
import { NavLink, Outlet, useNavigation } from 'react-router';

import { LiveIndicator } from '@components/LiveIndicator';
import { ThemeToggle } from '@components/ThemeToggle';
import { Toaster } from '@components/Toaster';
import { UserMenu } from '@features/auth/UserMenu';
import { WorkspaceSwitcher } from '@features/auth/WorkspaceSwitcher';
import { PRODUCT } from '@hooks/use-document-title';
import { useCan, useSessionTenant } from '@hooks/use-me';

const NAV = [
  { icon: Workflow, label: 'Workflows', to: '/workflows' },
  { icon: History, label: 'Executions', to: '/executions' },
  { icon: KeyRound, label: 'Credentials', to: '/credentials' },
  { icon: Blocks, label: 'Node types', to: '/node-types' },
  { icon: Puzzle, label: 'Plugins', to: '/plugins' },
];

const SETTINGS = { icon: Settings, label: 'Settings', to: '/settings' };

/**
 * RootLayout is the frame of every page: a navigation rail, a header with the workspace switcher and
 * the user menu, and the page. The page is keyed by the workspace, so that switching starts every page
 * over with the other workspace's data.
 */
export function RootLayout() {
  const nav = useNavigation();
  const tenant = useSessionTenant();
  const admin = useCan('admin');
  const items = admin ? [...NAV, SETTINGS] : NAV;
  return (
    <div className="flex h-full">
      <a className="sr-only z-50 rounded bg-white px-3 py-2 focus:not-sr-only focus:absolute focus:top-2 focus:left-2" href="#main">
        Skip to content
      </a>
      <nav aria-label="Main" className="flex w-[72px] shrink-0 flex-col items-center gap-1 bg-zinc-900 py-3 text-zinc-300 dark:bg-black">
        <NavLink aria-label={`${PRODUCT} home`} className="mb-3 rounded-lg" to="/workflows">
          <svg aria-hidden className="size-9" viewBox="0 0 32 32">
            <rect fill="#4f46e5" height="32" rx="8" width="32" />
            <path d="M9 22V10l7 6 7-6v12" fill="none" stroke="white" strokeLinecap="round" strokeLinejoin="round" strokeWidth="3" />
          </svg>
        </NavLink>
        {items.map(({ icon: Icon, label, to }) => (
          <NavLink
            key={to}
            className={({ isActive }) =>
              clsx(
                'flex w-16 flex-col items-center gap-1 rounded-lg px-1 py-2 text-[11px] leading-tight font-medium transition-colors',
                isActive ? 'bg-zinc-800 text-white' : 'hover:bg-zinc-800/60 hover:text-white',
              )
            }
            to={to}
          >
            <Icon aria-hidden className="size-5" />
            <span className="text-center">{label}</span>
          </NavLink>
        ))}
        <div className="mt-auto flex flex-col items-center gap-2">
          <LiveIndicator />
          <ThemeToggle />
        </div>
      </nav>
      <div className="flex min-w-0 flex-1 flex-col">
        <header
          className="flex h-11 shrink-0 items-center justify-between gap-2 border-b border-zinc-200 bg-white px-3 dark:border-zinc-800 dark:bg-zinc-900"
          data-testid="app-header"
        >
          <div className="flex min-w-0 items-center gap-3">
            <span className="text-sm font-semibold tracking-tight text-zinc-900 dark:text-zinc-100" data-testid="product-name">
              {PRODUCT}
            </span>
            <WorkspaceSwitcher />
          </div>
          <UserMenu />
        </header>
        <main className="relative min-h-0 flex-1 overflow-auto" id="main">
          {nav.state === 'loading' && <div aria-hidden className="absolute inset-x-0 top-0 z-50 h-0.5 animate-pulse bg-indigo-500" />}
          <Outlet key={tenant ?? 'none'} />
        </main>
      </div>
      <Toaster />
    </div>
  );
}
