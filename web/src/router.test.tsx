import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { session } from '@services/session';
import { fakeApi, fakeMe } from '@test/render';

// The app's router runs its loaders in jsdom: the guards read the session and /auth/setup, the pages'
// loaders start their reads. It is imported once the fakes answer (it starts at "/" when created).
let setupRequired = false;
let router: (typeof import('./router'))['router'];
let calls: ReturnType<typeof fakeApi>;
let unfollow: () => void;

beforeAll(async () => {
  calls = fakeApi([
    { body: () => ({ required: setupRequired }), path: '/api/v1/auth/setup' },
    { body: fakeMe('owner'), path: '/api/v1/auth/me' },
    { body: { items: [] }, path: '/api/v1/workflows' },
    { body: { items: [] }, path: '/api/v1/executions' },
    { body: { items: [] }, path: '/api/v1/node-types' },
  ]);
  let followSession: (typeof import('./router'))['followSession'];
  ({ followSession, router } = await import('./router'));
  unfollow = followSession();
});

afterAll(() => {
  unfollow();
  session.end('logout');
  vi.unstubAllGlobals();
});

const signIn = () => session.accept({ accessToken: 'token', expiresIn: 3600, tenantId: 't1' });
const here = () => router.state.location.pathname + router.state.location.search;
const urls = () => calls.map((c) => c.url);

describe('router guards', () => {
  it('sends a visitor without a session to the login, which returns to the page asked for', async () => {
    // "/" is the workflows page: the login returns there.
    await vi.waitFor(() => expect(here()).toBe('/login?next=%2Fworkflows'));
    await router.navigate('/executions?status=failed');
    expect(here()).toBe('/login?next=%2Fexecutions%3Fstatus%3Dfailed');
    await router.navigate('/setup');
    expect(here()).toBe('/login');
  });

  it('sends everyone to the first-run setup while the server has no user', async () => {
    setupRequired = true;
    try {
      await router.navigate('/workflows');
      expect(here()).toBe('/setup');
      await router.navigate('/login');
      expect(here()).toBe('/setup');
    } finally {
      setupRequired = false;
    }
  });

  it('keeps a signed-in user off the login and setup pages, and starts the pages’ reads', async () => {
    signIn();
    await router.navigate('/login?next=%2Fexecutions');
    expect(here()).toBe('/executions');
    await router.navigate('/setup');
    expect(here()).toBe('/workflows');
    await router.navigate('/');
    expect(here()).toBe('/workflows');
    expect(urls()).toContain('/api/v1/auth/me');
    expect(urls().some((u) => u.startsWith('/api/v1/workflows?'))).toBe(true);

    await router.navigate('/workflows/w1');
    expect(here()).toBe('/workflows/w1');
    expect(urls()).toContain('/api/v1/workflows/w1');
    expect(urls().some((u) => u.startsWith('/api/v1/node-types'))).toBe(true);
    await router.navigate('/workflows/new');
    // A new draft is not read from the server.
    expect(urls()).not.toContain('/api/v1/workflows/new');
    await router.navigate('/executions/e1');
    expect(urls()).toContain('/api/v1/executions/e1');
    await router.navigate('/settings');
    expect(here()).toBe('/settings/members');
    for (const page of ['/credentials', '/node-types', '/plugins', '/settings/api-keys', '/settings/audit', '/no-such-page']) {
      await router.navigate(page);
      expect(router.state.errors).toBeNull();
      expect(here()).toBe(page);
    }
  });

  it('asks for a login that comes back here when the session expires', async () => {
    signIn();
    await router.navigate('/workflows?q=orders');
    session.end('expired');
    await vi.waitFor(() => expect(here()).toBe('/login?next=%2Fworkflows%3Fq%3Dorders&reason=expired'));
  });
});
