// Tests of the pure feed reducer: dedupe, bounds, counts, trace upsert and
// the rate series. Built from small factories so each case states only the
// fields it is about.
import { describe, expect, it } from 'vitest';
import {
  FEED_MAX,
  RATE_KEEP_S,
  SEEN_MAX,
  initialFeedState,
  mergeNewestFirst,
  mergeTracePage,
  rateSeries,
  reduceFeed,
  visibleFeed,
  type FeedAction,
  type FeedState,
} from './feed';
import type { Level, StreamMessage, TraceEvent, TraceSummary } from './types';

const T0 = 1_764_280_000_000_000; // µs, a whole second

function ev(seq: number, over: Partial<TraceEvent> = {}): TraceEvent {
  return {
    id: String(seq),
    seq,
    traceId: 'tr-a',
    agentId: 'coder-1',
    eventType: 'task.started',
    timestamp: T0 + seq * 1000,
    level: 'info' as Level,
    message: `event ${seq}`,
    metadata: null,
    spanId: null,
    parentId: null,
    duration: null,
    count: 1,
    stackTrace: null,
    ...over,
  };
}

function trace(id: string, over: Partial<TraceSummary> = {}): TraceSummary {
  return {
    id,
    sessionId: 'demo',
    startTime: T0,
    endTime: null,
    status: 'active',
    agentCount: 3,
    eventCount: 0,
    errorCount: 0,
    durationUs: null,
    ...over,
  };
}

function batch(events: TraceEvent[]): FeedAction {
  const msg: StreamMessage = {
    type: 'trace_event',
    timestamp: T0,
    traceId: events[0]?.traceId ?? 'tr-a',
    payload: {
      events,
      batchId: 'b',
      sequenceNumber: events.reduce((m, e) => Math.max(m, e.seq), 0),
    },
  };
  return { kind: 'stream', msg };
}

const start = (t: TraceSummary): FeedAction => ({
  kind: 'stream',
  msg: { type: 'trace_start', timestamp: t.startTime, traceId: t.id, payload: t },
});
const end = (t: TraceSummary): FeedAction => ({
  kind: 'stream',
  msg: { type: 'trace_end', timestamp: t.endTime ?? t.startTime, traceId: t.id, payload: t },
});

const run = (actions: FeedAction[], s: FeedState = initialFeedState()) => actions.reduce(reduceFeed, s);
const seqs = (es: TraceEvent[]) => es.map((e) => e.seq);

describe('feed: live events', () => {
  it('keeps events newest first across batches', () => {
    const s = run([batch([ev(1), ev(2)]), batch([ev(3), ev(4)])]);
    expect(seqs(s.feed)).toEqual([4, 3, 2, 1]);
    expect(s.lastSeq).toBe(4);
    expect(s.totalEvents).toBe(4);
  });

  it('orders a batch that arrives unsorted', () => {
    const s = run([batch([ev(7), ev(5), ev(6)])]);
    expect(seqs(s.feed)).toEqual([7, 6, 5]);
  });

  it('ignores a resent batch (catch-up replay) entirely', () => {
    const s1 = run([start(trace('tr-a')), batch([ev(1), ev(2), ev(3)])]);
    const s2 = reduceFeed(s1, batch([ev(2), ev(3)]));
    expect(s2).toBe(s1); // no change at all, so React skips the render
    expect(s2.totalEvents).toBe(3);
    expect(s2.traces[0]!.eventCount).toBe(3);
  });

  it('keeps the new part of a batch that overlaps what was seen', () => {
    const s = run([batch([ev(1), ev(2)]), batch([ev(2), ev(3), ev(3)])]);
    expect(seqs(s.feed)).toEqual([3, 2, 1]);
    expect(s.totalEvents).toBe(3);
  });

  it('bounds the feed at FEED_MAX, dropping the oldest', () => {
    const many = Array.from({ length: FEED_MAX + 120 }, (_, i) => ev(i + 1));
    const s = run([batch(many.slice(0, 300)), batch(many.slice(300))]);
    expect(s.feed).toHaveLength(FEED_MAX);
    expect(s.feed[0]!.seq).toBe(FEED_MAX + 120);
    expect(s.feed[FEED_MAX - 1]!.seq).toBe(121);
    expect(s.totalEvents).toBe(FEED_MAX + 120); // the total is not bounded
  });

  it('remembers at most SEEN_MAX seqs, forgetting the oldest', () => {
    const n = SEEN_MAX + 10;
    const s = run([batch(Array.from({ length: n }, (_, i) => ev(i + 1)))]);
    expect(s.seen.size).toBe(SEEN_MAX);
    expect(s.seen.has(1)).toBe(false);
    expect(s.seen.has(n)).toBe(true);
  });

  it('ignores heartbeats without changing state', () => {
    const s0 = run([batch([ev(1)])]);
    const s1 = reduceFeed(s0, { kind: 'stream', msg: { type: 'heartbeat', timestamp: T0, payload: {} } });
    expect(s1).toBe(s0);
  });

  it('records the message of a stream error', () => {
    const s = run([{ kind: 'stream', msg: { type: 'error', timestamp: T0, payload: { message: 'db busy' } } }]);
    expect(s.lastError).toBe('db busy');
  });
});

describe('feed: trace counts and upsert', () => {
  it('bumps eventCount and errorCount of the event trace only', () => {
    const s = run([
      start(trace('tr-a', { eventCount: 10, errorCount: 1 })),
      start(trace('tr-b', { startTime: T0 + 5 })),
      batch([ev(1), ev(2, { level: 'error' }), ev(3, { level: 'warn' }), ev(4, { traceId: 'tr-b', level: 'error' })]),
    ]);
    const a = s.traces.find((t) => t.id === 'tr-a')!;
    const b = s.traces.find((t) => t.id === 'tr-b')!;
    expect([a.eventCount, a.errorCount]).toEqual([13, 2]);
    expect([b.eventCount, b.errorCount]).toEqual([1, 1]);
  });

  it('counts agents live from agent.created, never below the server count', () => {
    let s = run([
      start(trace('tr-a', { agentCount: 0 })),
      batch([ev(1, { eventType: 'agent.created' }), ev(2, { eventType: 'agent.created', agentId: 'tester-1' }), ev(3)]),
    ]);
    expect(s.traces[0]!.agentCount).toBe(2);
    s = reduceFeed(s, { kind: 'traces', traces: [trace('tr-a', { agentCount: 1 })] }); // an older REST snapshot
    expect(s.traces[0]!.agentCount).toBe(2);
    s = reduceFeed(s, { kind: 'traces', traces: [trace('tr-a', { agentCount: 5 })] });
    expect(s.traces[0]!.agentCount).toBe(5);
  });

  it('does not invent a row for events of an unknown trace', () => {
    const s = run([batch([ev(1, { traceId: 'ghost' })])]);
    expect(s.traces).toEqual([]);
    expect(s.feed).toHaveLength(1);
  });

  it('trace_start inserts, newest start first', () => {
    const s = run([start(trace('old', { startTime: T0 })), start(trace('new', { startTime: T0 + 1e6 }))]);
    expect(s.traces.map((t) => t.id)).toEqual(['new', 'old']);
  });

  it('trace_end replaces the summary in place, without duplicating it', () => {
    const s = run([
      start(trace('tr-a')),
      start(trace('tr-b', { startTime: T0 - 1e6 })),
      end(trace('tr-a', { status: 'completed', endTime: T0 + 2e6, durationUs: 2e6, eventCount: 50 })),
    ]);
    expect(s.traces.map((t) => t.id)).toEqual(['tr-a', 'tr-b']);
    expect(s.traces[0]).toMatchObject({ status: 'completed', durationUs: 2e6, eventCount: 50 });
  });

  it('a summary with lower counts than we counted live keeps ours', () => {
    const s = run([
      start(trace('tr-a')),
      batch([ev(1), ev(2, { level: 'error' })]),
      end(trace('tr-a', { status: 'error', eventCount: 1, errorCount: 0 })),
    ]);
    expect(s.traces[0]).toMatchObject({ status: 'error', eventCount: 2, errorCount: 1 });
  });
});

describe('feed: REST trace page merge', () => {
  it('takes server fields, keeps the larger counts', () => {
    const local = [trace('a', { eventCount: 20, status: 'active' })];
    const page = [trace('a', { eventCount: 15, status: 'completed', durationUs: 9 })];
    expect(mergeTracePage(local, page)).toEqual([{ ...page[0], eventCount: 20 }]);
  });

  it('drops local traces the server no longer lists, keeps ones newer than the page', () => {
    const local = [
      trace('gone', { startTime: T0 + 1 }),
      trace('brand-new', { startTime: T0 + 10e6 }),
    ];
    const page = [trace('x', { startTime: T0 + 5e6 }), trace('y', { startTime: T0 })];
    expect(mergeTracePage(local, page).map((t) => t.id)).toEqual(['brand-new', 'x', 'y']);
  });

  it('is reached through the traces action', () => {
    const s = run([{ kind: 'traces', traces: [trace('b', { startTime: T0 }), trace('c', { startTime: T0 + 1 })] }]);
    expect(s.traces.map((t) => t.id)).toEqual(['c', 'b']);
  });
});

describe('feed: selection and history', () => {
  const mixed = batch([ev(1), ev(2, { traceId: 'tr-b' }), ev(3), ev(4, { traceId: 'tr-b' })]);

  it('filters the visible feed to the selected trace and back', () => {
    const s = run([mixed, { kind: 'select', traceId: 'tr-b' }]);
    expect(seqs(visibleFeed(s))).toEqual([4, 2]);
    const all = reduceFeed(s, { kind: 'select', traceId: null });
    expect(seqs(visibleFeed(all))).toEqual([4, 3, 2, 1]);
  });

  it('adds live events of the selected trace to its list', () => {
    const s = run([{ kind: 'select', traceId: 'tr-b' }, mixed, batch([ev(9, { traceId: 'tr-b' }), ev(10)])]);
    expect(seqs(visibleFeed(s))).toEqual([9, 4, 2]);
  });

  it('merges loaded history under live events without duplicates', () => {
    const s = run([
      { kind: 'select', traceId: 'tr-a' },
      batch([ev(50), ev(51)]),
      // REST answers oldest first and overlaps the live events.
      { kind: 'history', traceId: 'tr-a', events: [ev(10), ev(20), ev(50)] },
    ]);
    expect(seqs(visibleFeed(s))).toEqual([51, 50, 20, 10]);
    expect(s.totalEvents).toBe(2); // history is not "received" live
  });

  it('ignores history of a trace that is no longer selected', () => {
    const s0 = run([{ kind: 'select', traceId: 'tr-b' }]);
    expect(reduceFeed(s0, { kind: 'history', traceId: 'tr-a', events: [ev(1)] })).toBe(s0);
  });

  it('keeps the selected trace visible when another trace floods the global feed', () => {
    const flood = Array.from({ length: FEED_MAX }, (_, i) => ev(100 + i, { traceId: 'noisy' }));
    const s = run([{ kind: 'select', traceId: 'tr-a' }, batch([ev(1)]), batch(flood)]);
    expect(s.feed.some((e) => e.traceId === 'tr-a')).toBe(false);
    expect(seqs(visibleFeed(s))).toEqual([1]);
  });
});

describe('feed: rate series', () => {
  const NOW_MS = T0 / 1000 + 59_500; // half-way into the 60th second after T0

  it('returns one bucket per second, oldest first, ending at now', () => {
    const s = run([
      batch([
        ev(1, { timestamp: T0 }), // first second of the window
        ev(2, { timestamp: T0 + 59e6 }), // the current second
        ev(3, { timestamp: T0 + 59e6 + 999_999 }),
        ev(4, { timestamp: T0 + 30e6 + 1 }),
      ]),
    ]);
    const r = rateSeries(s, NOW_MS);
    expect(r).toHaveLength(60);
    expect(r[0]).toBe(1);
    expect(r[30]).toBe(1);
    expect(r[59]).toBe(2);
    expect(r.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('leaves out events older than the window and counts duplicates once', () => {
    const s = run([
      batch([ev(1, { timestamp: T0 - 1e6 }), ev(2, { timestamp: T0 + 10e6 })]),
      batch([ev(2, { timestamp: T0 + 10e6 })]),
    ]);
    const r = rateSeries(s, NOW_MS);
    expect(r.reduce((a, b) => a + b, 0)).toBe(1);
    expect(r[10]).toBe(1);
  });

  it('supports other window sizes and an empty state', () => {
    expect(rateSeries(initialFeedState(), NOW_MS, 10)).toEqual(Array(10).fill(0));
  });

  it(`prunes buckets older than ${RATE_KEEP_S}s before the newest`, () => {
    const s = run([
      batch([ev(1, { timestamp: T0 })]),
      batch([ev(2, { timestamp: T0 + (RATE_KEEP_S + 5) * 1e6 })]),
    ]);
    expect([...s.rate.keys()]).toEqual([T0 / 1e6 + RATE_KEEP_S + 5]);
  });
});

describe('mergeNewestFirst', () => {
  it('merges two descending lists, drops equal seqs, honours max', () => {
    const a = [ev(9), ev(5), ev(3)];
    const b = [ev(8), ev(5), ev(1)];
    expect(seqs(mergeNewestFirst(a, b, 10))).toEqual([9, 8, 5, 3, 1]);
    expect(seqs(mergeNewestFirst(a, b, 3))).toEqual([9, 8, 5]);
    expect(mergeNewestFirst([], [], 5)).toEqual([]);
  });
});
