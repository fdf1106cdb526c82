// Timeline layout and level of detail: lanes, span nesting, marker buckets
// that keep counts, message pairing, and the view transform's maths.
import { describe, expect, it } from 'vitest';
import { KIND_SPAN_BEGIN, KIND_SPAN_END, columnsFromRows } from './bulk';
import { bucketMarkers, buildTimeline, densityHistogram, laneOrder, visibleArrows, visibleSpans } from './timeline';
import {
  MIN_SPAN_US, ZOOM_IN, centerOn, clampView, formatOffset, pan, panPixels, tOf, tickStep, ticks, viewForKey, xOf, zoom,
} from './timelineView';

const T0 = 1_764_280_000_000_000;

/** A small swarm: a task span with an LLM span and a tool call inside, a message each way. */
function sample() {
  return columnsFromRows('tr', [
    { ts: T0, agent: 'coder-1', type: 'agent.started' },
    { ts: T0 + 5, agent: 'coordinator', type: 'message.sent', msgId: 'm-1' },
    { ts: T0 + 10, agent: 'coder-1', type: 'message.received', msgId: 'm-1' },
    { ts: T0 + 20, agent: 'coder-1', type: 'task.started', kind: KIND_SPAN_BEGIN, spanId: 'a' },
    { ts: T0 + 30, agent: 'coder-1', type: 'custom.llm_call', kind: KIND_SPAN_BEGIN, spanId: 'b', parentId: 'a' },
    { ts: T0 + 40, agent: 'coder-1', type: 'custom.thinking', parentId: 'b', level: 3 },
    { ts: T0 + 50, agent: 'coder-1', type: 'custom.llm_call', kind: KIND_SPAN_END, spanId: 'b', duration: 20 },
    { ts: T0 + 70, agent: 'coder-1', type: 'custom.tool_call', parentId: 'a', duration: 15 },
    { ts: T0 + 80, agent: 'coder-1', type: 'task.completed', kind: KIND_SPAN_END, spanId: 'a', duration: 60, level: 2 },
    { ts: T0 + 90, agent: 'coder-1', type: 'message.sent', msgId: 'm-2' },
    { ts: T0 + 95, agent: 'tester-1', type: 'message.sent', msgId: 'm-lost' },
    { ts: T0 + 100, agent: 'coordinator', type: 'message.received', msgId: 'm-2' },
  ]);
}

describe('buildTimeline', () => {
  it('gives each agent a lane, named agents first, then by first appearance', () => {
    const cols = sample();
    expect(laneOrder(cols)).toEqual(['coder-1', 'coordinator', 'tester-1']);
    const m = buildTimeline(cols, ['coordinator']);
    expect(m.lanes.map((l) => l.agent)).toEqual(['coordinator', 'coder-1', 'tester-1']);
    expect(m.lanes.map((l) => l.index)).toEqual([0, 1, 2]);
    expect(m.start).toBe(T0);
    expect(m.end).toBe(T0 + 100);
  });

  it('nests spans by parentId and keeps instant events as markers', () => {
    const lane = buildTimeline(sample()).lanes[0]!;
    const s = lane.spans;
    // task [20,80] depth 0; llm [30,50] depth 1; tool call [55,70] depth 1
    expect(Array.from(s.start, (x) => x - T0)).toEqual([20, 30, 55]);
    expect(Array.from(s.end, (x) => x - T0)).toEqual([80, 50, 70]);
    expect(Array.from(s.depth)).toEqual([0, 1, 1]);
    expect(Array.from(s.level)).toEqual([1, 1, 1].map((l, i) => (i === 0 ? 2 : l))); // the end's warn lifts the task
    expect(lane.maxDepth).toBe(1);
    // markers: agent.started, message.received, custom.thinking, message.sent
    expect(Array.from(lane.markers.ts, (x) => x - T0)).toEqual([0, 10, 40, 90]);
    expect(Array.from(lane.markers.level)).toEqual([1, 1, 3, 1]);
  });

  it('keeps a span with no end open until the trace ends', () => {
    const cols = columnsFromRows('tr', [
      { ts: T0, agent: 'a', type: 'task.started', kind: KIND_SPAN_BEGIN, spanId: 'x' },
      { ts: T0 + 500, agent: 'a', type: 'custom.x' },
    ]);
    const s = buildTimeline(cols).lanes[0]!.spans;
    expect(s.end[0]).toBe(T0 + 500);
  });

  it('pairs message.sent with message.received by msgId, lane to lane', () => {
    const m = buildTimeline(sample(), ['coordinator']);
    const a = m.arrows;
    expect(a.sent.length).toBe(2); // m-lost was never received
    expect([a.fromLane[0], a.toLane[0], a.sent[0]! - T0, a.received[0]! - T0]).toEqual([0, 1, 5, 10]);
    expect([a.fromLane[1], a.toLane[1], a.sent[1]! - T0, a.received[1]! - T0]).toEqual([1, 0, 90, 100]);
    expect(a.maxLatency).toBe(10);
  });
});

/** n markers spread over [T0, T0 + span), on one lane, every 7th an error. */
function dense(n: number, span: number) {
  const rows = Array.from({ length: n }, (_, i) => ({
    ts: T0 + Math.floor((i * span) / n), agent: 'a', type: 'custom.x', level: i % 7 === 0 ? 3 : 1,
  }));
  return buildTimeline(columnsFromRows('tr', rows));
}

describe('level of detail', () => {
  it('marker buckets keep every count and the worst level', () => {
    const m = dense(20_000, 10_000_000);
    const lane = m.lanes[0]!;
    const view = { start: T0, end: T0 + 10_000_000 };
    const b = bucketMarkers(lane.markers, view, 1000, 2);
    expect(b.x.length).toBeLessThanOrEqual(500);
    expect(b.count.reduce((s, c) => s + c, 0)).toBe(20_000);
    expect(Math.max(...b.level)).toBe(3);
    expect(b.event.every((e, i) => (b.count[i] === 1) === (e >= 0))).toBe(true);
    // a narrower view counts exactly the markers inside it
    const half = { start: T0, end: T0 + 5_000_000 - 1 };
    const inside = Array.from(lane.markers.ts).filter((t) => t >= half.start && t <= half.end).length;
    expect(bucketMarkers(lane.markers, half, 1000, 2).count.reduce((s, c) => s + c, 0)).toBe(inside);
  });

  it('tiny spans merge into counted rects; wide ones stay single', () => {
    const rows = [];
    for (let i = 0; i < 10_000; i++) {
      rows.push({ ts: T0 + i * 100, agent: 'a', type: 'custom.tool', duration: 50 });
    }
    const lane = buildTimeline(columnsFromRows('tr', rows)).lanes[0]!;
    const all = { start: T0 - 50, end: T0 + 1_000_000 };
    const far = visibleSpans(lane.spans, all, 800, 1);
    expect(far.length).toBeLessThan(50);
    expect(far.reduce((s, r) => s + r.count, 0)).toBe(10_000);
    const near = visibleSpans(lane.spans, { start: T0, end: T0 + 1000 }, 800, 1);
    expect(near.every((r) => r.count === 1 && r.event >= 0)).toBe(true);
    // spans ending at T0+0..T0+1000 overlap the view: 11 of them
    expect(near.length).toBe(11);
  });

  it('finds a long span that started before the view', () => {
    const cols = columnsFromRows('tr', [
      { ts: T0, agent: 'a', type: 'task.started', kind: KIND_SPAN_BEGIN, spanId: 'x' },
      { ts: T0 + 10, agent: 'a', type: 'custom.tool', duration: 5 },
      { ts: T0 + 1000, agent: 'a', type: 'task.completed', kind: KIND_SPAN_END, spanId: 'x' },
    ]);
    const lane = buildTimeline(cols).lanes[0]!;
    const r = visibleSpans(lane.spans, { start: T0 + 500, end: T0 + 600 }, 100, 1);
    expect(r).toHaveLength(1);
    expect(r[0]!.x0).toBe(-1);
    expect(r[0]!.x1).toBe(101);
  });

  it('arrows merge per lane pair and pixel column, and cross-view arrows show', () => {
    const rows = [];
    for (let i = 0; i < 1000; i++) {
      rows.push({ ts: T0 + i * 10, agent: 'a', type: 'message.sent', msgId: `m${i}` });
      rows.push({ ts: T0 + i * 10 + 5, agent: 'b', type: 'message.received', msgId: `m${i}` });
    }
    const m = buildTimeline(columnsFromRows('tr', rows));
    const lines = visibleArrows(m.arrows, { start: T0, end: T0 + 10_000 }, 100, 4);
    expect(lines.reduce((s, l) => s + l.count, 0)).toBe(1000);
    expect(lines.length).toBeLessThanOrEqual(26);
    // too many for the width: wider columns, still every message counted
    const capped = visibleArrows(m.arrows, { start: T0, end: T0 + 10_000 }, 100, 4, 10);
    expect(capped.length).toBeLessThanOrEqual(11);
    expect(capped.reduce((s, l) => s + l.count, 0)).toBe(1000);
    // a view between a send and its receipt still shows the arrow
    const between = visibleArrows(m.arrows, { start: T0 + 2, end: T0 + 3 }, 100, 4);
    expect(between).toHaveLength(1);
    expect(between[0]!.x0).toBeLessThan(0);
    expect(between[0]!.x1).toBeGreaterThan(100);
  });

  it('the minimap histogram counts every event', () => {
    const cols = sample();
    const h = densityHistogram(cols, T0, T0 + 100, 10);
    expect(h.count.reduce((s, c) => s + c, 0)).toBe(cols.count);
    expect(h.errors.reduce((s, c) => s + c, 0)).toBe(2);
  });
});

describe('view transform', () => {
  const bounds = { start: 0, end: 1_000_000 };
  it('maps time to pixels and back', () => {
    const v = { start: 1000, end: 2000 };
    expect(xOf(v, 500, 1500)).toBe(250);
    expect(tOf(v, 500, 250)).toBe(1500);
  });
  it('zooms around the anchor, which stays at its pixel', () => {
    const v = { start: 100_000, end: 200_000 };
    const z = zoom(v, ZOOM_IN, 125_000, bounds);
    expect(z.end - z.start).toBeCloseTo(80_000);
    expect(xOf(z, 1000, 125_000)).toBeCloseTo(xOf(v, 1000, 125_000));
    const out = zoom(v, 100, 150_000, bounds);
    expect(out).toEqual(bounds);
    const tiny = zoom({ start: 500, end: 520 }, 0.01, 510, bounds);
    expect(tiny.end - tiny.start).toBe(MIN_SPAN_US);
  });
  it('pans by a fraction or by pixels, clamped to the trace', () => {
    const v = { start: 100_000, end: 200_000 };
    expect(pan(v, 0.1, bounds)).toEqual({ start: 110_000, end: 210_000 });
    expect(pan(v, -5, bounds)).toEqual({ start: 0, end: 100_000 });
    expect(pan({ start: 950_000, end: 990_000 }, 1, bounds)).toEqual({ start: 960_000, end: 1_000_000 });
    expect(panPixels(v, 100, 1000, bounds)).toEqual({ start: 90_000, end: 190_000 });
  });
  it('W/S zoom, A/D pan, other keys are not ours', () => {
    const v = { start: 100_000, end: 200_000 };
    expect(viewForKey('w', v, 150_000, bounds)).toEqual({ start: 110_000, end: 190_000 });
    expect(viewForKey('S', v, 150_000, bounds)).toEqual({ start: 87_500, end: 212_500 });
    expect(viewForKey('a', v, 0, bounds)).toEqual({ start: 90_000, end: 190_000 });
    expect(viewForKey('d', v, 0, bounds)).toEqual({ start: 110_000, end: 210_000 });
    expect(viewForKey('x', v, 0, bounds)).toBeNull();
  });
  it('centers, clamps and ticks', () => {
    expect(centerOn({ start: 0, end: 100 }, 500, bounds)).toEqual({ start: 450, end: 550 });
    expect(clampView({ start: -5, end: 2_000_000 }, bounds)).toEqual(bounds);
    expect(tickStep(1_000_000, 10)).toBe(100_000);
    expect(tickStep(7_000, 10)).toBe(1000);
    expect(ticks({ start: 150, end: 1000 }, 8)).toEqual([200, 400, 600, 800, 1000]);
    expect(formatOffset(1_250_000)).toBe('+1.250 s');
    expect(formatOffset(12_500)).toBe('+12.5 ms');
    expect(formatOffset(850)).toBe('+850 µs');
  });
});
