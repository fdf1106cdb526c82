// Thin fetch wrappers over the collector REST API. Paths are absolute
// (/api/...) because the collector serves the UI and the API from one origin.
// Every non-2xx becomes an Error carrying the server's error.message so the
// UI can show it as is.
import type { GraphResponse } from './graph';
import type {
  ApiErrorBody,
  EventListResponse,
  TraceDetail,
  TraceEvent,
  TraceListResponse,
} from './types';

/** Error from the API, with the HTTP status kept for callers that care. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/**
 * Token for a collector started with --token: taken from the page's own
 * ?token= so an operator can open http://host/?token=T and have both REST and
 * WebSocket authenticated, without the UI storing secrets anywhere.
 */
export function authToken(): string | null {
  if (typeof location === 'undefined') return null;
  return new URLSearchParams(location.search).get('token');
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = authToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers, signal });
  if (!res.ok) {
    let message = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    try {
      const body = (await res.json()) as Partial<ApiErrorBody>;
      if (body?.error?.message) message = body.error.message;
    } catch {
      // Not JSON (e.g. a proxy error page): the status line is all we have.
    }
    throw new ApiError(res.status, message);
  }
  return (await res.json()) as T;
}

function query(params: Record<string, number | string | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function listTraces(
  opts: { limit?: number; offset?: number } = {},
  signal?: AbortSignal,
): Promise<TraceListResponse> {
  return getJson(`/api/traces${query({ limit: opts.limit ?? 50, offset: opts.offset })}`, signal);
}

export function getTrace(id: string, signal?: AbortSignal): Promise<TraceDetail> {
  return getJson(`/api/traces/${encodeURIComponent(id)}`, signal);
}

/** Server-side filters every events endpoint takes (schema/api.md). */
export interface EventFilter {
  agent?: string | null;
  /** A type or a PREFIX* */
  type?: string | null;
  /** Minimum level. */
  level?: 'debug' | 'info' | 'warn' | 'error' | null;
}

/** Events of one trace, oldest first. `after` (a seq) replaces `offset`. */
export function listEvents(
  traceId: string,
  opts: { limit?: number; offset?: number; after?: number } & EventFilter = {},
  signal?: AbortSignal,
): Promise<EventListResponse> {
  const { limit = 100, offset, after, agent, type, level } = opts;
  return getJson(
    `/api/traces/${encodeURIComponent(traceId)}/events${query({ limit, offset: after === undefined ? offset : undefined, after, agent, type, level })}`,
    signal,
  );
}

/** The agent graph: nodes with status and metrics, typed links. */
export function getGraph(traceId: string, signal?: AbortSignal): Promise<GraphResponse> {
  return getJson(`/api/traces/${encodeURIComponent(traceId)}/graph`, signal);
}

/**
 * The newest `n` events of a trace. The endpoint pages oldest first, so the
 * first page tells the total and, if there are more than n, a second request
 * fetches the tail. Two round trips at most, one for small traces.
 */
export async function listLastEvents(
  traceId: string,
  n: number,
  signal?: AbortSignal,
  filter: EventFilter = {},
): Promise<TraceEvent[]> {
  const first = await listEvents(traceId, { limit: n, offset: 0, ...filter }, signal);
  if (first.total <= n) return first.events;
  const tail = await listEvents(traceId, { limit: n, offset: first.total - n, ...filter }, signal);
  return tail.events;
}
