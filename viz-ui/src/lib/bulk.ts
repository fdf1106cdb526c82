// Bulk loader for the timeline: GET /api/traces/:id/events/columns returns
// every event of a trace as parallel JSON arrays (schema/api.md). Here they
// become typed arrays, so a 100 000-event trace is a handful of flat
// buffers instead of 100 000 objects, and the layout and renderer walk
// numbers, not properties.
import { authToken } from './api';
import type { Micros } from './types';

/** The wire shape of /events/columns. */
export interface ColumnsResponse {
  traceId: string;
  count: number;
  total: number;
  agents: string[];
  types: string[];
  seq: number[];
  ts: number[];
  agent: number[];
  type: number[];
  level: number[];
  kind: number[];
  /** spans numbered 0.. in order of first appearance; -1: none */
  span: number[];
  parent: number[];
  duration: (number | null)[];
  /** msgIds numbered 0..; -1: not a message event */
  msg: number[];
  spanCount: number;
  msgCount: number;
}

export const KIND_EVENT = 0;
export const KIND_SPAN_BEGIN = 1;
export const KIND_SPAN_END = 2;

/** One trace's events, column by column, oldest first. */
export interface EventColumns {
  traceId: string;
  count: number;
  agents: string[];
  types: string[];
  seq: Float64Array;
  ts: Float64Array;
  agent: Int32Array;
  type: Int32Array;
  /** 0 debug, 1 info, 2 warn, 3 error */
  level: Uint8Array;
  /** KIND_EVENT, KIND_SPAN_BEGIN or KIND_SPAN_END */
  kind: Uint8Array;
  /** µs; NaN where the event has none */
  duration: Float64Array;
  /** the event's span (begin and end share it), -1 if none */
  span: Int32Array;
  /** the enclosing span, -1 if none */
  parent: Int32Array;
  /** the message's number (sent and received share it), -1 if none */
  msg: Int32Array;
  spanCount: number;
  msgCount: number;
}

export function columnsFromResponse(r: ColumnsResponse): EventColumns {
  const n = r.count;
  const duration = new Float64Array(n);
  for (let i = 0; i < n; i++) duration[i] = r.duration[i] ?? Number.NaN;
  return {
    traceId: r.traceId,
    count: n,
    agents: r.agents,
    types: r.types,
    seq: Float64Array.from(r.seq),
    ts: Float64Array.from(r.ts),
    agent: Int32Array.from(r.agent),
    type: Int32Array.from(r.type),
    level: Uint8Array.from(r.level),
    kind: Uint8Array.from(r.kind),
    duration,
    span: Int32Array.from(r.span),
    parent: Int32Array.from(r.parent),
    msg: Int32Array.from(r.msg),
    spanCount: r.spanCount,
    msgCount: r.msgCount,
  };
}

/** Builds columns from plain event-like rows: for tests and small traces. */
export function columnsFromRows(
  traceId: string,
  rows: {
    seq?: number;
    ts: Micros;
    agent: string;
    type: string;
    level?: number;
    kind?: number;
    spanId?: string | null;
    parentId?: string | null;
    duration?: number | null;
    msgId?: string | null;
  }[],
): EventColumns {
  const agents: string[] = [];
  const types: string[] = [];
  const index = (list: string[], name: string) => {
    const i = list.indexOf(name);
    return i >= 0 ? i : list.push(name) - 1;
  };
  const spans = new Map<string, number>();
  const msgs = new Map<string, number>();
  const number = (m: Map<string, number>, key: string | null | undefined) => {
    if (key === null || key === undefined) return -1;
    if (!m.has(key)) m.set(key, m.size);
    return m.get(key)!;
  };
  const r: ColumnsResponse = {
    traceId, count: rows.length, total: rows.length, agents, types, spanCount: 0, msgCount: 0,
    seq: [], ts: [], agent: [], type: [], level: [], kind: [], span: [], parent: [], duration: [], msg: [],
  };
  rows.forEach((row, i) => {
    r.seq.push(row.seq ?? i + 1);
    r.ts.push(row.ts);
    r.agent.push(index(agents, row.agent));
    r.type.push(index(types, row.type));
    r.level.push(row.level ?? 1);
    r.kind.push(row.kind ?? KIND_EVENT);
    r.span.push(number(spans, row.spanId));
    r.parent.push(number(spans, row.parentId));
    r.duration.push(row.duration ?? null);
    r.msg.push(number(msgs, row.msgId));
  });
  r.spanCount = spans.size;
  r.msgCount = msgs.size;
  return columnsFromResponse(r);
}

/** Loads every event of a trace (up to the server's 1 000 000 rows). */
export async function loadColumns(traceId: string, signal?: AbortSignal): Promise<EventColumns> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = authToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`/api/traces/${encodeURIComponent(traceId)}/events/columns`, { headers, signal });
  if (!res.ok) throw new Error(`events/columns: HTTP ${res.status}`);
  return columnsFromResponse((await res.json()) as ColumnsResponse);
}
