// Canvas drawing of the timeline and its minimap. Everything visual is
// decided here from the layout model (lib/timeline.ts) and a view; React
// only owns the canvases. Each frame asks the level-of-detail functions
// for what is visible, so the cost of a frame follows the pixels, not the
// number of events.
import type { EventColumns } from '../../lib/bulk';
import {
  bucketMarkers, forEachVisibleSpan, visibleArrows, type Lane, type TimelineModel,
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
  selectedLane: '#1a2a3d',
  arrow: '#6f7bb0',
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
  dpr: number;
  model: TimelineModel;
  cols: EventColumns;
  geo: LaneGeometry;
  view: View;
  selectedAgent: string | null;
  selectedEvent: number | null; // index into cols
  cursor: number | null;
  compare: number | null;
  layer: PixelLayer;
}

/* ---- the pixel layer ----
 * Zoomed out, most bars and markers are narrower than a pixel and there are
 * tens of thousands of them: drawn one canvas call each, a frame costs far
 * more than 33 ms. So backgrounds, grid lines, narrow bars and ordinary
 * markers are written straight into an ImageData (a few array writes each)
 * and put on the canvas at once; only what is wide or rare (bars with room
 * for a label, warning and error diamonds, arrows, text, cursors) is drawn
 * with the canvas API on top. */

export interface PixelLayer {
  img: ImageData | null;
  u32: Uint32Array | null;
}

export const newPixelLayer = (): PixelLayer => ({ img: null, u32: null });

const packed = new Map<string, number>();
/** '#rrggbb' as the little-endian RGBA word ImageData stores. */
function rgba(color: string): number {
  let v = packed.get(color);
  if (v === undefined) {
    const n = parseInt(color.slice(1), 16);
    v = ((0xff << 24) | ((n & 0xff) << 16) | (n & 0xff00) | ((n >> 16) & 0xff)) >>> 0;
    packed.set(color, v);
  }
  return v;
}

class Pixels {
  constructor(readonly u32: Uint32Array, readonly w: number, readonly h: number, readonly dpr: number) {}
  /** Fills a rect given in CSS pixels; at least one device pixel wide. */
  rect(x0: number, y0: number, x1: number, y1: number, color: number) {
    const d = this.dpr;
    let a = Math.floor(x0 * d);
    let b = Math.max(a + 1, Math.ceil(x1 * d));
    const top = Math.max(0, Math.round(y0 * d));
    const bottom = Math.min(this.h, Math.round(y1 * d));
    if (a < 0) a = 0;
    if (b > this.w) b = this.w;
    if (a >= b) return;
    const u = this.u32;
    if (b - a > 16) { // wide: fill() pays off; narrow: a call costs more than the writes
      for (let y = top; y < bottom; y++) u.fill(color, y * this.w + a, y * this.w + b);
      return;
    }
    for (let y = top; y < bottom; y++) {
      const row = y * this.w;
      for (let x = a; x < b; x++) u[row + x] = color;
    }
  }
}

/** A 1-pixel line (Bresenham) between two points in CSS pixels, clipped to the layer. */
function line(px: Pixels, x0: number, y0: number, x1: number, y1: number, color: number) {
  const d = px.dpr;
  let ax = Math.round(x0 * d), ay = Math.round(y0 * d);
  const bx = Math.round(x1 * d), by = Math.round(y1 * d);
  const dx = Math.abs(bx - ax), dy = -Math.abs(by - ay);
  const sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1;
  let err = dx + dy;
  // a line may start or end far off screen: walk at most what can be visible
  for (let steps = 0; steps < px.w + px.h + 4 * (dx - dy); steps++) {
    if (ax >= 0 && ax < px.w && ay >= 0 && ay < px.h) px.u32[ay * px.w + ax] = color;
    else if ((sx > 0 && ax >= px.w) || (sx < 0 && ax < 0)) return;
    if (ax === bx && ay === by) return;
    const e2 = 2 * err;
    if (e2 >= dy) { err += dy; ax += sx; }
    if (e2 <= dx) { err += dx; ay += sy; }
  }
}

function pixelsFor(f: FrameInput, plotW: number): { px: Pixels; img: ImageData } {
  const w = Math.max(1, Math.round(plotW * f.dpr));
  const h = Math.max(1, Math.round(f.height * f.dpr));
  let img = f.layer.img;
  if (!img || img.width !== w || img.height !== h) {
    img = f.ctx.createImageData(w, h);
    f.layer.img = img;
    f.layer.u32 = new Uint32Array(img.data.buffer);
  }
  return { px: new Pixels(f.layer.u32!, w, h, f.dpr), img };
}

/** What was drawn, for hit-testing: nothing kept (hit tests recompute). */
export type FrameHits = null;

export function drawFrame(f: FrameInput): FrameHits {
  const { ctx, width, height, model, geo, view } = f;
  const plotW = Math.max(1, width - GUTTER);
  const { px, img } = pixelsFor(f, plotW);
  const tickTimes = gridTicks(f, plotW);
  paintBackground(f, px, plotW, tickTimes);
  const wide: WideBar[] = [];
  const diamonds: number[][] = [];
  model.lanes.forEach((lane, i) => {
    paintSpans(f, px, lane, geo.top[i]!, plotW, wide);
    diamonds.push(paintMarkers(px, lane, geo.top[i]!, view, plotW));
  });
  paintArrows(f, px, plotW);
  ctx.putImageData(img, Math.round(GUTTER * f.dpr), 0);

  ctx.fillStyle = '#161b22';
  ctx.fillRect(0, 0, GUTTER, height);
  ctx.save();
  ctx.beginPath();
  ctx.rect(GUTTER, 0, plotW, height);
  ctx.clip();
  ctx.translate(GUTTER, 0);
  drawAxisLabels(ctx, tickTimes, plotW);
  drawWideBars(f, wide, plotW);
  drawDiamonds(ctx, model.lanes.map((_, i) => geo.top[i]!), diamonds);
  drawTimeLine(ctx, view, plotW, height, f.compare, COLORS.compare, true);
  drawTimeLine(ctx, view, plotW, height, f.cursor, COLORS.accent, false);
  ctx.restore();
  drawLabels(f);
  return null;
}

/** Tick offsets from the trace start, and their x. */
function gridTicks(f: FrameInput, plotW: number): { x: number; label: string }[] {
  const origin = f.model.start;
  const rel = { start: f.view.start - origin, end: f.view.end - origin };
  return ticks(rel, Math.max(2, Math.floor(plotW / 110))).map((r) => ({ x: Math.round(xOf(rel, plotW, r)), label: formatOffset(r) }));
}

function paintBackground(f: FrameInput, px: Pixels, plotW: number, tickTimes: { x: number }[]) {
  const { model, geo } = f;
  px.rect(0, 0, plotW, f.height, rgba(COLORS.bg));
  model.lanes.forEach((lane, i) => {
    const color = lane.agent === f.selectedAgent ? COLORS.selectedLane : i % 2 ? COLORS.laneAlt : COLORS.bg;
    px.rect(0, geo.top[i]!, plotW, geo.top[i]! + geo.height[i]!, rgba(color));
  });
  const grid = rgba(COLORS.grid);
  for (const t of tickTimes) px.rect(t.x, AXIS_H, t.x + 1, f.height, grid);
  px.rect(0, AXIS_H - 1, plotW, AXIS_H, grid);
}

interface WideBar {
  event: number;
  x0: number;
  x1: number;
  y: number;
  level: number;
}

/** Bars narrower than this are pixels; wider ones are drawn, with a label when it fits. */
const WIDE_PX = 4;

function paintSpans(f: FrameInput, px: Pixels, lane: Lane, top: number, plotW: number, wide: WideBar[]) {
  const { cols, view } = f;
  const s = lane.spans;
  forEachVisibleSpan(s, view, plotW, (i, x0, x1) => {
    const ev = s.event[i]!;
    const y = barY(top, s.depth[i]!);
    const level = s.level[i]!;
    if (x1 - x0 >= WIDE_PX || ev === f.selectedEvent) {
      wide.push({ event: ev, x0, x1, y, level });
      return;
    }
    px.rect(x0, y + 1, x1, y + BAR_H - 1, rgba(spanColor(cols.types[cols.type[ev]!]!)));
    if (level >= 2) px.rect(x0, y + BAR_H - 3, x1, y + BAR_H - 1, rgba(COLORS.levels[level]!));
  });
}

/** Ordinary markers as pixels; returns the x of warning/error buckets, by level (x, level pairs). */
function paintMarkers(px: Pixels, lane: Lane, top: number, view: View, plotW: number): number[] {
  const b = bucketMarkers(lane.markers, view, plotW, 2);
  const y = markerY(top);
  const out: number[] = [];
  for (let i = 0; i < b.x.length; i++) {
    const level = b.level[i]!;
    if (level >= 2) {
      out.push(b.x[i]!, level);
      continue;
    }
    const h = b.count[i]! > 1 ? Math.min(MARKER_ROW, 5 + Math.log2(b.count[i]!) * 1.5) : 6;
    px.rect(b.x[i]! - 1, y - h / 2, b.x[i]! + 1, y + h / 2, rgba(COLORS.levels[level]!));
  }
  return out;
}

function drawAxisLabels(ctx: CanvasRenderingContext2D, tickTimes: { x: number; label: string }[], plotW: number) {
  ctx.font = '11px ui-monospace, Menlo, Consolas, monospace';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = COLORS.muted;
  for (const t of tickTimes) if (t.x < plotW - 20) ctx.fillText(t.label, t.x + 4, AXIS_H / 2);
}

function drawWideBars(f: FrameInput, wide: WideBar[], plotW: number) {
  const { ctx, cols } = f;
  const byColor = new Map<string, WideBar[]>();
  for (const b of wide) {
    const c = spanColor(cols.types[cols.type[b.event]!]!);
    const list = byColor.get(c);
    if (list) list.push(b);
    else byColor.set(c, [b]);
  }
  for (const [color, list] of byColor) {
    ctx.fillStyle = color;
    ctx.beginPath();
    for (const b of list) ctx.rect(b.x0, b.y + 1, Math.max(1, b.x1 - b.x0), BAR_H - 2);
    ctx.fill();
  }
  for (const b of wide) {
    if (b.level < 2) continue; // a warn or error inside: a coloured underline
    ctx.fillStyle = COLORS.levels[b.level]!;
    ctx.fillRect(b.x0, b.y + BAR_H - 3, Math.max(1, b.x1 - b.x0), 2);
  }
  const chosen = wide.find((b) => b.event === f.selectedEvent);
  if (chosen) {
    ctx.strokeStyle = COLORS.selected;
    ctx.lineWidth = 1.5;
    ctx.strokeRect(chosen.x0 + 0.5, chosen.y + 1.5, Math.max(2, chosen.x1 - chosen.x0) - 1, BAR_H - 3);
  }
  ctx.font = '10.5px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = '#f0f4f8';
  for (const b of wide) {
    const x = Math.max(b.x0, 0);
    const room = Math.min(b.x1, plotW) - x - 6;
    if (room < 24) continue;
    ctx.fillText(fitLabel(ctx, cols.types[cols.type[b.event]!]!, room), x + 3, b.y + BAR_H / 2);
  }
}

/** The label, cut with an ellipsis to fit `room` pixels. */
function fitLabel(ctx: CanvasRenderingContext2D, text: string, room: number): string {
  const full = ctx.measureText(text).width;
  if (full <= room) return text;
  let n = Math.max(1, Math.floor((text.length * room) / full));
  while (n > 1 && ctx.measureText(`${text.slice(0, n)}…`).width > room) n--;
  return `${text.slice(0, n)}…`;
}

/** Warnings and errors: diamonds, errors drawn last so they stay on top. */
function drawDiamonds(ctx: CanvasRenderingContext2D, tops: number[], perLane: number[][]) {
  for (const level of [2, 3]) {
    ctx.fillStyle = COLORS.levels[level]!;
    ctx.beginPath();
    perLane.forEach((list, lane) => {
      const y = markerY(tops[lane]!);
      for (let k = 0; k < list.length; k += 2) {
        if (list[k + 1] !== level) continue;
        const x = list[k]!;
        ctx.moveTo(x, y - 5);
        ctx.lineTo(x + 4, y);
        ctx.lineTo(x, y + 5);
        ctx.lineTo(x - 4, y);
        ctx.closePath();
      }
    });
    ctx.fill();
  }
}

/**
 * Messages as pixel lines from the sender's marker row to the receiver's,
 * with a small head; a merged arrow (several messages) is drawn doubled.
 * Anti-aliased canvas strokes cost more to rasterize than everything else
 * in a zoomed-out frame together, so these are plain pixels too.
 */
function paintArrows(f: FrameInput, px: Pixels, plotW: number) {
  const { model, geo, view } = f;
  const color = rgba(COLORS.arrow);
  for (const l of visibleArrows(model.arrows, view, plotW, 3)) {
    const y0 = markerY(geo.top[l.fromLane]!);
    const y1 = markerY(geo.top[l.toLane]!);
    line(px, l.x0, y0, l.x1, y1, color);
    if (arrowWidth(l.count) > 1) line(px, l.x0 + 1, y0, l.x1 + 1, y1, color);
    if (l.x1 < -8 || l.x1 > plotW + 8) continue;
    const a = Math.atan2(y1 - y0, l.x1 - l.x0);
    line(px, l.x1, y1, l.x1 - 6 * Math.cos(a - 0.45), y1 - 6 * Math.sin(a - 0.45), color);
    line(px, l.x1, y1, l.x1 - 6 * Math.cos(a + 0.45), y1 - 6 * Math.sin(a + 0.45), color);
  }
}

const arrowWidth = (count: number) => (count <= 1 ? 1 : count < 8 ? 2 : 3);

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
  model.lanes.forEach((lane, i) => {
    ctx.fillStyle = lane.agent === f.selectedAgent ? COLORS.selectedLane : i % 2 ? COLORS.laneAlt : COLORS.bg;
    ctx.fillRect(0, geo.top[i]!, GUTTER, geo.height[i]!);
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
