import { errorMessage, isApiError } from '@services/http';

/** safeNext is where to go after signing in: a path of this app, never another site or the sign-in pages. */
export function safeNext(next: string | null | undefined, fallback = '/workflows'): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  if (/^\/(login|setup)(\/|\?|$)/.test(next)) return fallback;
  return next;
}

/** loginError is what the login form says about a failed login. */
export function loginError(err: unknown): string {
  if (isApiError(err, 401)) return 'Invalid e-mail or password';
  if (isApiError(err, 429)) return `Too many attempts, try again in ${err.retryAfter ?? 60} s`;
  return errorMessage(err);
}
