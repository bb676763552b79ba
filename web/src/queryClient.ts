import { MutationCache, QueryClient } from '@tanstack/react-query';

import { toast } from '@lib/toast';
import { errorMessage, isApiError } from '@services/http';

/** queryClient is the app's one TanStack Query client. */
export const queryClient: QueryClient = new QueryClient({
  defaultOptions: {
    queries: {
      refetchOnWindowFocus: false,
      // 4xx answers are final (not found, invalid): retrying them only delays the error state.
      retry: (count, err) => count < 2 && !(isApiError(err) && err.status >= 400 && err.status < 500),
      staleTime: 5_000,
    },
  },
  mutationCache: new MutationCache({
    // A refusal for the role (403) is told even where a mutation reports nothing itself, and the
    // role is read again: it may have changed since the page was drawn.
    onError: (err, _vars, _ctx, mutation) => {
      if (!isApiError(err, 403)) return;
      void queryClient.invalidateQueries({ queryKey: ['auth', 'me'] });
      if (!mutation.options.onError && !mutation.meta?.inlineErrors) toast.error(errorMessage(err));
    },
  }),
});
