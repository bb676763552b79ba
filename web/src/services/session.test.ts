import { QueryClient } from '@tanstack/react-query';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ApiError, request, requestBlob, setHttpSession } from './http';
import { followWorkspace, signOut } from './identity';
import { getLiveClient } from './live';
import { Session, type TokenPairFromAPI } from './session';

/**
 * FakeAuthServer answers the auth routes and one protected route the way the server does: the refresh
 * route rotates the token (t1, t2, …) while the cookie is good, and the protected route accepts only
 * the newest token. Every call is recorded.
 */
class FakeAuthServer {
  calls: { auth: string | null; body: string | undefined; credentials: RequestCredentials | undefined; method: string; url: string }[] = [];
  issued = 0;
  cookieValid = true;
  /** valid is the access token the protected route accepts. */
  valid: string | null = null;
  expiresIn = 900;
  /** refreshGate, when set, holds refresh answers until released (to overlap requests). */
  refreshGate: Promise<void> | null = null;
  /** always401: the protected route refuses every token (a revoked user). */
  always401 = false;

  fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    const headers = (init.headers ?? {}) as Record<string, string>;
    const auth = headers.Authorization ?? null;
    const method = init.method ?? 'GET';
    this.calls.push({ auth, body: init.body as string | undefined, credentials: init.credentials, method, url: input });
    if (input === '/api/v1/auth/refresh') {
      if (this.refreshGate) await this.refreshGate;
      if (!this.cookieValid) return problem(401, 'the refresh token is not valid');
      return json(200, this.pair());
    }
    if (input === '/api/v1/auth/logout') {
      this.cookieValid = false;
      return new Response(null, { status: 204 });
    }
    if (input.startsWith('/api/v1/things')) {
      if (this.always401 || !auth || auth !== `Bearer ${this.valid}`) return problem(401, 'token expired');
      return json(200, { ok: true, path: input });
    }
    if (input.startsWith('/api/v1/forbidden')) return problem(403, 'your role (viewer) cannot do this: it takes editor or above');
    if (input.startsWith('/api/v1/refused')) return new Response(null, { status: 403 });
    if (input.startsWith('/api/v1/limited')) return problem(429, 'slow down', { 'Retry-After': '17' });
    if (input.startsWith('/api/v1/export')) return new Response('{"a":1}\n{"a":2}\n', { headers: { 'Content-Type': 'application/x-ndjson' }, status: 200 });
    return problem(404, 'no route');
  };

  pair(): TokenPairFromAPI {
    this.issued++;
    this.valid = `t${this.issued}`;
    return { accessToken: this.valid, expiresIn: this.expiresIn, refreshToken: `r${this.issued}`, tenantId: 'tenant-1', tokenType: 'Bearer' };
  }

  refreshes(): number {
    return this.calls.filter((c) => c.url === '/api/v1/auth/refresh').length;
  }

  of(prefix: string) {
    return this.calls.filter((c) => c.url.startsWith(prefix));
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { headers: { 'Content-Type': 'application/json' }, status });
}

function problem(status: number, detail: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ detail, status, title: 'x', type: 'about:blank' }), {
    headers: { 'Content-Type': 'application/problem+json', ...headers },
    status,
  });
}

let server: FakeAuthServer;
let session: Session;
let restore: Session;

beforeEach(() => {
  server = new FakeAuthServer();
  vi.stubGlobal('fetch', vi.fn(server.fetch));
  session = new Session({ fetch: server.fetch, locks: null });
  restore = setHttpSession(session);
});

afterEach(() => {
  session.end('logout');
  setHttpSession(restore);
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('Session', () => {
  it('signs in on start with the refresh cookie: a body-less POST, credentials same-origin', async () => {
    expect(await session.start()).toBe('authenticated');
    const [call] = server.calls;
    expect(call).toMatchObject({ body: undefined, credentials: 'same-origin', method: 'POST', url: '/api/v1/auth/refresh' });
    expect(session.currentToken()).toBe('t1');
    expect(session.tenantId()).toBe('tenant-1');
    // start is once: a second call makes no request.
    expect(await session.start()).toBe('authenticated');
    expect(server.refreshes()).toBe(1);
  });

  it('is anonymous when the cookie is refused, without announcing an end', async () => {
    server.cookieValid = false;
    const ended = vi.fn();
    session.onEnded(ended);
    expect(await session.start()).toBe('anonymous');
    expect(await session.getToken()).toBeNull();
    expect(ended).not.toHaveBeenCalled();
  });

  it('never writes the token to storage', async () => {
    const setItem = vi.spyOn(Storage.prototype, 'setItem');
    await session.start();
    await request('/api/v1/things');
    for (const [, value] of setItem.mock.calls) expect(value).not.toContain('t1');
    expect(JSON.stringify({ ...localStorage })).not.toContain('t1');
    expect(JSON.stringify({ ...sessionStorage })).not.toContain('t1');
    expect(document.cookie).not.toContain('t1');
    setItem.mockRestore();
  });

  it('refreshes about a minute before the token expires', async () => {
    vi.useFakeTimers();
    await session.start();
    expect(server.refreshes()).toBe(1);
    await vi.advanceTimersByTimeAsync(839_000);
    expect(server.refreshes()).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(server.refreshes()).toBe(2);
    expect(session.currentToken()).toBe('t2');
  });

  it('refreshes before use a token whose timer slept past its expiry', async () => {
    let now = 1_000_000;
    session = new Session({ fetch: server.fetch, locks: null, now: () => now });
    setHttpSession(session);
    await session.start();
    now += 901_000;
    expect(await session.getToken()).toBe('t2');
    expect(server.refreshes()).toBe(2);
  });

  it('ends the session when a refresh is refused, and says so', async () => {
    await session.start();
    const ended = vi.fn();
    session.onEnded(ended);
    server.cookieValid = false;
    expect(await session.refresh()).toBeNull();
    expect(session.status()).toBe('anonymous');
    expect(session.currentToken()).toBeNull();
    expect(ended).toHaveBeenCalledWith('expired');
  });

  it('keeps a valid token when the server cannot be reached for a refresh', async () => {
    await session.start();
    const failing = new Session({ fetch: () => Promise.reject(new TypeError('offline')), locks: null });
    failing.accept({ accessToken: 'x1', expiresIn: 900, tenantId: 't' });
    expect(await failing.refresh()).toBe('x1');
    expect(failing.status()).toBe('authenticated');
    failing.end('logout');
  });

  it('serialises refreshes through the lock manager when there is one', async () => {
    const names: string[] = [];
    const locked = new Session({
      fetch: server.fetch,
      locks: {
        request: async (name, cb) => {
          names.push(name);
          return cb();
        },
      },
    });
    await locked.start();
    expect(names).toEqual(['cm-auth-refresh']);
    locked.end('logout');
  });
});

describe('request with a session', () => {
  it('sends the access token as a bearer token', async () => {
    await session.start();
    const res = await request<{ ok: boolean }>('/api/v1/things');
    expect(res.data.ok).toBe(true);
    expect(server.of('/api/v1/things')[0]!.auth).toBe('Bearer t1');
  });

  it('waits for the first refresh before sending', async () => {
    const res = await request<{ ok: boolean }>('/api/v1/things');
    expect(res.data.ok).toBe(true);
    expect(server.calls.map((c) => c.url)).toEqual(['/api/v1/auth/refresh', '/api/v1/things']);
  });

  it('refreshes once on a 401 and retries the request once with the new token', async () => {
    await session.start();
    server.valid = 'rotated-elsewhere';
    const res = await request<{ ok: boolean }>('/api/v1/things/a');
    expect(res.data.ok).toBe(true);
    expect(server.of('/api/v1/things').map((c) => c.auth)).toEqual(['Bearer t1', 'Bearer t2']);
    expect(server.refreshes()).toBe(2);
  });

  it('shares one refresh between concurrent 401s (single flight)', async () => {
    await session.start();
    server.valid = 'rotated-elsewhere';
    let release!: () => void;
    server.refreshGate = new Promise((r) => (release = r));
    const all = Promise.all(['a', 'b', 'c', 'd'].map((p) => request<{ path: string }>(`/api/v1/things/${p}`)));
    await vi.waitFor(() => expect(server.of('/api/v1/things')).toHaveLength(4));
    await vi.waitFor(() => expect(server.refreshes()).toBe(2));
    release();
    const results = await all;
    expect(results.map((r) => r.data.path)).toEqual(['/api/v1/things/a', '/api/v1/things/b', '/api/v1/things/c', '/api/v1/things/d']);
    expect(server.refreshes()).toBe(2);
    // Each request was sent twice: with the old token, then once with the new one.
    expect(
      server
        .of('/api/v1/things')
        .map((c) => c.auth)
        .sort(),
    ).toEqual([...Array(4).fill('Bearer t1'), ...Array(4).fill('Bearer t2')].sort());
  });

  it('retries only once: a second 401 is the answer', async () => {
    await session.start();
    server.always401 = true;
    const err = await request('/api/v1/things').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect(server.of('/api/v1/things')).toHaveLength(2);
    expect(server.refreshes()).toBe(2);
  });

  it('ends the session when the refresh after a 401 is refused', async () => {
    await session.start();
    const ended = vi.fn();
    session.onEnded(ended);
    server.valid = 'other';
    server.cookieValid = false;
    const err = await request('/api/v1/things').catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(401);
    expect(ended).toHaveBeenCalledWith('expired');
    expect(server.of('/api/v1/things')).toHaveLength(1);
  });

  it('says which role was refused on a 403', async () => {
    await session.start();
    session.setRole('viewer');
    const err = await request('/api/v1/forbidden', { method: 'POST' }).catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(403);
    expect((err as ApiError).message).toBe('Your role (viewer) cannot do this: it takes editor or above');
    // Without a reason from the server, the role the app read.
    const bare = await request('/api/v1/refused', { method: 'POST' }).catch((e: unknown) => e);
    expect((bare as ApiError).message).toBe('Your role (viewer) cannot do this');
  });

  it('reads Retry-After on a 429', async () => {
    await session.start();
    const err = await request('/api/v1/limited').catch((e: unknown) => e);
    expect((err as ApiError).retryAfter).toBe(17);
  });

  it('downloads a body as a blob with the bearer token', async () => {
    await session.start();
    const blob = await requestBlob('/api/v1/export', { query: { action: 'auth.login' } });
    expect(await blob.text()).toBe('{"a":1}\n{"a":2}\n');
    expect(server.of('/api/v1/export')[0]).toMatchObject({ auth: 'Bearer t1', url: '/api/v1/export?action=auth.login' });
  });

  it('sends no token and never refreshes for the anonymous routes', async () => {
    await session.start();
    await request('/api/v1/things', { anonymous: true }).catch(() => undefined);
    expect(server.of('/api/v1/things')[0]!.auth).toBeNull();
    expect(server.refreshes()).toBe(1);
  });
});

describe('logout', () => {
  it('revokes on the server, forgets the token, and clears the cache and the live connection', async () => {
    // signOut works on the app's shared session: sign that one in through the same fake.
    setHttpSession(restore);
    const shared = restore;
    shared.accept({ accessToken: 'shared-1', expiresIn: 900, tenantId: 'tenant-1' });
    const ended = vi.fn();
    const off = shared.onEnded(ended);
    const queryClient = new QueryClient();
    queryClient.setQueryData(['workflows', 'list'], { items: [{ id: 'secret' }] });
    queryClient.setQueryData(['auth', 'me'], { role: 'owner' });
    const live = getLiveClient();
    const stop = vi.spyOn(live, 'stop');
    await signOut(queryClient);
    off();
    expect(server.of('/api/v1/auth/logout')).toHaveLength(1);
    expect(server.of('/api/v1/auth/logout')[0]).toMatchObject({ auth: 'Bearer shared-1', credentials: 'same-origin', method: 'POST' });
    expect(shared.currentToken()).toBeNull();
    expect(shared.status()).toBe('anonymous');
    expect(ended).toHaveBeenCalledWith('logout');
    expect(queryClient.getQueryCache().getAll()).toHaveLength(0);
    expect(stop).toHaveBeenCalled();
    // Signed out, requests go without a token and do not try to refresh.
    await request('/api/v1/things').catch(() => undefined);
    expect(server.of('/api/v1/things')[0]!.auth).toBeNull();
    expect(server.refreshes()).toBe(0);
  });
});

describe('followWorkspace', () => {
  it('drops the cache and reconnects live when the token changes workspace, not on a refresh in the same one', async () => {
    const shared = restore;
    shared.accept({ accessToken: 'a1', expiresIn: 900, tenantId: 'tenant-a' });
    const queryClient = new QueryClient();
    const off = followWorkspace(queryClient);
    const reconnect = vi.spyOn(getLiveClient(), 'reconnect').mockImplementation(() => undefined);
    queryClient.setQueryData(['workflows', 'list'], { items: [{ id: 'of-a' }] });
    shared.accept({ accessToken: 'a2', expiresIn: 900, tenantId: 'tenant-a' });
    expect(queryClient.getQueryData(['workflows', 'list'])).toBeDefined();
    expect(reconnect).not.toHaveBeenCalled();
    // Another tab switched: the shared cookie's next refresh answers a token for tenant-b.
    shared.accept({ accessToken: 'b1', expiresIn: 900, tenantId: 'tenant-b' });
    expect(queryClient.getQueryData(['workflows', 'list'])).toBeUndefined();
    expect(reconnect).toHaveBeenCalledTimes(1);
    off();
    shared.end('logout');
  });
});
