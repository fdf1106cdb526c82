// The REST side of time-travel: a TimeTravelSource over the collector's
// snapshot and event-range endpoints (schema/api.md). Kept apart from the
// pure engine so that one is tested without a network.
import { authToken } from './api';
import type { Snapshot, SnapshotMeta, TimeTravelSource } from './timeTravel';
import type { Micros, TraceEvent } from './types';

const RANGE_PAGE = 10_000; // the range endpoint's largest page
const SNAPSHOT_LIMIT = 10_000;

async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = authToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers, signal });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/**
 * Events in [from, to], all of them: a full page continues from its last
 * timestamp (inclusive, so equal timestamps split across pages are not
 * lost) and the overlap is dropped by seq.
 */
export async function eventsInRange(
  traceId: string, from: Micros, to: Micros, signal?: AbortSignal, agent?: string,
): Promise<TraceEvent[]> {
  const only = agent === undefined ? '' : `&agent=${encodeURIComponent(agent)}`;
  const base = `/api/traces/${encodeURIComponent(traceId)}/events/range`;
  const out: TraceEvent[] = [];
  const seen = new Set<number>();
  let start = Math.floor(from);
  for (;;) {
    const page = await get<{ events: TraceEvent[] }>(
      `${base}?from=${start}&to=${Math.ceil(to)}&limit=${RANGE_PAGE}${only}`, signal);
    for (const e of page.events) if (!seen.has(e.seq)) { seen.add(e.seq); out.push(e); }
    const last = page.events[page.events.length - 1];
    if (page.events.length < RANGE_PAGE || !last || last.timestamp === start) return out;
    start = last.timestamp;
  }
}

/** Every snapshot's metadata, oldest first, in pages continued `from` the last timestamp. */
export async function allSnapshots(traceId: string, signal?: AbortSignal): Promise<SnapshotMeta[]> {
  const base = `/api/traces/${encodeURIComponent(traceId)}/snapshots?limit=${SNAPSHOT_LIMIT}`;
  const out: SnapshotMeta[] = [];
  const seen = new Set<string>();
  let from: number | null = null;
  for (;;) {
    const url: string = from === null ? base : `${base}&from=${from}`;
    const page: SnapshotMeta[] = (await get<{ snapshots: SnapshotMeta[] }>(url, signal)).snapshots;
    for (const m of page) if (!seen.has(m.id)) { seen.add(m.id); out.push(m); }
    const last = page[page.length - 1];
    if (page.length < SNAPSHOT_LIMIT || !last || last.timestamp === from) return out;
    from = last.timestamp;
  }
}

export function restSource(traceId: string, signal?: AbortSignal): TimeTravelSource {
  return {
    snapshots: () => allSnapshots(traceId, signal),
    snapshot: (sid) => get<Snapshot>(`/api/snapshots/${encodeURIComponent(sid)}`, signal),
    events: (from, to, agent) => eventsInRange(traceId, from, to, signal, agent),
  };
}
