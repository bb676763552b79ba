import { createBrowserRouter, redirect } from 'react-router';

import { RootLayout } from '@routes/RootLayout';
import { RouteError } from '@routes/RouteError';
import { ExecutionsPage } from '@routes/ExecutionsPage';
import { NodeTypesPage } from '@routes/NodeTypesPage';
import { NotFoundPage } from '@routes/NotFoundPage';
import { WorkflowsPage } from '@routes/WorkflowsPage';
import { executionQueries } from '@services/executions';
import { nodeTypeQueries } from '@services/nodeTypes';
import { workflowQueries } from '@services/workflows';

import { queryClient } from './queryClient';

// Loaders start the fetches while the lazily loaded page code arrives; a failed fetch is left to the
// page, which shows the problem's detail, so loaders swallow errors.
const prefetch = (...ps: Promise<unknown>[]) => Promise.allSettled(ps).then(() => null);

/** router holds the app's routes; the editor and the execution page are loaded on demand. */
export const router = createBrowserRouter([
  {
    children: [
      { index: true, loader: () => redirect('/workflows') },
      { Component: WorkflowsPage, path: 'workflows' },
      {
        lazy: async () => ({ Component: (await import('@routes/EditorPage')).EditorPage }),
        loader: ({ params }) =>
          prefetch(queryClient.ensureQueryData(workflowQueries.detail(params.id!)), queryClient.ensureQueryData(nodeTypeQueries.list())),
        path: 'workflows/:id',
      },
      { Component: ExecutionsPage, path: 'executions' },
      {
        lazy: async () => ({ Component: (await import('@routes/ExecutionPage')).ExecutionPage }),
        loader: ({ params }) =>
          prefetch(queryClient.ensureQueryData(executionQueries.detail(params.id!)), queryClient.ensureQueryData(nodeTypeQueries.list())),
        path: 'executions/:id',
      },
      { Component: NodeTypesPage, path: 'node-types' },
      { Component: NotFoundPage, path: '*' },
    ],
    Component: RootLayout,
    ErrorBoundary: RouteError,
    HydrateFallback: () => null,
    path: '/',
  },
]);
