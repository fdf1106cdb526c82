// Live mode between the WebSocket and the views: while paused, stream
// messages are held back (the socket stays open, so nothing is missed) and
// on resume they are delivered in order. If a pause lasts so long that the
// buffer would grow past LIVE_BUFFER_MAX events, the buffer is dropped and
// resume asks for a resync from the last seq delivered: the caller reopens
// the stream with ?since=, and the collector replays the gap from SQLite.
// Duplicates from replay are dropped by seq downstream (feed.ts, graph.ts).
import type { StreamMessage, TraceEvent } from './types';

export const LIVE_BUFFER_MAX = 20_000;

export interface LiveState {
  paused: boolean;
  buffer: readonly StreamMessage[];
  bufferedEvents: number;
  /** The buffer overflowed: resume must resync from deliveredSeq. */
  overflow: boolean;
  /** Largest seq handed to the views. */
  deliveredSeq: number | null;
}

export interface LiveStep {
  state: LiveState;
  /** Messages to apply now, in order. */
  deliver: StreamMessage[];
  /** Reopen the stream with ?since= this seq (null: no resync needed). */
  resyncSince: number | null;
}

export function initialLive(): LiveState {
  return { paused: false, buffer: [], bufferedEvents: 0, overflow: false, deliveredSeq: null };
}

const eventCount = (m: StreamMessage) => (m.type === 'trace_event' ? (m.payload?.events?.length ?? 0) : 0);

function delivered(seq: number | null, msgs: readonly StreamMessage[]): number | null {
  for (const m of msgs) {
    if (m.type !== 'trace_event') continue;
    const s = m.payload?.sequenceNumber;
    if (typeof s === 'number' && (seq === null || s > seq)) seq = s;
  }
  return seq;
}

/** A message arrived from the stream. */
export function liveReceive(s: LiveState, msg: StreamMessage): LiveStep {
  // Connection-level messages are not "updates" to the views: never held.
  if (!s.paused || msg.type === 'heartbeat' || msg.type === 'error') {
    return { state: { ...s, deliveredSeq: delivered(s.deliveredSeq, [msg]) }, deliver: [msg], resyncSince: null };
  }
  if (s.overflow) return { state: s, deliver: [], resyncSince: null };
  const n = s.bufferedEvents + eventCount(msg);
  if (n > LIVE_BUFFER_MAX) {
    // Memory stays bounded; the database has everything we drop here.
    return { state: { ...s, buffer: [], bufferedEvents: 0, overflow: true }, deliver: [], resyncSince: null };
  }
  return { state: { ...s, buffer: [...s.buffer, msg], bufferedEvents: n }, deliver: [], resyncSince: null };
}

export function livePause(s: LiveState): LiveState {
  return s.paused ? s : { ...s, paused: true };
}

/** Resume: deliver what was held, or ask for a resync if too much was. */
export function liveResume(s: LiveState): LiveStep {
  if (!s.paused) return { state: s, deliver: [], resyncSince: null };
  const state: LiveState = { ...s, paused: false, buffer: [], bufferedEvents: 0, overflow: false };
  if (s.overflow) return { state, deliver: [], resyncSince: s.deliveredSeq ?? 0 };
  const deliver = [...s.buffer];
  return { state: { ...state, deliveredSeq: delivered(s.deliveredSeq, deliver) }, deliver, resyncSince: null };
}

/**
 * Seqs missing between the smallest and largest of `events` (a gap check
 * for catch-up: after replay the list must have none). Seqs are global
 * across traces, so this is meaningful on an unfiltered stream only.
 */
export function seqGaps(events: readonly Pick<TraceEvent, 'seq'>[]): number[] {
  const seqs = [...new Set(events.map((e) => e.seq))].sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let i = 1; i < seqs.length; i++) for (let s = seqs[i - 1]! + 1; s < seqs[i]!; s++) gaps.push(s);
  return gaps;
}
