// Tests of the REST wrappers against a stubbed fetch: URLs built, and the
// server's error.message surfacing as the Error message.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, getGraph, listEvents, listLastEvents, listTraces } from './api';

function stubFetch(handler: (url: string) => { status: number; body: unknown }) {
  const calls: string[] = [];
  vi.stubGlobal('fetch', async (url: string) => {
    calls.push(url);
    const { status, body } = handler(url);
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
  });
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

describe('api', () => {
  it('lists traces with default paging', async () => {
    const calls = stubFetch(() => ({ status: 200, body: { traces: [], total: 0, limit: 50, offset: 0 } }));
    expect((await listTraces()).total).toBe(0);
    expect(calls).toEqual(['/api/traces?limit=50']);
  });

  it('throws the server error message on non-2xx', async () => {
    stubFetch(() => ({ status: 400, body: { error: { status: 400, message: 'limit must be an integer 1..1000' } } }));
    const err = await listTraces({ limit: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toBe('limit must be an integer 1..1000');
    expect((err as ApiError).status).toBe(400);
  });

  it('falls back to the status when the error body is not JSON', async () => {
    stubFetch(() => ({ status: 502, body: '<html>bad gateway</html>' }));
    await expect(listTraces()).rejects.toThrow(/^HTTP 502/);
  });

  it('escapes the trace id and prefers after= over offset', async () => {
    const calls = stubFetch(() => ({ status: 200, body: { events: [], total: 0, limit: 10, offset: 0 } }));
    await listEvents('a/b', { limit: 10, offset: 3, after: 99 });
    expect(calls).toEqual(['/api/traces/a%2Fb/events?limit=10&after=99']);
  });

  it('listLastEvents fetches the tail page when the trace is long', async () => {
    const calls = stubFetch((url) => {
      const offset = Number(new URL(url, 'http://x').searchParams.get('offset'));
      return { status: 200, body: { events: [{ seq: offset }], total: 1000, limit: 200, offset } };
    });
    const events = await listLastEvents('t', 200);
    expect(calls).toEqual(['/api/traces/t/events?limit=200&offset=0', '/api/traces/t/events?limit=200&offset=800']);
    expect(events).toEqual([{ seq: 800 }]);
  });

  it('passes event filters and skips empty ones; fetches the graph', async () => {
    const calls = stubFetch(() => ({ status: 200, body: { events: [], total: 0, limit: 50, offset: 0, nodes: [], links: [] } }));
    await listLastEvents('t', 50, undefined, { agent: 'coder 1', level: 'error', type: null });
    await getGraph('t/1');
    expect(calls).toEqual(['/api/traces/t/events?limit=50&offset=0&agent=coder+1&level=error', '/api/traces/t%2F1/graph']);
  });
});
