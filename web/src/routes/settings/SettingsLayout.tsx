import clsx from 'clsx';
import { ShieldAlert } from 'lucide-react';
import { NavLink, Outlet } from 'react-router';

import { PageHeader } from '@components/PageHeader';
import { EmptyState, Spinner } from '@components/States';
import { useMe } from '@hooks/use-me';
import { roleAtLeast } from '@services/identity';

const TABS = [
  { label: 'Members', to: '/settings/members' },
  { label: 'API keys', to: '/settings/api-keys' },
  { label: 'Audit log', to: '/settings/audit' },
];

/** SettingsLayout frames the workspace settings (admins and owners only): members, API keys, audit log. */
export function SettingsLayout() {
  const me = useMe();
  if (!me) return <Spinner />;
  return (
    <div className="mx-auto max-w-6xl px-8 py-8" data-page="settings">
      <PageHeader title="Settings">
        Workspace <b>{me.tenant.name}</b>: who may do what, the keys programs use, and the record of every change.
      </PageHeader>
      {!roleAtLeast(me.role, 'admin') ? (
        <EmptyState icon={<ShieldAlert className="size-8" />} title="Settings are for admins">
          Your role ({me.role}) cannot manage members, API keys or read the audit log. Ask an admin or the owner of this workspace.
        </EmptyState>
      ) : (
        <>
          <nav aria-label="Settings" className="mb-6 flex gap-1 border-b border-zinc-200 dark:border-zinc-800">
            {TABS.map((t) => (
              <NavLink
                key={t.to}
                className={({ isActive }) =>
                  clsx(
                    '-mb-px border-b-2 px-3 py-2 text-sm font-medium',
                    isActive
                      ? 'border-indigo-600 text-indigo-600 dark:text-indigo-400'
                      : 'border-transparent text-zinc-500 hover:text-zinc-900 dark:hover:text-zinc-100',
                  )
                }
                to={t.to}
              >
                {t.label}
              </NavLink>
            ))}
          </nav>
          <Outlet />
        </>
      )}
    </div>
  );
}
