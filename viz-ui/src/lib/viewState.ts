// The view state every panel shares: which trace, agent and event are
// selected and which instant (t, and t2 for a comparison) is looked at.
// It lives in the URL query (?trace=&agent=&event=&t=&t2=) so a view can be
// shared and survives a reload. Everything here is pure: parse and
// serialize strings, and small transitions that keep the fields consistent
// (an agent belongs to a trace, so changing the trace drops the agent).
import type { Micros } from './types';

export interface ViewState {
  trace: string | null;
  agent: string | null;
  /** The selected event's seq. */
  event: number | null;
  /** Cursor time, µs since epoch; null = "now" (follow the live edge). */
  t: Micros | null;
  /** Second cursor for comparisons (diff view), µs; null when unused. */
  t2: Micros | null;
}

export const EMPTY_VIEW: ViewState = { trace: null, agent: null, event: null, t: null, t2: null };

/** The query keys owned by the view state; any other key (e.g. token) is kept. */
export const VIEW_KEYS = ['trace', 'agent', 'event', 't', 't2'] as const;

/** A non-negative integer or null: a hand-edited URL must not yield NaN. */
function parseInteger(s: string | null): number | null {
  if (s === null || !/^\d{1,16}$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

function parseName(s: string | null): string | null {
  if (s === null) return null;
  const v = s.trim();
  return v === '' ? null : v;
}

/** Parse a location.search string ("?a=b" or "a=b"). Unknown or bad values become null. */
export function parseViewState(search: string): ViewState {
  const q = new URLSearchParams(search);
  const trace = parseName(q.get('trace'));
  return {
    trace,
    // An agent or event without a trace cannot be resolved; drop them.
    agent: trace === null ? null : parseName(q.get('agent')),
    event: trace === null ? null : parseInteger(q.get('event')),
    t: parseInteger(q.get('t')),
    t2: parseInteger(q.get('t2')),
  };
}

/**
 * The query string for `v`, starting with "?" (or "" when empty). Keys of
 * `keepFrom` that the view state does not own are preserved, so a ?token=
 * the page was opened with stays in the address bar.
 */
export function serializeViewState(v: ViewState, keepFrom = ''): string {
  const q = new URLSearchParams(keepFrom);
  for (const k of VIEW_KEYS) q.delete(k);
  if (v.trace !== null) q.set('trace', v.trace);
  if (v.trace !== null && v.agent !== null) q.set('agent', v.agent);
  if (v.trace !== null && v.event !== null) q.set('event', String(v.event));
  if (v.t !== null) q.set('t', String(Math.round(v.t)));
  if (v.t2 !== null) q.set('t2', String(Math.round(v.t2)));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function sameView(a: ViewState, b: ViewState): boolean {
  return VIEW_KEYS.every((k) => a[k] === b[k]);
}

/** Another trace: what was selected inside the old one no longer applies. */
export function selectTrace(v: ViewState, trace: string | null): ViewState {
  if (trace === v.trace) return v;
  return { ...EMPTY_VIEW, trace };
}

/** Select (or, with the same name again, deselect) an agent. */
export function selectAgent(v: ViewState, agent: string | null): ViewState {
  if (v.trace === null) return v;
  const next = agent === v.agent ? null : agent;
  // An event of another agent would contradict the new selection.
  return { ...v, agent: next, event: next === null ? v.event : null };
}

/** Select an event: its agent and its time come with it, so every view agrees. */
export function selectEvent(
  v: ViewState,
  ev: { seq: number; agentId: string; timestamp: Micros; traceId: string } | null,
): ViewState {
  if (ev === null) return { ...v, event: null };
  // An event of another trace starts a fresh view of that trace.
  const base = ev.traceId === v.trace ? v : EMPTY_VIEW;
  return { ...base, trace: ev.traceId, event: ev.seq, agent: ev.agentId, t: ev.timestamp };
}

export function setTime(v: ViewState, t: Micros | null, t2: Micros | null = v.t2): ViewState {
  const r = (x: Micros | null) => (x === null ? null : Math.round(x));
  if (r(t) === v.t && r(t2) === v.t2) return v;
  return { ...v, t: r(t), t2: r(t2) };
}

/**
 * Whether moving from `a` to `b` deserves a new history entry: a different
 * trace does (Back returns to the previous trace); fine-grained changes
 * (agent, event, time) replace the entry so scrubbing does not flood history.
 */
export function isNavigation(a: ViewState, b: ViewState): boolean {
  return a.trace !== b.trace;
}
