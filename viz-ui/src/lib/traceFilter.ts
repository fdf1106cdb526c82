// Which traces the list shows: a text search over id and session, a status
// filter and a time window. Pure, applied on every render to the summaries
// App holds (REST page + live updates), so filtering never waits on a
// request and live counts keep moving in the filtered view.
import type { Micros, TraceStatus, TraceSummary } from './types';

export type StatusFilter = 'all' | TraceStatus;
export type TimeWindow = 'all' | '5m' | '1h' | '24h';

export interface TraceFilter {
  q: string;
  status: StatusFilter;
  window: TimeWindow;
}

export const NO_FILTER: TraceFilter = { q: '', status: 'all', window: 'all' };

export const WINDOW_US: Record<Exclude<TimeWindow, 'all'>, Micros> = {
  '5m': 5 * 60e6,
  '1h': 3600e6,
  '24h': 24 * 3600e6,
};

/** Every whitespace-separated term must appear in the id or the session (any case). */
export function matchesQuery(t: TraceSummary, q: string): boolean {
  const terms = q.toLowerCase().split(/\s+/).filter(Boolean);
  const hay = `${t.id} ${t.sessionId}`.toLowerCase();
  return terms.every((term) => hay.includes(term));
}

/** A trace is in the window when it was running at some point of it. */
export function inWindow(t: TraceSummary, window: TimeWindow, nowUs: Micros): boolean {
  if (window === 'all') return true;
  const end = t.status === 'active' || t.endTime === null ? nowUs : t.endTime;
  return end >= nowUs - WINDOW_US[window];
}

export function filterTraces(traces: readonly TraceSummary[], f: TraceFilter, nowUs: Micros): TraceSummary[] {
  return traces.filter(
    (t) => (f.status === 'all' || t.status === f.status) && inWindow(t, f.window, nowUs) && matchesQuery(t, f.q),
  );
}

/** How many traces each status option would show (search and window applied), for the filter's labels. */
export function statusCounts(traces: readonly TraceSummary[], f: TraceFilter, nowUs: Micros): Record<StatusFilter, number> {
  const c: Record<StatusFilter, number> = { all: 0, active: 0, completed: 0, error: 0 };
  for (const t of traces) {
    if (!inWindow(t, f.window, nowUs) || !matchesQuery(t, f.q)) continue;
    c.all++;
    c[t.status]++;
  }
  return c;
}
