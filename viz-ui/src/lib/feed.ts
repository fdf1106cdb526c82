// The UI's live state and the pure reducer that applies stream messages and
// REST results to it. No DOM and no React here: App feeds it to useReducer,
// and the tests drive it directly. Every update returns new objects (never
// mutates), so React can compare by reference and StrictMode's double calls
// are harmless.
import type { StreamMessage, TraceEvent, TraceSummary } from './types';

/** Events kept in each live list; older ones fall off the end. */
export const FEED_MAX = 500;
/** Stream seqs remembered for dedupe; larger than FEED_MAX so a replay that
 * overlaps a burst is still recognised. */
export const SEEN_MAX = 5000;
/** Traces kept in the list; the REST page is 50, the rest is live arrivals. */
export const TRACES_MAX = 200;
/** Seconds of per-second counts kept; the chart shows the last 60. */
export const RATE_KEEP_S = 120;

export interface FeedState {
  /** Newest first (startTime desc). */
  traces: TraceSummary[];
  /** Events of all traces from the stream, newest first (seq desc). */
  feed: TraceEvent[];
  selectedTraceId: string | null;
  /** Events of the selected trace only (live + loaded history), newest first.
   * Kept apart from `feed` so a noisy trace cannot push a quiet selected
   * trace's events out of the bounded list. */
  selectedFeed: TraceEvent[];
  /** Seqs recently applied from the stream, insertion ordered for eviction. */
  seen: ReadonlySet<number>;
  lastSeq: number | null;
  /** Unique events received from the stream since load. */
  totalEvents: number;
  /** Unix second of event timestamp -> events in that second. */
  rate: ReadonlyMap<number, number>;
  /** Last `error` message the server sent on the stream. */
  lastError: string | null;
}

export type FeedAction =
  | { kind: 'stream'; msg: StreamMessage }
  /** A fresh GET /api/traces page. */
  | { kind: 'traces'; traces: TraceSummary[] }
  | { kind: 'select'; traceId: string | null }
  /** Events loaded over REST for a trace (any order). */
  | { kind: 'history'; traceId: string; events: TraceEvent[] };

export function initialFeedState(): FeedState {
  return {
    traces: [],
    feed: [],
    selectedTraceId: null,
    selectedFeed: [],
    seen: new Set(),
    lastSeq: null,
    totalEvents: 0,
    rate: new Map(),
    lastError: null,
  };
}

export function reduceFeed(state: FeedState, action: FeedAction): FeedState {
  switch (action.kind) {
    case 'stream':
      return applyMessage(state, action.msg);
    case 'traces':
      return { ...state, traces: mergeTracePage(state.traces, action.traces) };
    case 'select':
      if (action.traceId === state.selectedTraceId) return state;
      return {
        ...state,
        selectedTraceId: action.traceId,
        // Start from what the live feed already holds for that trace.
        selectedFeed:
          action.traceId === null ? [] : state.feed.filter((e) => e.traceId === action.traceId),
      };
    case 'history':
      // A late answer for a trace no longer selected must not leak in.
      if (action.traceId !== state.selectedTraceId) return state;
      return {
        ...state,
        selectedFeed: mergeNewestFirst(
          sortNewestFirst(action.events.filter((e) => e.traceId === action.traceId)),
          state.selectedFeed,
          FEED_MAX,
        ),
      };
  }
}

export function applyMessage(state: FeedState, msg: StreamMessage): FeedState {
  switch (msg.type) {
    case 'trace_event':
      return applyEvents(state, msg.payload?.events ?? []);
    case 'trace_start':
    case 'trace_end':
      return { ...state, traces: upsertTrace(state.traces, msg.payload) };
    case 'error':
      return { ...state, lastError: msg.payload?.message ?? 'unknown stream error' };
    default:
      // heartbeat and types added later: same state object, so no re-render.
      return state;
  }
}

/** The events shown: the selected trace's, or everything. */
export function visibleFeed(state: FeedState): TraceEvent[] {
  return state.selectedTraceId === null ? state.feed : state.selectedFeed;
}

/**
 * Events per second for the `windowS` whole seconds ending at `nowMs`, oldest
 * first. Bucketed by event timestamp rather than arrival so batched delivery
 * and catch-up replay land in the second they happened, not as spikes.
 */
export function rateSeries(state: Pick<FeedState, 'rate'>, nowMs: number, windowS = 60): number[] {
  const end = Math.floor(nowMs / 1000);
  const out: number[] = [];
  for (let s = end - windowS + 1; s <= end; s++) out.push(state.rate.get(s) ?? 0);
  return out;
}

function applyEvents(state: FeedState, events: TraceEvent[]): FeedState {
  const seen = new Set(state.seen);
  const fresh: TraceEvent[] = [];
  for (const e of events) {
    if (seen.has(e.seq)) continue; // also catches repeats inside one batch
    seen.add(e.seq);
    fresh.push(e);
  }
  if (fresh.length === 0) return state;
  // Set iterates in insertion order, so the first keys are the oldest.
  if (seen.size > SEEN_MAX) {
    let excess = seen.size - SEEN_MAX;
    for (const k of seen) {
      if (excess-- <= 0) break;
      seen.delete(k);
    }
  }

  const newest = sortNewestFirst(fresh);
  const sel = state.selectedTraceId;

  let lastSeq = state.lastSeq;
  const perTrace = new Map<string, { events: number; errors: number; agents: number }>();
  const rate = new Map(state.rate);
  for (const e of fresh) {
    if (lastSeq === null || e.seq > lastSeq) lastSeq = e.seq;
    const c = perTrace.get(e.traceId) ?? { events: 0, errors: 0, agents: 0 };
    c.events++;
    if (e.level === 'error') c.errors++;
    if (e.eventType === 'agent.created') c.agents++;
    perTrace.set(e.traceId, c);
    const sec = Math.floor(e.timestamp / 1e6);
    rate.set(sec, (rate.get(sec) ?? 0) + 1);
  }
  pruneRate(rate);

  return {
    ...state,
    feed: mergeNewestFirst(newest, state.feed, FEED_MAX),
    selectedFeed:
      sel === null
        ? state.selectedFeed
        : mergeNewestFirst(newest.filter((e) => e.traceId === sel), state.selectedFeed, FEED_MAX),
    seen,
    lastSeq,
    totalEvents: state.totalEvents + fresh.length,
    rate,
    // Events of traces we have no row for yet are not counted here: the row
    // arrives with trace_start or the next REST refresh, with server counts.
    traces: state.traces.map((t) => {
      const c = perTrace.get(t.id);
      return c
        ? { ...t, eventCount: t.eventCount + c.events, errorCount: t.errorCount + c.errors, agentCount: t.agentCount + c.agents }
        : t;
    }),
  };
}

/** Keep only the last RATE_KEEP_S seconds before the newest bucket. */
function pruneRate(rate: Map<number, number>): void {
  let newest = -Infinity;
  for (const k of rate.keys()) if (k > newest) newest = k;
  for (const k of [...rate.keys()]) if (k <= newest - RATE_KEEP_S) rate.delete(k);
}

/**
 * Insert or replace one summary. Counts only grow, so the larger of ours
 * (bumped by live events) and the server's wins; that stops a summary
 * snapshotted a moment ago from making the numbers jump back.
 */
export function upsertTrace(traces: TraceSummary[], t: TraceSummary): TraceSummary[] {
  const old = traces.find((x) => x.id === t.id);
  const merged = old ? withMaxCounts(t, old) : t;
  return sortTraces([merged, ...traces.filter((x) => x.id !== t.id)]).slice(0, TRACES_MAX);
}

/**
 * Merge a REST page into the list. The server is the truth for what it
 * listed; a trace we only know from the stream is kept when it is newer than
 * everything in the page (it started after the server took the snapshot).
 */
export function mergeTracePage(local: TraceSummary[], page: TraceSummary[]): TraceSummary[] {
  const byId = new Map(local.map((t) => [t.id, t]));
  const pageIds = new Set(page.map((t) => t.id));
  const newestInPage = page.reduce((m, t) => Math.max(m, t.startTime), -Infinity);
  const merged = page.map((t) => {
    const old = byId.get(t.id);
    return old ? withMaxCounts(t, old) : t;
  });
  for (const t of local) if (!pageIds.has(t.id) && t.startTime > newestInPage) merged.push(t);
  return sortTraces(merged).slice(0, TRACES_MAX);
}

function withMaxCounts(fresh: TraceSummary, old: TraceSummary): TraceSummary {
  return {
    ...fresh,
    eventCount: Math.max(fresh.eventCount, old.eventCount),
    agentCount: Math.max(fresh.agentCount, old.agentCount),
    errorCount: Math.max(fresh.errorCount, old.errorCount),
  };
}

function sortTraces(ts: TraceSummary[]): TraceSummary[] {
  return ts.sort((a, b) => b.startTime - a.startTime || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

function sortNewestFirst(events: TraceEvent[]): TraceEvent[] {
  return [...events].sort((a, b) => b.seq - a.seq);
}

/**
 * Merge two lists already sorted by seq descending into one, dropping equal
 * seqs and stopping at `max`. Linear, so it is cheap on every message.
 */
export function mergeNewestFirst(a: TraceEvent[], b: TraceEvent[], max: number): TraceEvent[] {
  const out: TraceEvent[] = [];
  let i = 0;
  let j = 0;
  let prev = Infinity;
  while (out.length < max && (i < a.length || j < b.length)) {
    const x = a[i];
    const y = b[j];
    let next: TraceEvent;
    if (y === undefined || (x !== undefined && x.seq >= y.seq)) {
      next = x!;
      i++;
    } else {
      next = y;
      j++;
    }
    if (next.seq === prev) continue;
    prev = next.seq;
    out.push(next);
  }
  return out;
}
