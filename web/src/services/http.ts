import type { components } from './api.gen';

/** ProblemFromAPI is an RFC 9457 problem as the API sends it. */
export type ProblemFromAPI = components['schemas']['ErrorModel'];
/** ProblemDetailFromAPI is one entry of a problem's errors, with a JSON pointer in location. */
export type ProblemDetailFromAPI = components['schemas']['ErrorDetail'];

/** ApiError is a failed API call: its status and, when the server sent one, the problem. */
export class ApiError extends Error {
  readonly problem: ProblemFromAPI | null;
  readonly status: number;

  constructor(status: number, problem: ProblemFromAPI | null, fallback: string) {
    super(problem?.detail || problem?.title || fallback);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

/** errorMessage is what the UI shows for any error: the problem's detail when there is one. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** isApiError reports whether err is an ApiError with the given status. */
export function isApiError(err: unknown, status?: number): err is ApiError {
  return err instanceof ApiError && (status === undefined || err.status === status);
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  method?: 'DELETE' | 'GET' | 'POST' | 'PUT';
  query?: Record<string, string | number | undefined | null>;
  signal?: AbortSignal;
}

/** ApiResponse is a successful answer: its JSON body (undefined for 204) and its ETag. */
export interface ApiResponse<T> {
  data: T;
  etag: string | null;
  status: number;
}

/** request calls the API and throws ApiError on any non-2xx answer. */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(opts.query ?? {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const headers: Record<string, string> = { Accept: 'application/json, application/problem+json', ...opts.headers };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(url.pathname + url.search, { body, headers, method: opts.method ?? 'GET', signal: opts.signal });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, null, 'The server cannot be reached. Is concertmaster running?');
  }
  const text = res.status === 204 ? '' : await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      json = undefined;
    }
  }
  if (!res.ok) {
    const problem = json && typeof json === 'object' ? (json as ProblemFromAPI) : null;
    throw new ApiError(res.status, problem, `${res.status} ${res.statusText || 'request failed'}`);
  }
  return { data: json as T, etag: res.headers.get('ETag'), status: res.status };
}

/** etagVersion reads the version out of an ETag such as "7" or W/"7". */
export function etagVersion(etag: string | null): number | null {
  if (!etag) return null;
  const m = /(\d+)/.exec(etag);
  return m ? Number(m[1]) : null;
}
