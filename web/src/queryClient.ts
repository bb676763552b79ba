import { QueryClient } from '@tanstack/react-query';

import { isApiError } from '@services/http';

/** queryClient is the app's one TanStack Query client. */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      refetchOnWindowFocus: false,
      // 4xx answers are final (not found, invalid): retrying them only delays the error state.
      retry: (count, err) => count < 2 && !(isApiError(err) && err.status >= 400 && err.status < 500),
      staleTime: 5_000,
    },
  },
});
