import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError, etagVersion, request } from './http';

describe('request and HTTP caching', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('leaves caching to the browser: fetch keeps its default cache mode, so ETag + no-cache revalidate by themselves', async () => {
    const fetchMock = vi.fn(
      async (_url: string, _init?: RequestInit) =>
        new Response(JSON.stringify({ items: [] }), {
          headers: { 'Cache-Control': 'private, no-cache', 'Content-Type': 'application/json', ETag: '"abc"' },
          status: 200,
        }),
    );
    vi.stubGlobal('fetch', fetchMock);
    const res = await request<{ items: unknown[] }>('/api/v1/node-types');
    expect(res).toEqual({ data: { items: [] }, etag: '"abc"', status: 200 });
    const init = fetchMock.mock.calls[0]![1]!;
    expect(init.cache).toBeUndefined();
    expect(init.headers).not.toHaveProperty('If-None-Match');
  });

  it('treats a 304 as a success without data, not as an error', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(null, { headers: { ETag: '"3-0123456789abcdef"' }, status: 304 })),
    );
    const res = await request<unknown>('/api/v1/workflows/w1', { headers: { 'If-None-Match': '"3-0123456789abcdef"' } });
    expect(res).toEqual({ data: undefined, etag: '"3-0123456789abcdef"', status: 304 });
  });

  it('still throws ApiError on a 4xx', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(
        async () =>
          new Response(JSON.stringify({ detail: 'gone', status: 404, title: 'Not Found' }), {
            headers: { 'Content-Type': 'application/problem+json' },
            status: 404,
          }),
      ),
    );
    await expect(request('/api/v1/workflows/nope')).rejects.toBeInstanceOf(ApiError);
  });
});

describe('etagVersion', () => {
  it.each([
    ['"7-0123456789abcdef"', 7],
    ['"12"', 12],
    ['W/"7"', 7],
    [null, null],
    ['"abc"', null],
    ['7', null],
    ['"0123456789abcdef"', null],
  ])('reads %s as %s', (etag, want) => {
    expect(etagVersion(etag)).toBe(want);
  });
});
