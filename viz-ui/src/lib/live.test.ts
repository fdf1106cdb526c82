// Tests of live mode: pause holds updates, resume delivers them in order,
// an overflowing pause resyncs with ?since=, and a reconnect's replay merged
// through the feed reducer leaves no duplicate and no gap.
import { describe, expect, it } from 'vitest';
import { LIVE_BUFFER_MAX, initialLive, livePause, liveReceive, liveResume, seqGaps, type LiveState } from './live';
import { initialFeedState, reduceFeed } from './feed';
import type { StreamMessage, TraceEvent } from './types';

const T0 = 1_764_280_000_000_000;
const ev = (seq: number): TraceEvent => ({
  id: String(seq), seq, traceId: 'tr', agentId: 'a', eventType: 'task.started', timestamp: T0 + seq,
  level: 'info', message: '', metadata: null, spanId: null, parentId: null, duration: null, count: 1, stackTrace: null,
});
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ev(from + i));
const batch = (events: TraceEvent[]): StreamMessage => ({
  type: 'trace_event', timestamp: T0, traceId: 'tr',
  payload: { events, batchId: 'b', sequenceNumber: Math.max(...events.map((e) => e.seq)) },
});
const heartbeat: StreamMessage = { type: 'heartbeat', timestamp: T0, payload: {} };

/** Feed `msgs` through live mode, returning the state and everything delivered. */
function drive(s: LiveState, msgs: StreamMessage[]) {
  const out: StreamMessage[] = [];
  for (const m of msgs) {
    const step = liveReceive(s, m);
    s = step.state;
    out.push(...step.deliver);
  }
  return { s, out };
}

describe('live mode', () => {
  it('passes messages straight through while following', () => {
    const { s, out } = drive(initialLive(), [batch(range(1, 3)), batch(range(4, 5))]);
    expect(out).toHaveLength(2);
    expect(s.deliveredSeq).toBe(5);
  });

  it('holds updates while paused and delivers them in order on resume', () => {
    const { s, out } = drive(livePause(initialLive()), [batch(range(1, 3)), heartbeat, batch(range(4, 6))]);
    expect(out).toEqual([heartbeat]); // connection messages are never held
    expect(s.bufferedEvents).toBe(6);
    const r = liveResume(s);
    expect(r.deliver.map((m) => (m.type === 'trace_event' ? m.payload.sequenceNumber : -1))).toEqual([3, 6]);
    expect(r.state).toMatchObject({ paused: false, buffer: [], deliveredSeq: 6 });
    expect(r.resyncSince).toBeNull();
    expect(liveResume(r.state).deliver).toEqual([]); // resume twice is harmless
  });

  it('drops the buffer past LIVE_BUFFER_MAX and resyncs from the last delivered seq', () => {
    let { s } = drive(initialLive(), [batch(range(1, 10))]);
    s = livePause(s);
    const big = range(11, 10 + LIVE_BUFFER_MAX);
    ({ s } = drive(s, [batch(big.slice(0, 100)), batch(big.slice(100)), batch([ev(LIVE_BUFFER_MAX + 11)])]));
    expect(s.overflow).toBe(true);
    expect(s.buffer).toEqual([]);
    const r = liveResume(s);
    expect(r.resyncSince).toBe(10);
    expect(r.deliver).toEqual([]);
  });

  it('a reconnect replay merged into the feed has no duplicate and no gap', () => {
    // live 1..50, the socket drops, events 51..80 are committed meanwhile;
    // the reconnect with ?since=45 (an older seq) replays 46..80, then live 81..90
    let feed = initialFeedState();
    for (const m of [batch(range(1, 25)), batch(range(26, 50)), batch(range(46, 80)), batch(range(70, 90))]) {
      feed = reduceFeed(feed, { kind: 'stream', msg: m });
    }
    const seqs = feed.feed.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toHaveLength(90);
    expect(seqGaps(feed.feed)).toEqual([]);
    expect(feed.totalEvents).toBe(90);
  });

  it('seqGaps names every missing seq', () => {
    expect(seqGaps([ev(1), ev(2), ev(5), ev(2), ev(7)])).toEqual([3, 4, 6]);
    expect(seqGaps([])).toEqual([]);
  });
});
