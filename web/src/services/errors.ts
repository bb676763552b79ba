import type { components } from './api.gen';

/** ProblemFromAPI is an RFC 9457 problem as the API sends it. */
export type ProblemFromAPI = components['schemas']['ErrorModel'];
/** ProblemDetailFromAPI is one entry of a problem's errors, with a JSON pointer in location. */
export type ProblemDetailFromAPI = components['schemas']['ErrorDetail'];

/** ApiError is a failed API call: its status and, when the server sent one, the problem. */
export class ApiError extends Error {
  readonly problem: ProblemFromAPI | null;
  /** retryAfter is the Retry-After of a 429 or 503 answer, in seconds, when the server sent one. */
  readonly retryAfter: number | null;
  readonly status: number;

  constructor(status: number, problem: ProblemFromAPI | null, fallback: string, options: { message?: string; retryAfter?: number | null } = {}) {
    super(options.message || problem?.detail || problem?.title || fallback);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.retryAfter = options.retryAfter ?? null;
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

/**
 * parseRetryAfter reads a Retry-After header: delay-seconds, or an HTTP date (seconds from now,
 * rounded up). Null when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** readProblem reads a failed response's body as a problem, or null when it is not one. */
export async function readProblem(res: Response): Promise<ProblemFromAPI | null> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    return null;
  }
  if (!text) return null;
  try {
    const json = JSON.parse(text) as unknown;
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as ProblemFromAPI) : null;
  } catch {
    return null;
  }
}

/** apiErrorFrom turns a non-2xx response into an ApiError (reading its body). */
export async function apiErrorFrom(res: Response, message?: string): Promise<ApiError> {
  const problem = await readProblem(res);
  return new ApiError(res.status, problem, `${res.status} ${res.statusText || 'request failed'}`, {
    message,
    retryAfter: parseRetryAfter(res.headers.get('Retry-After')),
  });
}

/**
 * fieldErrors maps a problem's errors onto form fields: a location body.password, /password or
 * /body/password is the field "password" (nested ones keep their dots: body.a.b → "a.b"). The first
 * message per field wins.
 */
export function fieldErrors(problem: ProblemFromAPI | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of problem?.errors ?? []) {
    let loc = (e.location ?? '').trim();
    if (loc.startsWith('body.')) loc = loc.slice(5);
    else if (loc.startsWith('/body/')) loc = loc.slice(6);
    else if (loc.startsWith('/')) loc = loc.slice(1);
    const field = loc.replace(/\//g, '.');
    if (field && !(field in out)) out[field] = e.message ?? 'invalid';
  }
  return out;
}
