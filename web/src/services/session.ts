/**
 * session.ts holds the signed-in user's access token (ADR 0013): in memory only, never in storage.
 * The refresh token is an HttpOnly cookie (cm_refresh, Path=/api/v1/auth) that the server sets and
 * the app never reads: POST /api/v1/auth/refresh sends it and answers a new access token (rotating
 * the cookie). The session refreshes ~60 s before the token expires, and once when a request is
 * refused with 401; concurrent refreshes share one request (single flight), and refreshes of the tabs
 * of one browser take turns (Web Locks) so that two tabs never present the same rotated cookie.
 */

import type { components } from './api.gen';

/** TokenPairFromAPI is what login, setup, refresh and switch answer. */
export type TokenPairFromAPI = Pick<components['schemas']['TokenPair'], 'accessToken' | 'expiresIn' | 'tenantId'> &
  Partial<Pick<components['schemas']['TokenPair'], 'refreshToken' | 'tokenType'>>;

/** SessionStatus: unknown until the first refresh answered, then authenticated or anonymous. */
export type SessionStatus = 'anonymous' | 'authenticated' | 'unknown';

/** SessionEnd says why a session ended: the user logged out, or it could not be refreshed. */
export type SessionEnd = 'expired' | 'logout';

/** LockManagerLike is the part of navigator.locks the session uses. */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** SessionOptions configure a session; every field has a browser default. */
export interface SessionOptions {
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** locks serialises refreshes across tabs (navigator.locks; none in tests). */
  locks?: LockManagerLike | null;
  now?: () => number;
  /** refreshLeadMs is how long before expiry the token is refreshed (60 s). */
  refreshLeadMs?: number;
  /** retryMs is how soon a proactive refresh that failed for want of a network is tried again (10 s). */
  retryMs?: number;
}

const REFRESH_PATH = '/api/v1/auth/refresh';
const LOGOUT_PATH = '/api/v1/auth/logout';
const LOCK_NAME = 'cm-auth-refresh';
/** EXPIRY_SLACK_MS: a token this close to its expiry is refreshed before use rather than sent. */
const EXPIRY_SLACK_MS = 5_000;

/** Session is the tab's sign-in state; see the file comment. */
export class Session {
  private token: string | null = null;
  private expiresAt = 0;
  private tenant: string | null = null;
  private role: string | null = null;
  private state: SessionStatus = 'unknown';
  private booting: Promise<SessionStatus> | null = null;
  private inflight: Promise<string | null> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly endListeners = new Set<(reason: SessionEnd) => void>();
  private readonly opts: Required<Omit<SessionOptions, 'locks'>> & { locks: LockManagerLike | null };

  constructor(options: SessionOptions = {}) {
    const nav = typeof navigator === 'undefined' ? undefined : (navigator as Navigator & { locks?: LockManagerLike });
    this.opts = {
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      locks: options.locks === undefined ? (nav?.locks ?? null) : options.locks,
      now: options.now ?? Date.now,
      refreshLeadMs: options.refreshLeadMs ?? 60_000,
      retryMs: options.retryMs ?? 10_000,
    };
  }

  /** status is the state now (for useSyncExternalStore). */
  status = (): SessionStatus => this.state;

  /** subscribe calls listener after every change of status, token or tenant; it returns the unsubscribe. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** onEnded calls listener when an authenticated session ends (logout, or a refresh refused). */
  onEnded(listener: (reason: SessionEnd) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  /** currentToken is the access token held now, without refreshing it. */
  currentToken(): string | null {
    return this.token;
  }

  /** tenantId is the workspace the token is for. */
  tenantId(): string | null {
    return this.tenant;
  }

  /** currentRole is the role in the current workspace, once the app has read it (for messages). */
  currentRole(): string | null {
    return this.role;
  }

  /** setRole records the role the app read from /auth/me. */
  setRole(role: string | null): void {
    this.role = role;
  }

  /**
   * start runs the first refresh, once: with a valid cookie the tab is signed in without a login. It
   * resolves to the status after it; later calls return the same answer (or the status now, after a
   * login or logout).
   */
  start(): Promise<SessionStatus> {
    if (this.state !== 'unknown') return Promise.resolve(this.state);
    this.booting ??= this.refresh().then(() => {
      if (this.state === 'unknown') this.setState('anonymous');
      return this.state;
    });
    return this.booting;
  }

  /**
   * getToken is the access token to send: it waits for the first refresh, and refreshes first when
   * the token is about to expire (a timer may have slept with the laptop). Null when signed out.
   */
  async getToken(): Promise<string | null> {
    if (this.state === 'unknown') await this.start();
    if (!this.token) return null;
    if (this.opts.now() >= this.expiresAt - EXPIRY_SLACK_MS) return this.refresh();
    return this.token;
  }

  /**
   * refreshAfter401 is called when a request sent with token `used` was refused: when the token has
   * changed since (another request refreshed it), that one is returned; else one refresh is made,
   * shared by every caller that arrives while it runs. Null when the session is over.
   */
  async refreshAfter401(used: string | null): Promise<string | null> {
    if (this.state === 'anonymous') return null;
    if (this.token && this.token !== used && this.opts.now() < this.expiresAt - EXPIRY_SLACK_MS) return this.token;
    return this.refresh();
  }

  /**
   * refresh asks the server for a new access token with the refresh cookie. One at a time: callers
   * that arrive while one runs share its answer. A refused refresh (401, 400, 403) ends the session;
   * an unreachable server keeps the current token while it is valid and tries again soon.
   */
  refresh(): Promise<string | null> {
    this.inflight ??= this.doRefresh().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async doRefresh(): Promise<string | null> {
    const call = () =>
      this.opts.fetch(REFRESH_PATH, {
        credentials: 'same-origin',
        headers: { Accept: 'application/json, application/problem+json' },
        method: 'POST',
      });
    let res: Response;
    try {
      res = this.opts.locks ? await this.opts.locks.request(LOCK_NAME, call) : await call();
    } catch {
      return this.keepOrNothing();
    }
    if (res.ok) {
      let pair: TokenPairFromAPI | null = null;
      try {
        pair = (await res.json()) as TokenPairFromAPI;
      } catch {
        pair = null;
      }
      if (pair && typeof pair.accessToken === 'string' && pair.accessToken) {
        this.accept(pair);
        return this.token;
      }
      return this.keepOrNothing();
    }
    if (res.status === 400 || res.status === 401 || res.status === 403) {
      this.end('expired');
      return null;
    }
    // 429, 5xx: the session may still be good; try again soon.
    return this.keepOrNothing();
  }

  private keepOrNothing(): string | null {
    if (this.token && this.opts.now() < this.expiresAt - EXPIRY_SLACK_MS) {
      this.schedule(this.opts.retryMs);
      return this.token;
    }
    return null;
  }

  /** accept takes a token pair from login, setup, refresh or switch: the tab is signed in with it. */
  accept(pair: TokenPairFromAPI): void {
    const lifetimeMs = Math.max(1, pair.expiresIn || 0) * 1000;
    const tenantChanged = this.tenant !== pair.tenantId;
    this.token = pair.accessToken;
    this.expiresAt = this.opts.now() + lifetimeMs;
    this.tenant = pair.tenantId ?? null;
    if (tenantChanged) this.role = null;
    // Refresh a minute before expiry, or half way through a token shorter than two minutes.
    this.schedule(Math.max(lifetimeMs - this.opts.refreshLeadMs, lifetimeMs / 2));
    this.setState('authenticated', true);
  }

  /** logout revokes the refresh family on the server (best effort) and ends the session here. */
  async logout(): Promise<void> {
    const token = this.token;
    try {
      await this.opts.fetch(LOGOUT_PATH, {
        credentials: 'same-origin',
        headers: token ? { Accept: 'application/json, application/problem+json', Authorization: `Bearer ${token}` } : { Accept: 'application/json' },
        method: 'POST',
      });
    } catch {
      // Signed out here anyway; the refresh token expires on its own.
    }
    this.end('logout');
  }

  /** end forgets the token; listeners hear why when the tab was signed in. */
  end(reason: SessionEnd): void {
    const was = this.state;
    this.token = null;
    this.expiresAt = 0;
    this.tenant = null;
    this.role = null;
    this.clearTimer();
    this.setState('anonymous', true);
    if (was === 'authenticated') for (const l of [...this.endListeners]) l(reason);
  }

  private schedule(delayMs: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.token) void this.refresh();
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private setState(s: SessionStatus, force = false): void {
    if (this.state === s && !force) return;
    this.state = s;
    for (const l of [...this.listeners]) l();
  }
}

/** session is the tab's one session. */
export const session = new Session();
