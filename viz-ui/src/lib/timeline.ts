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
function collectSpans(cols: EventColumns, end: number): { rows: SpanRow[]; lane: number[]; isSpan: Uint8Array } {
  const rows: SpanRow[] = [];
  const laneOfRow: number[] = [];
  const isSpan = new Uint8Array(cols.count);
  const open = new Int32Array(cols.spanCount).fill(-1); // span -> row while open
  const depthOf = new Int16Array(cols.spanCount).fill(-1); // span -> depth
  const depthUnder = (parent: number) => {
    const d = parent >= 0 ? depthOf[parent]! : -1;
    return d < 0 ? 0 : Math.min(d + 1, MAX_DEPTH);
  };
  for (let i = 0; i < cols.count; i++) {
    const kind = cols.kind[i]!;
    const ts = cols.ts[i]!;
    const sid = cols.span[i]!;
    if (kind === KIND_SPAN_BEGIN) {
      const depth = depthUnder(cols.parent[i]!);
      if (sid >= 0) {
        open[sid] = rows.length;
        depthOf[sid] = depth;
      }
      rows.push({ start: ts, end, depth, event: i, level: cols.level[i]! });
      laneOfRow.push(cols.agent[i]!);
      isSpan[i] = 1;
    } else if (kind === KIND_SPAN_END) {
      const row = sid >= 0 ? open[sid]! : -1;
      if (row >= 0) {
        rows[row]!.end = ts;
        rows[row]!.level = Math.max(rows[row]!.level, cols.level[i]!);
        open[sid] = -1;
      }
      isSpan[i] = 1;
    } else if (kind === KIND_EVENT && cols.duration[i]! > 0) {
      rows.push({ start: ts - cols.duration[i]!, end: ts, depth: depthUnder(cols.parent[i]!), event: i, level: cols.level[i]! });
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
  const sent = new Int32Array(cols.msgCount).fill(-1);
  const recv = new Int32Array(cols.msgCount).fill(-1);
  for (let i = 0; i < cols.count; i++) {
    const id = cols.msg[i]!;
    if (id < 0) continue;
    const ty = cols.type[i];
    if (ty === sentType && sent[id]! < 0) sent[id] = i;
    else if (ty === recvType && recv[id]! < 0) recv[id] = i; // the first delivery
  }
  const pairs: [number, number][] = [];
  for (let id = 0; id < cols.msgCount; id++) {
    if (sent[id]! >= 0 && recv[id]! >= 0) pairs.push([sent[id]!, recv[id]!]);
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
      ts: new Float64Array(idx.length), level: new Uint8Array(idx.length), event: Int32Array.from(idx),
    };
    for (let k = 0; k < idx.length; k++) {
      markers.ts[k] = cols.ts[idx[k]!]!;
      markers.level[k] = cols.level[idx[k]!]!;
    }
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
 * The visible bars of a lane. Bars at least `minPx` wide are drawn one by
 * one. At each depth, narrower bars are merged with the rect before them
 * when less than `gapPx` separates them, into one rect that counts them:
 * a zoomed-out lane of 50 000 tiny spans becomes at most width / gapPx
 * rects per depth, drawn as the stretches where that agent was busy.
 */
export function visibleSpans(s: LaneSpans, v: View, width: number, minPx = 1, gapPx = 3): SpanRect[] {
  const out: SpanRect[] = [];
  const pending: (SpanRect | undefined)[] = []; // by depth: a merge in progress
  const first = lowerBound(s.maxEnd, v.start);
  for (let i = first; i < s.start.length && s.start[i]! <= v.end; i++) {
    if (s.end[i]! < v.start) continue;
    const x0 = Math.max(xOf(v, width, s.start[i]!), -1);
    const x1 = Math.min(xOf(v, width, s.end[i]!), width + 1);
    const depth = s.depth[i]!;
    const p = pending[depth];
    const small = x1 - x0 < minPx;
    if (p && small && x0 - p.x1 < gapPx) {
      if (x1 > p.x1) p.x1 = x1;
      p.count += 1;
      if (s.level[i]! > p.level) p.level = s.level[i]!;
      p.event = -1;
      continue;
    }
    if (p) {
      out.push(p);
      pending[depth] = undefined;
    }
    const rect = { x0, x1, depth, count: 1, level: s.level[i]!, event: s.event[i]! };
    if (small) pending[depth] = rect;
    else out.push(rect);
  }
  for (const p of pending) if (p) out.push(p);
  return out;
}

/**
 * Calls `fn` for every bar of a lane that overlaps the view, with its pixel
 * extent, without allocating: the renderer's per-frame path, which writes
 * narrow bars straight into pixels (draw.ts) and strokes only wide ones.
 */
export function forEachVisibleSpan(
  s: LaneSpans, v: View, width: number, fn: (i: number, x0: number, x1: number) => void,
): void {
  const first = lowerBound(s.maxEnd, v.start);
  for (let i = first; i < s.start.length && s.start[i]! <= v.end; i++) {
    if (s.end[i]! < v.start) continue;
    fn(i, Math.max(xOf(v, width, s.start[i]!), -1), Math.min(xOf(v, width, s.end[i]!), width + 1));
  }
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

/** Above this many visible messages, arrows are merged in wider columns. */
export const MAX_ARROW_LINES = 800;

/**
 * Messages visible in the view (either end on screen, or crossing it),
 * merged per (sender lane, receiver lane, column of the send) so a dense
 * stretch of traffic is a few arrows with counts. Columns are `bucketPx`
 * wide, or wider when more than `maxLines` messages are in view, so the
 * number of lines drawn stays bounded however far out one zooms.
 */
export function visibleArrows(a: Arrows, v: View, width: number, bucketPx: number, maxLines = MAX_ARROW_LINES): ArrowLine[] {
  const out: ArrowLine[] = [];
  const first = lowerBound(a.sent, v.start - a.maxLatency);
  const last = lowerBound(a.sent, v.end + 1e-9, first);
  const col = bucketPx * Math.max(1, (last - first) / maxLines);
  const lastOfPair = new Map<number, { bucket: number; line: ArrowLine }>();
  for (let i = first; i < last; i++) {
    if (a.received[i]! < v.start) continue;
    const x0 = xOf(v, width, a.sent[i]!);
    const x1 = xOf(v, width, a.received[i]!);
    const pair = a.fromLane[i]! * 65536 + a.toLane[i]!;
    const bucket = Math.floor(x0 / col);
    const prev = lastOfPair.get(pair); // sends are in time order: only the last column can match
    if (prev && prev.bucket === bucket) {
      prev.line.count += 1;
      if (x1 > prev.line.x1) prev.line.x1 = x1;
      prev.line.event = -1;
      continue;
    }
    const line = { fromLane: a.fromLane[i]!, toLane: a.toLane[i]!, x0, x1, count: 1, event: a.event[i]! };
    lastOfPair.set(pair, { bucket, line });
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
