// Timeline layout, independent of any drawing: one lane per agent, spans as
// bars nested by parentId (depth = 1 + the parent's depth), instant events
// as markers, and messages as arrows from the sender's lane to the
// receiver's, paired by msgId the way the collector's graph query pairs
// message.sent with message.received. Built once per trace into typed
// arrays sorted by time; the level-of-detail functions then reduce
// whatever is visible to at most a few elements per pixel column, so the
// canvas draws the same amount for 1 000 events as for 100 000.
import { KIND_EVENT, KIND_SPAN_BEGIN, KIND_SPAN_END, type EventColumns } from './bulk';
import type { View } from './timelineView';
import { xOf } from './timelineView';

/** Bars of one lane, sorted by start. */
export interface LaneSpans {
  start: Float64Array;
  end: Float64Array;
  depth: Uint8Array;
  /** index of the event that opened (or is) the span, into the columns */
  event: Int32Array;
  level: Uint8Array;
  /** running maximum of end: a binary search finds the first bar still visible */
  maxEnd: Float64Array;
}

/** Instant events of one lane, sorted by time. */
export interface LaneMarkers {
  ts: Float64Array;
  level: Uint8Array;
  event: Int32Array;
}

export interface Lane {
  agent: string;
  /** position of the lane, top to bottom */
  index: number;
  /** deepest nesting level of its bars, 0 when it has only top-level ones */
  maxDepth: number;
  spans: LaneSpans;
  markers: LaneMarkers;
}

/** Messages, sorted by send time. */
export interface Arrows {
  fromLane: Int32Array;
  toLane: Int32Array;
  sent: Float64Array;
  received: Float64Array;
  /** index of the message.sent event */
  event: Int32Array;
  /** the largest received − sent, to find arrows that cross into a view */
  maxLatency: number;
}

export interface TimelineModel {
  start: number;
  end: number;
  lanes: Lane[];
  arrows: Arrows;
  /** events that are neither span ends nor paired into anything: all drawn */
  eventCount: number;
}

const MAX_DEPTH = 255;

/**
 * Lane order: the agents named in `order` first, in that order, then the
 * others in the order they first appear in the trace.
 */
export function laneOrder(cols: EventColumns, order: readonly string[] = []): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (name: string) => {
    if (!seen.has(name)) {
      seen.add(name);
      out.push(name);
    }
  };
  for (const a of order) if (cols.agents.includes(a)) add(a);
  for (let i = 0; i < cols.count; i++) add(cols.agents[cols.agent[i]!]!);
  return out;
}

interface SpanRow {
  start: number;
  end: number;
  depth: number;
  event: number;
  level: number;
}

/**
 * Spans from the events: a span_begin opens one (closed by the span_end
 * with the same spanId; still open at the trace's end if none came), and an
 * instant event with a duration is a span that ended at its timestamp. The
 * depth is one more than the enclosing span's (its parentId).
 */
function collectSpans(cols: EventColumns, end: number): { rows: SpanRow[]; lane: number[] } & { isSpan: Uint8Array } {
  const rows: SpanRow[] = [];
  const laneOfRow: number[] = [];
  const isSpan = new Uint8Array(cols.count);
  const open = new Map<string, number>(); // spanId -> row
  const depthOf = new Map<string, number>(); // spanId -> depth
  const depthUnder = (parent: string | null) => {
    const d = parent === null ? undefined : depthOf.get(parent);
    return d === undefined ? 0 : Math.min(d + 1, MAX_DEPTH);
  };
  for (let i = 0; i < cols.count; i++) {
    const kind = cols.kind[i]!;
    const ts = cols.ts[i]!;
    if (kind === KIND_SPAN_BEGIN) {
      const depth = depthUnder(cols.parentId[i]!);
      const sid = cols.spanId[i];
      if (sid) {
        open.set(sid, rows.length);
        depthOf.set(sid, depth);
      }
      rows.push({ start: ts, end: end, depth, event: i, level: cols.level[i]! });
      laneOfRow.push(cols.agent[i]!);
      isSpan[i] = 1;
    } else if (kind === KIND_SPAN_END) {
      const sid = cols.spanId[i];
      const row = sid ? open.get(sid) : undefined;
      if (row !== undefined) {
        rows[row]!.end = ts;
        rows[row]!.level = Math.max(rows[row]!.level, cols.level[i]!);
        open.delete(sid!);
      }
      isSpan[i] = 1;
    } else if (kind === KIND_EVENT && cols.duration[i]! > 0) {
      rows.push({
        start: ts - cols.duration[i]!, end: ts, depth: depthUnder(cols.parentId[i]!), event: i, level: cols.level[i]!,
      });
      laneOfRow.push(cols.agent[i]!);
      isSpan[i] = 1;
    }
  }
  return { rows, lane: laneOfRow, isSpan };
}

function packSpans(rows: SpanRow[]): LaneSpans {
  rows.sort((a, b) => a.start - b.start || a.depth - b.depth);
  const n = rows.length;
  const s: LaneSpans = {
    start: new Float64Array(n), end: new Float64Array(n), depth: new Uint8Array(n),
    event: new Int32Array(n), level: new Uint8Array(n), maxEnd: new Float64Array(n),
  };
  let maxEnd = -Infinity;
  rows.forEach((r, i) => {
    s.start[i] = r.start;
    s.end[i] = r.end;
    s.depth[i] = r.depth;
    s.event[i] = r.event;
    s.level[i] = r.level;
    maxEnd = Math.max(maxEnd, r.end);
    s.maxEnd[i] = maxEnd;
  });
  return s;
}

/** message.sent / message.received pairs with the same msgId. */
export function pairMessages(cols: EventColumns, laneOfAgent: Int32Array): Arrows {
  const sentType = cols.types.indexOf('message.sent');
  const recvType = cols.types.indexOf('message.received');
  const sent = new Map<string, number>();
  const recv = new Map<string, number>();
  for (let i = 0; i < cols.count; i++) {
    const id = cols.msgId[i];
    if (!id) continue;
    const ty = cols.type[i];
    if (ty === sentType && !sent.has(id)) sent.set(id, i);
    else if (ty === recvType && !recv.has(id)) recv.set(id, i); // the first delivery
  }
  const pairs: [number, number][] = [];
  for (const [id, s] of sent) {
    const r = recv.get(id);
    if (r !== undefined) pairs.push([s, r]);
  }
  pairs.sort((a, b) => cols.ts[a[0]]! - cols.ts[b[0]]!);
  const n = pairs.length;
  const a: Arrows = {
    fromLane: new Int32Array(n), toLane: new Int32Array(n), sent: new Float64Array(n),
    received: new Float64Array(n), event: new Int32Array(n), maxLatency: 0,
  };
  pairs.forEach(([s, r], k) => {
    a.fromLane[k] = laneOfAgent[cols.agent[s]!]!;
    a.toLane[k] = laneOfAgent[cols.agent[r]!]!;
    a.sent[k] = cols.ts[s]!;
    a.received[k] = cols.ts[r]!;
    a.event[k] = s;
    a.maxLatency = Math.max(a.maxLatency, cols.ts[r]! - cols.ts[s]!);
  });
  return a;
}

/** The whole layout of one trace. */
export function buildTimeline(cols: EventColumns, order: readonly string[] = []): TimelineModel {
  const names = laneOrder(cols, order);
  const laneOfAgent = new Int32Array(cols.agents.length).fill(-1);
  names.forEach((name, lane) => {
    laneOfAgent[cols.agents.indexOf(name)] = lane;
  });
  let start = Infinity;
  let end = -Infinity;
  for (let i = 0; i < cols.count; i++) {
    const t = cols.ts[i]!;
    const d = cols.duration[i]!;
    start = Math.min(start, d > 0 && cols.kind[i] === KIND_EVENT ? t - d : t);
    end = Math.max(end, t);
  }
  if (!(start <= end)) start = end = 0;

  const { rows, lane: rowLane, isSpan } = collectSpans(cols, end);
  const spanRows: SpanRow[][] = names.map(() => []);
  rows.forEach((r, k) => spanRows[laneOfAgent[rowLane[k]!]!]!.push(r));

  const markerIdx: number[][] = names.map(() => []);
  for (let i = 0; i < cols.count; i++) if (!isSpan[i]) markerIdx[laneOfAgent[cols.agent[i]!]!]!.push(i);

  const lanes: Lane[] = names.map((agent, index) => {
    const spans = packSpans(spanRows[index]!);
    let maxDepth = 0;
    for (const d of spans.depth) maxDepth = Math.max(maxDepth, d);
    const idx = markerIdx[index]!; // already in time order: the columns are
    const markers: LaneMarkers = {
      ts: Float64Array.from(idx, (i) => cols.ts[i]!),
      level: Uint8Array.from(idx, (i) => cols.level[i]!),
      event: Int32Array.from(idx),
    };
    return { agent, index, maxDepth, spans, markers };
  });
  return { start, end, lanes, arrows: pairMessages(cols, laneOfAgent), eventCount: cols.count };
}

/** First index i with a[i] >= x in an ascending array (a.length if none). */
export function lowerBound(a: Float64Array, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* ---- level of detail ---- */

/** Markers merged per pixel bucket: where, how many, the worst level. */
export interface MarkerBuckets {
  x: number[];
  count: number[];
  level: number[];
  /** the event of a bucket holding exactly one marker, else -1 */
  event: number[];
}

/**
 * The visible markers of a lane, merged into buckets `bucketPx` wide: a
 * bucket's count is the number of markers in it (so counts are never lost,
 * only combined) and its level the highest, so an error is never hidden
 * behind the info events around it.
 */
export function bucketMarkers(m: LaneMarkers, v: View, width: number, bucketPx: number): MarkerBuckets {
  const out: MarkerBuckets = { x: [], count: [], level: [], event: [] };
  const first = lowerBound(m.ts, v.start);
  let cur = -1;
  for (let i = first; i < m.ts.length && m.ts[i]! <= v.end; i++) {
    const b = Math.floor(xOf(v, width, m.ts[i]!) / bucketPx);
    const last = out.x.length - 1;
    if (b === cur && last >= 0) {
      out.count[last]! += 1;
      out.level[last] = Math.max(out.level[last]!, m.level[i]!);
      out.event[last] = -1;
    } else {
      cur = b;
      out.x.push((b + 0.5) * bucketPx);
      out.count.push(1);
      out.level.push(m.level[i]!);
      out.event.push(m.event[i]!);
    }
  }
  return out;
}

/** A bar to draw: pixels, nesting, how many spans it stands for. */
export interface SpanRect {
  x0: number;
  x1: number;
  depth: number;
  count: number;
  level: number;
  /** the span's event if the rect is one span, else -1 */
  event: number;
}

/**
 * The visible bars of a lane. Bars wide enough are drawn one by one; at each
 * depth, bars narrower than `minPx` that touch (gap under `minPx`) are
 * merged into one rect that counts them, so a zoomed-out lane of 50 000
 * tiny spans is a few hundred rects.
 */
export function visibleSpans(s: LaneSpans, v: View, width: number, minPx = 1): SpanRect[] {
  const out: SpanRect[] = [];
  const pending = new Map<number, SpanRect>(); // depth -> merge in progress
  const flush = (depth: number) => {
    const p = pending.get(depth);
    if (p) {
      out.push(p);
      pending.delete(depth);
    }
  };
  const first = lowerBound(s.maxEnd, v.start);
  for (let i = first; i < s.start.length && s.start[i]! <= v.end; i++) {
    if (s.end[i]! < v.start) continue;
    const x0 = Math.max(xOf(v, width, s.start[i]!), -1);
    const x1 = Math.min(xOf(v, width, s.end[i]!), width + 1);
    const depth = s.depth[i]!;
    const p = pending.get(depth);
    const small = x1 - x0 < minPx;
    if (p && small && x0 - p.x1 < minPx) {
      p.x1 = Math.max(p.x1, x1);
      p.count += 1;
      p.level = Math.max(p.level, s.level[i]!);
      p.event = -1;
      continue;
    }
    flush(depth);
    const rect = { x0, x1, depth, count: 1, level: s.level[i]!, event: s.event[i]! };
    if (small) pending.set(depth, rect);
    else out.push(rect);
  }
  for (const d of [...pending.keys()]) flush(d);
  return out;
}

/** An arrow to draw, possibly standing for several messages. */
export interface ArrowLine {
  fromLane: number;
  toLane: number;
  x0: number;
  x1: number;
  count: number;
  event: number;
}

/**
 * Messages visible in the view (either end on screen, or crossing it),
 * merged per (sender lane, receiver lane, `bucketPx` column of the send)
 * so a dense stretch of traffic is a few arrows with counts.
 */
export function visibleArrows(a: Arrows, v: View, width: number, bucketPx: number): ArrowLine[] {
  const out: ArrowLine[] = [];
  const key = new Map<string, ArrowLine>();
  const first = lowerBound(a.sent, v.start - a.maxLatency);
  for (let i = first; i < a.sent.length && a.sent[i]! <= v.end; i++) {
    if (a.received[i]! < v.start) continue;
    const x0 = xOf(v, width, a.sent[i]!);
    const x1 = xOf(v, width, a.received[i]!);
    const k = `${a.fromLane[i]}:${a.toLane[i]}:${Math.floor(x0 / bucketPx)}`;
    const prev = key.get(k);
    if (prev) {
      prev.count += 1;
      prev.x1 = Math.max(prev.x1, x1);
      prev.event = -1;
      continue;
    }
    const line = { fromLane: a.fromLane[i]!, toLane: a.toLane[i]!, x0, x1, count: 1, event: a.event[i]! };
    key.set(k, line);
    out.push(line);
  }
  return out;
}

/** Event counts per bucket across the whole trace, for the minimap. */
export function densityHistogram(cols: EventColumns, start: number, end: number, buckets: number): { count: Uint32Array; errors: Uint32Array } {
  const count = new Uint32Array(buckets);
  const errors = new Uint32Array(buckets);
  const span = Math.max(end - start, 1);
  for (let i = 0; i < cols.count; i++) {
    const b = Math.min(buckets - 1, Math.max(0, Math.floor(((cols.ts[i]! - start) / span) * buckets)));
    count[b]! += 1;
    if (cols.level[i]! >= 2) errors[b]! += 1;
  }
  return { count, errors };
}
