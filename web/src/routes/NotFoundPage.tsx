import { Link } from 'react-router';

import { EmptyState } from '@components/States';
import { useDocumentTitle } from '@hooks/use-document-title';

/** NotFoundPage answers unknown client routes. */
export function NotFoundPage() {
  useDocumentTitle('Not found');
  return (
    <div className="mx-auto max-w-2xl p-10">
      <EmptyState title="Page not found">
        Nothing lives at this address.{' '}
        <Link className="text-indigo-600 hover:underline dark:text-indigo-400" to="/workflows">
          Go to workflows
        </Link>
      </EmptyState>
    </div>
  );
}
