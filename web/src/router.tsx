import { createBrowserRouter, redirect, type LoaderFunctionArgs } from 'react-router';

import { safeNext } from '@features/auth/messages';
import { LoginPage } from '@routes/LoginPage';
import { RootLayout } from '@routes/RootLayout';
import { RouteError } from '@routes/RouteError';
import { ExecutionsPage } from '@routes/ExecutionsPage';
import { NotFoundPage } from '@routes/NotFoundPage';
import { SetupPage } from '@routes/SetupPage';
import { WorkflowsPage, workflowsPageQueries } from '@routes/WorkflowsPage';
import { executionQueries } from '@services/executions';
import { isApiError } from '@services/http';
import { fetchSetupStatus, followWorkspace, identityQueries } from '@services/identity';
import { getLiveClient } from '@services/live';
import { nodeTypeQueries } from '@services/nodeTypes';
import { session } from '@services/session';
import { NEW_WORKFLOW_ID, workflowQueries } from '@services/workflows';

import { queryClient } from './queryClient';

// Loaders start the fetches while the lazily loaded page code arrives; a failed fetch is left to the
// page, which shows the problem's detail, so loaders swallow errors.
const prefetch = (...ps: Promise<unknown>[]) => Promise.allSettled(ps).then(() => null);

/** setupRequired asks whether the server still has no user; unknown (unreachable) counts as no. */
async function setupRequired(): Promise<boolean> {
  try {
    return (await fetchSetupStatus()).required;
  } catch {
    return false;
  }
}

/** loginPath is the login page that returns to path after signing in. */
function loginPath(path: string, reason?: string): string {
  const q = new URLSearchParams();
  if (path && path !== '/' && !path.startsWith('/login') && !path.startsWith('/setup')) q.set('next', path);
  if (reason) q.set('reason', reason);
  const qs = q.toString();
  return qs ? `/login?${qs}` : '/login';
}

/**
 * requireSession guards the app: the first load signs in with the refresh cookie; without a session
 * it sends the user to the first-run setup (no user yet) or to the login, which returns here after.
 */
async function requireSession({ request }: LoaderFunctionArgs) {
  const url = new URL(request.url);
  const here = url.pathname + url.search;
  if ((await session.start()) !== 'authenticated') {
    throw redirect((await setupRequired()) ? '/setup' : loginPath(here));
  }
  try {
    await queryClient.ensureQueryData(identityQueries.me());
  } catch (e) {
    if (isApiError(e, 401)) throw redirect(loginPath(here));
    throw e;
  }
  return null;
}

/** guestOnly keeps a signed-in user off the login page, and sends everyone to setup while it is due. */
async function guestOnly({ request }: LoaderFunctionArgs) {
  const next = new URL(request.url).searchParams.get('next');
  if ((await session.start()) === 'authenticated') throw redirect(safeNext(next));
  if (await setupRequired()) throw redirect('/setup');
  return null;
}

/** setupOnly shows the setup page only while the server has no user. */
async function setupOnly() {
  if ((await session.start()) === 'authenticated') throw redirect('/workflows');
  if (!(await setupRequired())) throw redirect('/login');
  return null;
}

/** router holds the app's routes; the editor, the execution page and the settings are loaded on demand. */
export const router = createBrowserRouter([
  { Component: LoginPage, ErrorBoundary: RouteError, HydrateFallback: () => null, loader: guestOnly, path: '/login' },
  { Component: SetupPage, ErrorBoundary: RouteError, HydrateFallback: () => null, loader: setupOnly, path: '/setup' },
  {
    children: [
      { index: true, loader: () => redirect('/workflows') },
      {
        Component: WorkflowsPage,
        loader: ({ request }) => {
          const [list, recent] = workflowsPageQueries(new URL(request.url).searchParams);
          // Not awaited: the page shows its own spinner; the reads only start before it mounts.
          void prefetch(queryClient.prefetchQuery(list), queryClient.prefetchQuery(recent));
          return null;
        },
        path: 'workflows',
      },
      {
        lazy: async () => ({ Component: (await import('@routes/EditorPage')).EditorPage }),
        // workflows/new is a draft, not read from the server (NEW_WORKFLOW_PATH).
        loader: ({ params }) =>
          params.id === NEW_WORKFLOW_ID
            ? prefetch(queryClient.ensureQueryData(nodeTypeQueries.list()))
            : prefetch(queryClient.ensureQueryData(workflowQueries.detail(params.id!)), queryClient.ensureQueryData(nodeTypeQueries.list())),
        path: 'workflows/:id',
      },
      { Component: ExecutionsPage, path: 'executions' },
      {
        lazy: async () => ({ Component: (await import('@routes/ExecutionPage')).ExecutionPage }),
        loader: ({ params }) => prefetch(queryClient.ensureQueryData(executionQueries.detail(params.id!)), queryClient.ensureQueryData(nodeTypeQueries.list())),
        path: 'executions/:id',
      },
      { lazy: async () => ({ Component: (await import('@routes/CredentialsPage')).CredentialsPage }), path: 'credentials' },
      // Lazy: the page's Markdown renderer (marked, DOMPurify) loads only when the page is opened.
      { lazy: async () => ({ Component: (await import('@routes/NodeTypesPage')).NodeTypesPage }), path: 'node-types' },
      { lazy: async () => ({ Component: (await import('@routes/PluginsPage')).PluginsPage }), path: 'plugins' },
      {
        children: [
          { index: true, loader: () => redirect('/settings/members') },
          { lazy: async () => ({ Component: (await import('@routes/settings/MembersPage')).MembersPage }), path: 'members' },
          { lazy: async () => ({ Component: (await import('@routes/settings/ApiKeysPage')).ApiKeysPage }), path: 'api-keys' },
          { lazy: async () => ({ Component: (await import('@routes/settings/AuditPage')).AuditPage }), path: 'audit' },
        ],
        lazy: async () => ({ Component: (await import('@routes/settings/SettingsLayout')).SettingsLayout }),
        path: 'settings',
      },
      { Component: NotFoundPage, path: '*' },
    ],
    Component: RootLayout,
    ErrorBoundary: RouteError,
    HydrateFallback: () => null,
    loader: requireSession,
    path: '/',
  },
]);

/**
 * followSession ties the app to the tab's session: a change of workspace drops the previous one's
 * cache (followWorkspace), and a session that ends by itself (its refresh refused: expired, revoked,
 * signed out in another tab) drops everything cached and asks for a login that returns to the page
 * the user was on. main.tsx calls it once; it returns the function that undoes it.
 */
export function followSession(): () => void {
  const offWorkspace = followWorkspace(queryClient);
  const offEnded = session.onEnded((reason) => {
    getLiveClient().stop();
    queryClient.clear();
    if (reason === 'expired') {
      const { pathname, search } = router.state.location;
      void router.navigate(loginPath(pathname + search, 'expired'), { replace: true });
    }
  });
  return () => {
    offWorkspace();
    offEnded();
  };
}
