// Canvas drawing of the timeline and its minimap. Everything visual is
// decided here from the layout model (lib/timeline.ts) and a view; React
// only owns the canvases. Each frame asks the level-of-detail functions
// for what is visible, so the cost of a frame follows the pixels, not the
// number of events.
import type { EventColumns } from '../../lib/bulk';
import {
  bucketMarkers, visibleArrows, visibleSpans, type Lane, type SpanRect, type TimelineModel,
} from '../../lib/timeline';
import { formatOffset, ticks, xOf, type View } from '../../lib/timelineView';

export const GUTTER = 132; // lane labels
export const AXIS_H = 24;
export const MARKER_ROW = 12;
export const BAR_H = 13;
export const LANE_PAD = 6;

export const COLORS = {
  bg: '#0f1216',
  laneAlt: '#12161c',
  grid: '#1e242d',
  text: '#d6dde6',
  muted: '#8391a2',
  accent: '#58a6ff',
  compare: '#d2a8ff',
  selected: '#ffffff',
  arrow: 'rgba(173, 186, 255, 0.55)',
  levels: ['#6e7681', '#58a6ff', '#e3b341', '#ff6b6b'],
};

/** Bar colours by event-type family; unknown types by a stable hash. */
const SPAN_COLORS: [string, string][] = [
  ['task.', '#2f9e6e'],
  ['custom.llm', '#8b6fd6'],
  ['custom.tool', '#c7793a'],
  ['message.', '#3d7fbf'],
];
const PALETTE = ['#4f8a8b', '#8a6f4f', '#6f7f9a', '#9a6f8a', '#6f9a70'];

export function spanColor(type: string): string {
  for (const [prefix, color] of SPAN_COLORS) if (type.startsWith(prefix)) return color;
  let h = 0;
  for (let i = 0; i < type.length; i++) h = (h * 31 + type.charCodeAt(i)) | 0;
  return PALETTE[Math.abs(h) % PALETTE.length]!;
}

/** Vertical layout of the lanes: top y and height of each, in CSS pixels. */
export interface LaneGeometry {
  top: number[];
  height: number[];
  total: number;
}

export function laneGeometry(lanes: readonly Lane[]): LaneGeometry {
  const top: number[] = [];
  const height: number[] = [];
  let y = AXIS_H;
  for (const lane of lanes) {
    const h = LANE_PAD * 2 + MARKER_ROW + (lane.maxDepth + 1) * BAR_H;
    top.push(y);
    height.push(h);
    y += h;
  }
  return { top, height, total: y };
}

/** Where a marker's centre and a bar of depth d sit inside a lane. */
export const markerY = (laneTop: number) => laneTop + LANE_PAD + MARKER_ROW / 2;
export const barY = (laneTop: number, depth: number) => laneTop + LANE_PAD + MARKER_ROW + depth * BAR_H;

export interface FrameInput {
  ctx: CanvasRenderingContext2D;
  width: number; // CSS pixels, whole canvas
  height: number;
  model: TimelineModel;
  cols: EventColumns;
  geo: LaneGeometry;
  view: View;
  selectedAgent: string | null;
  selectedEvent: number | null; // index into cols
  cursor: number | null;
  compare: number | null;
}

/** What was drawn, for hit-testing clicks without recomputing. */
export interface FrameHits {
  spans: SpanRect[][];
}

export function drawFrame(f: FrameInput): FrameHits {
  const { ctx, width, height, model, cols, geo, view } = f;
  const plotW = Math.max(1, width - GUTTER);
  ctx.fillStyle = COLORS.bg;
  ctx.fillRect(0, 0, width, height);
  drawLaneBackgrounds(f, plotW);

  ctx.save();
  ctx.beginPath();
  ctx.rect(GUTTER, 0, plotW, height);
  ctx.clip();
  ctx.translate(GUTTER, 0);
  drawGrid(f, plotW);
  const hits: FrameHits = { spans: [] };
  model.lanes.forEach((lane, i) => {
    hits.spans.push(drawSpans(ctx, cols, lane, geo.top[i]!, view, plotW, f.selectedEvent));
    drawMarkers(ctx, lane, geo.top[i]!, view, plotW);
  });
  drawArrows(f, plotW);
  drawTimeLine(ctx, view, plotW, height, f.compare, COLORS.compare, true);
  drawTimeLine(ctx, view, plotW, height, f.cursor, COLORS.accent, false);
  ctx.restore();
  drawLabels(f);
  return hits;
}

function drawLaneBackgrounds(f: FrameInput, plotW: number) {
  const { ctx, model, geo } = f;
  model.lanes.forEach((lane, i) => {
    const sel = lane.agent === f.selectedAgent;
    ctx.fillStyle = sel ? '#1a2a3d' : i % 2 ? COLORS.laneAlt : COLORS.bg;
    ctx.fillRect(0, geo.top[i]!, GUTTER + plotW, geo.height[i]!);
  });
}

function drawGrid(f: FrameInput, plotW: number) {
  const { ctx, view, height, model } = f;
  const origin = model.start;
  ctx.font = '11px ui-monospace, Menlo, Consolas, monospace';
  ctx.textBaseline = 'middle';
  const rel = { start: view.start - origin, end: view.end - origin };
  for (const r of ticks(rel, Math.max(2, Math.floor(plotW / 110)))) {
    const x = Math.round(xOf(rel, plotW, r)) + 0.5;
    ctx.fillStyle = COLORS.grid;
    ctx.fillRect(x, AXIS_H, 1, height - AXIS_H);
    ctx.fillStyle = COLORS.muted;
    ctx.fillText(formatOffset(r), x + 4, AXIS_H / 2);
  }
  ctx.fillStyle = COLORS.grid;
  ctx.fillRect(0, AXIS_H - 1, plotW, 1);
}

function drawSpans(
  ctx: CanvasRenderingContext2D, cols: EventColumns, lane: Lane, top: number, view: View, plotW: number,
  selected: number | null,
): SpanRect[] {
  const rects = visibleSpans(lane.spans, view, plotW, 1);
  ctx.font = '10.5px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  for (const r of rects) {
    const y = barY(top, r.depth);
    const w = Math.max(1, r.x1 - r.x0);
    const type = r.event >= 0 ? cols.types[cols.type[r.event]!]! : '';
    ctx.fillStyle = r.count > 1 ? '#4a5566' : spanColor(type);
    ctx.fillRect(r.x0, y + 1, w, BAR_H - 2);
    if (r.level >= 2) { // a warn or error inside: a coloured underline
      ctx.fillStyle = COLORS.levels[r.level]!;
      ctx.fillRect(r.x0, y + BAR_H - 3, w, 2);
    }
    if (r.event >= 0 && r.event === selected) {
      ctx.strokeStyle = COLORS.selected;
      ctx.lineWidth = 1.5;
      ctx.strokeRect(r.x0 + 0.5, y + 1.5, w - 1, BAR_H - 3);
    }
    if (r.count === 1 && w > 40) {
      const label = cols.types[cols.type[r.event]!]!;
      ctx.fillStyle = '#f0f4f8';
      ctx.save();
      ctx.beginPath();
      ctx.rect(Math.max(r.x0, 0), y, Math.min(w, plotW), BAR_H);
      ctx.clip();
      ctx.fillText(label, Math.max(r.x0, 0) + 3, y + BAR_H / 2);
      ctx.restore();
    }
  }
  return rects;
}

function drawMarkers(ctx: CanvasRenderingContext2D, lane: Lane, top: number, view: View, plotW: number) {
  const b = bucketMarkers(lane.markers, view, plotW, 3);
  const y = markerY(top);
  // draw low levels first so errors end up on top
  for (let level = 0; level <= 3; level++) {
    ctx.fillStyle = COLORS.levels[level]!;
    for (let i = 0; i < b.x.length; i++) {
      if (b.level[i] !== level) continue;
      const h = b.count[i]! > 1 ? Math.min(MARKER_ROW, 5 + Math.log2(b.count[i]!) * 1.5) : 6;
      if (level >= 2) {
        ctx.beginPath(); // a diamond: warnings and errors stand out by shape too
        ctx.moveTo(b.x[i]!, y - 5);
        ctx.lineTo(b.x[i]! + 4, y);
        ctx.lineTo(b.x[i]!, y + 5);
        ctx.lineTo(b.x[i]! - 4, y);
        ctx.fill();
      } else {
        ctx.fillRect(b.x[i]! - 1, y - h / 2, 2, h);
      }
    }
  }
}

function drawArrows(f: FrameInput, plotW: number) {
  const { ctx, model, geo, view } = f;
  const lines = visibleArrows(model.arrows, view, plotW, 3);
  ctx.strokeStyle = COLORS.arrow;
  ctx.fillStyle = COLORS.arrow;
  for (const l of lines) {
    const y0 = markerY(geo.top[l.fromLane]!);
    const y1 = markerY(geo.top[l.toLane]!);
    ctx.lineWidth = l.count > 1 ? Math.min(3, 1 + Math.log2(l.count) / 2) : 1;
    ctx.beginPath();
    ctx.moveTo(l.x0, y0);
    ctx.lineTo(l.x1, y1);
    ctx.stroke();
    const a = Math.atan2(y1 - y0, l.x1 - l.x0);
    ctx.beginPath();
    ctx.moveTo(l.x1, y1);
    ctx.lineTo(l.x1 - 6 * Math.cos(a - 0.4), y1 - 6 * Math.sin(a - 0.4));
    ctx.lineTo(l.x1 - 6 * Math.cos(a + 0.4), y1 - 6 * Math.sin(a + 0.4));
    ctx.fill();
  }
}

function drawTimeLine(
  ctx: CanvasRenderingContext2D, view: View, plotW: number, height: number, t: number | null, color: string, dashed: boolean,
) {
  if (t === null || t < view.start || t > view.end) return;
  const x = Math.round(xOf(view, plotW, t)) + 0.5;
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.setLineDash(dashed ? [5, 4] : []);
  ctx.beginPath();
  ctx.moveTo(x, 0);
  ctx.lineTo(x, height);
  ctx.stroke();
  ctx.setLineDash([]);
}

function drawLabels(f: FrameInput) {
  const { ctx, model, geo } = f;
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = '#161b22';
  ctx.fillRect(0, 0, GUTTER, AXIS_H);
  model.lanes.forEach((lane, i) => {
    ctx.fillStyle = lane.agent === f.selectedAgent ? COLORS.selected : COLORS.text;
    const label = lane.agent.length > 17 ? `${lane.agent.slice(0, 16)}…` : lane.agent;
    ctx.fillText(label, 10, geo.top[i]! + LANE_PAD + MARKER_ROW / 2 + 2);
  });
  ctx.fillStyle = COLORS.grid;
  ctx.fillRect(GUTTER - 1, 0, 1, geo.total);
}

/* ---- minimap ---- */

export interface MinimapInput {
  ctx: CanvasRenderingContext2D;
  width: number;
  height: number;
  density: { count: Uint32Array; errors: Uint32Array };
  bounds: View;
  view: View;
  cursor: number | null;
}

export function drawMinimap(m: MinimapInput) {
  const { ctx, width, height, density, bounds, view } = m;
  ctx.fillStyle = '#12161c';
  ctx.fillRect(0, 0, width, height);
  const n = density.count.length;
  let peak = 1;
  for (const c of density.count) peak = Math.max(peak, c);
  const bw = width / n;
  for (let i = 0; i < n; i++) {
    // sqrt: quiet stretches stay visible next to bursts
    const h = Math.sqrt(density.count[i]! / peak) * (height - 4);
    ctx.fillStyle = '#3b5a7a';
    ctx.fillRect(i * bw, height - h, Math.max(1, bw - 0.5), h);
    if (density.errors[i]! > 0) {
      ctx.fillStyle = COLORS.levels[3]!;
      ctx.fillRect(i * bw, height - 3, Math.max(1, bw - 0.5), 3);
    }
  }
  const x0 = xOf(bounds, width, view.start);
  const x1 = xOf(bounds, width, view.end);
  ctx.fillStyle = 'rgba(88, 166, 255, 0.18)';
  ctx.fillRect(x0, 0, Math.max(2, x1 - x0), height);
  ctx.strokeStyle = COLORS.accent;
  ctx.lineWidth = 1;
  ctx.strokeRect(x0 + 0.5, 0.5, Math.max(2, x1 - x0) - 1, height - 1);
  if (m.cursor !== null) {
    ctx.fillStyle = COLORS.accent;
    ctx.fillRect(Math.round(xOf(bounds, width, m.cursor)), 0, 1.5, height);
  }
}
