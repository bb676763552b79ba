import { isRouteErrorResponse, Link, useRouteError } from 'react-router';

import { ErrorState } from '@components/States';

/** RouteError is shown when a page fails to load or throws while rendering. */
export function RouteError() {
  const err = useRouteError();
  const shown = isRouteErrorResponse(err) ? new Error(`${err.status} ${err.statusText}`) : err;
  return (
    <div className="mx-auto max-w-2xl p-10">
      <ErrorState error={shown} onRetry={() => window.location.reload()} title="This page could not be shown" />
      <p className="mt-4 text-center text-sm">
        <Link className="text-indigo-600 hover:underline dark:text-indigo-400" to="/workflows">
          Back to workflows
        </Link>
      </p>
    </div>
  );
}
