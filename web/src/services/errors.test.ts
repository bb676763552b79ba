import { describe, expect, it } from 'vitest';

import { ApiError, apiErrorFrom, errorMessage, fieldErrors, isApiError, parseRetryAfter, readProblem } from './errors';

describe('errors', () => {
  it('ApiError takes its message from the given one, the detail, the title, then the fallback', () => {
    const problem = { detail: 'd', status: 400, title: 't', type: 'about:blank' };
    expect(new ApiError(400, problem, 'f', { message: 'm' }).message).toBe('m');
    expect(new ApiError(400, problem, 'f').message).toBe('d');
    expect(new ApiError(400, { status: 400, title: 't', type: 'about:blank' }, 'f').message).toBe('t');
    expect(new ApiError(400, null, 'f').message).toBe('f');
  });

  it.each([
    [new ApiError(404, null, 'gone'), 'gone'],
    [new Error('plain'), 'plain'],
    ['a string', 'a string'],
    [42, '42'],
  ])('errorMessage(%s) is %j', (err, want) => expect(errorMessage(err)).toBe(want));

  it('isApiError checks the class and, when given, the status', () => {
    const e = new ApiError(412, null, 'x');
    expect(isApiError(e)).toBe(true);
    expect(isApiError(e, 412)).toBe(true);
    expect(isApiError(e, 422)).toBe(false);
    expect(isApiError(new Error('x'))).toBe(false);
  });

  it.each([
    [null, null],
    ['', null],
    ['7', 7],
    [' 30 ', 30],
    ['Thu, 01 Jan 2026 00:00:10 GMT', 10],
    ['Wed, 31 Dec 2025 00:00:00 GMT', 0],
    ['soon', null],
  ])('parseRetryAfter(%j) is %j', (v, want) => expect(parseRetryAfter(v, Date.parse('2026-01-01T00:00:00Z'))).toBe(want));

  it('readProblem reads a JSON object body and nothing else', async () => {
    expect(await readProblem(new Response('{"title":"Bad","status":400}'))).toEqual({ status: 400, title: 'Bad' });
    expect(await readProblem(new Response('[1]'))).toBeNull();
    expect(await readProblem(new Response('not json'))).toBeNull();
    expect(await readProblem(new Response(null))).toBeNull();
  });

  it('apiErrorFrom keeps the status, the problem and Retry-After', async () => {
    const e = await apiErrorFrom(new Response('{"detail":"slow down"}', { headers: { 'Retry-After': '3' }, status: 429, statusText: 'Too Many Requests' }));
    expect(e.status).toBe(429);
    expect(e.message).toBe('slow down');
    expect(e.retryAfter).toBe(3);
    const bare = await apiErrorFrom(new Response(null, { status: 502 }));
    expect(bare.message).toBe('502 request failed');
    expect(bare.retryAfter).toBeNull();
  });

  it('fieldErrors maps every pointer style onto a field, the first message winning', () => {
    expect(
      fieldErrors({
        status: 422,
        title: 'Unprocessable Entity',
        type: 'about:blank',
        errors: [
          { location: 'body.password', message: 'too easy' },
          { location: '/body/email', message: 'not an e-mail' },
          { location: '/name', message: 'required' },
          { location: 'body.a.b', message: 'nested' },
          { location: '/x/y', message: 'slashes' },
          { location: 'body.password', message: 'second' },
          { location: '', message: 'nowhere' },
        ],
      }),
    ).toEqual({ 'a.b': 'nested', email: 'not an e-mail', name: 'required', password: 'too easy', 'x.y': 'slashes' });
    expect(fieldErrors(null)).toEqual({});
  });
});
