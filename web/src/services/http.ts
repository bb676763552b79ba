import { ApiError, apiErrorFrom } from './errors';
import { session as defaultSession, type Session } from './session';

export { ApiError, errorMessage, fieldErrors, isApiError, type ProblemDetailFromAPI, type ProblemFromAPI } from './errors';

interface RequestOptions {
  /** anonymous sends no token and never refreshes (login, setup: the routes that make a session). */
  anonymous?: boolean;
  body?: unknown;
  headers?: Record<string, string>;
  method?: 'DELETE' | 'GET' | 'PATCH' | 'POST' | 'PUT';
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
}

/**
 * ApiResponse is a successful answer: its JSON body (undefined for 204 and 304) and its ETag.
 *
 * Reads of workflows, versions and node types carry an ETag and Cache-Control (private, no-cache,
 * or immutable for a version): fetch's default cache mode keeps them and revalidates with
 * If-None-Match by itself, and hands a 304 back as the kept 200. A 304 reaches this code only when
 * a caller sends If-None-Match itself; it is a success, with no data.
 */
export interface ApiResponse<T> {
  data: T;
  etag: string | null;
  status: number;
}

let current: Session = defaultSession;

/** setHttpSession makes request use another session (tests); it returns the one it replaces. */
export function setHttpSession(s: Session): Session {
  const before = current;
  current = s;
  return before;
}

function buildURL(path: string, query: RequestOptions['query']): string {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  return url.pathname + url.search;
}

/**
 * send makes the call with the session's bearer token; a 401 refreshes the token once (shared with
 * every other request refused meanwhile) and retries once. Any other answer is returned as is.
 */
async function send(path: string, opts: RequestOptions, accept: string): Promise<Response> {
  const url = buildURL(path, opts.query);
  const headers: Record<string, string> = { Accept: accept, ...opts.headers };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const call = (token: string | null) =>
    fetch(url, {
      body,
      credentials: 'same-origin',
      headers: token ? { ...headers, Authorization: `Bearer ${token}` } : headers,
      method: opts.method ?? 'GET',
      signal: opts.signal,
    });
  try {
    if (opts.anonymous) return await call(null);
    const token = await current.getToken();
    const res = await call(token);
    if (res.status !== 401) return res;
    const fresh = await current.refreshAfter401(token);
    if (!fresh) return res;
    return await call(fresh);
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, null, 'The server cannot be reached. Is concertmaster running?');
  }
}

/**
 * roleRefusal is what a 403 says: the server's reason, which names the role it holds now ("your role
 * (viewer) cannot do this: it takes editor or above"), or, without one, the role the app last read.
 */
function roleRefusal(res: Response, detail: string | undefined): string | undefined {
  if (res.status !== 403) return undefined;
  if (detail) return detail.charAt(0).toUpperCase() + detail.slice(1);
  const role = current.currentRole();
  return role ? `Your role (${role}) cannot do this` : undefined;
}

async function fail(res: Response): Promise<never> {
  const err = await apiErrorFrom(res);
  const refusal = roleRefusal(res, err.problem?.detail);
  throw refusal ? new ApiError(err.status, err.problem, refusal, { message: refusal, retryAfter: err.retryAfter }) : err;
}

/** request calls the API and throws ApiError on any answer but 2xx and 304 (Not Modified). */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
  const res = await send(path, opts, 'application/json, application/problem+json');
  if (!res.ok && res.status !== 304) return fail(res);
  const text = res.status === 204 || res.status === 304 ? '' : await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      json = undefined;
    }
  }
  return { data: json as T, etag: res.headers.get('ETag'), status: res.status };
}

/**
 * requestBlob downloads a body with the session's token (a plain link cannot send it), for saving
 * as a file. It throws ApiError like request.
 */
export async function requestBlob(path: string, opts: Omit<RequestOptions, 'body'> = {}, accept = '*/*'): Promise<Blob> {
  const res = await send(path, opts, `${accept}, application/problem+json`);
  if (!res.ok) return fail(res);
  return res.blob();
}

/** etagVersion reads the version out of a workflow's ETag: "7-<hash>", or "7" and W/"7" from earlier servers. */
export function etagVersion(etag: string | null): number | null {
  if (!etag) return null;
  const m = /^(?:W\/)?"(\d+)(?:-[0-9a-f]+)?"$/.exec(etag.trim());
  return m ? Number(m[1]) : null;
}
