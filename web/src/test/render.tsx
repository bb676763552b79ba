import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { vi } from 'vitest';

import { Toaster } from '@components/Toaster';
import { identityQueries, type MeFromAPI, type Role } from '@services/identity';

/** fakeMe is who /auth/me says is signed in: a user with role in workspace "Acme". */
export function fakeMe(role: Role = 'owner', extra: Partial<MeFromAPI> = {}): MeFromAPI {
  return {
    role,
    tenant: { id: 't1', name: 'Acme' },
    tenants: [{ id: 't1', name: 'Acme', role }],
    user: { email: 'ada@example.com', id: 'u1', name: 'Ada' },
    ...extra,
  };
}

/**
 * renderRoute renders element at path inside a router and a fresh query client, signed in as me
 * (an owner unless given; null: nobody is known yet).
 */
export function renderRoute(element: ReactElement, path = '/', routePath = '/', options: { me?: MeFromAPI | null } = {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const me = options.me === undefined ? fakeMe() : options.me;
  if (me) client.setQueryData(identityQueries.me().queryKey, me);
  const router = createMemoryRouter(
    [
      { element, path: routePath },
      { element: <div>elsewhere</div>, path: '*' },
    ],
    { initialEntries: [path] },
  );
  return {
    client,
    router,
    ...render(
      <QueryClientProvider client={client}>
        <RouterProvider router={router} />
        <Toaster />
      </QueryClientProvider>,
    ),
  };
}

/** FakeRoute answers one method and path prefix of the API. */
export interface FakeRoute {
  /** body is the answer's JSON, or a function of the request's URL and JSON body that makes it (for answers that change). */
  body: unknown;
  method?: string;
  path: string;
  status?: number;
}

/** fakeApi replaces fetch with answers for the given routes; it returns the calls made. */
export function fakeApi(routes: FakeRoute[]) {
  const calls: { body: unknown; method: string; url: string }[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      const method = init?.method ?? 'GET';
      calls.push({ body: init?.body ? JSON.parse(String(init.body)) : undefined, method, url });
      const route = routes.find((r) => (r.method ?? 'GET') === method && url.startsWith(r.path));
      if (!route) return new Response(JSON.stringify({ detail: `no fake for ${method} ${url}`, status: 500, title: 'x', type: 'x' }), { status: 500 });
      const status = route.status ?? 200;
      const body = typeof route.body === 'function' ? (route.body as (url: string, body: unknown) => unknown)(url, calls[calls.length - 1]!.body) : route.body;
      return new Response(status === 204 ? null : JSON.stringify(body), {
        headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' },
        status,
      });
    }),
  );
  return calls;
}
