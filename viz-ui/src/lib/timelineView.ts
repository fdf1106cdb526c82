// The timeline's view transform: which time range is on screen, and the
// maths of zooming and panning it. Pure functions over plain numbers so the
// mouse, the keyboard (W/S zoom, A/D pan, as in Perfetto) and the minimap
// all move the view through the same tested code.
import type { Micros } from './types';

/** The visible time range, [start, end] in µs. */
export interface View {
  start: Micros;
  end: Micros;
}

/** The narrowest view: 10 µs across the whole canvas. */
export const MIN_SPAN_US = 10;

export const ZOOM_IN = 0.8;
export const ZOOM_OUT = 1 / ZOOM_IN;
export const PAN_STEP = 0.1;

export function spanOf(v: View): number {
  return v.end - v.start;
}

/** x in pixels of time t, for a canvas `width` pixels wide. */
export function xOf(v: View, width: number, t: Micros): number {
  return ((t - v.start) / spanOf(v)) * width;
}

/** The time under pixel x. */
export function tOf(v: View, width: number, x: number): Micros {
  return v.start + (x / width) * spanOf(v);
}

/**
 * Keeps a view inside the trace's bounds and at least MIN_SPAN_US wide. A
 * view wider than the bounds becomes the bounds; one that sticks out on a
 * side slides back in, keeping its width.
 */
export function clampView(v: View, bounds: View): View {
  const full = spanOf(bounds);
  let span = Math.max(Math.min(spanOf(v), full), Math.min(MIN_SPAN_US, full));
  if (!(span > 0)) span = Math.max(full, 1);
  let start = v.start;
  if (start < bounds.start) start = bounds.start;
  if (start + span > bounds.end) start = bounds.end - span;
  if (start < bounds.start) start = bounds.start;
  return { start, end: start + span };
}

/**
 * Zooms by `factor` (< 1 in, > 1 out) around time `anchor`, which stays at
 * the same pixel: the point under the mouse, or the cursor, does not move.
 */
export function zoom(v: View, factor: number, anchor: Micros, bounds: View): View {
  const span = spanOf(v);
  const frac = span > 0 ? (anchor - v.start) / span : 0.5;
  const next = Math.max(span * factor, MIN_SPAN_US);
  const start = anchor - frac * next;
  return clampView({ start, end: start + next }, bounds);
}

/** Pans by a fraction of the visible width (negative: towards the past). */
export function pan(v: View, fraction: number, bounds: View): View {
  const d = spanOf(v) * fraction;
  return clampView({ start: v.start + d, end: v.end + d }, bounds);
}

/** Pans by a pixel distance, as a mouse drag does (drag right: earlier). */
export function panPixels(v: View, dx: number, width: number, bounds: View): View {
  return pan(v, -dx / width, bounds);
}

/** A view of the same width centred on t (the minimap's click). */
export function centerOn(v: View, t: Micros, bounds: View): View {
  const half = spanOf(v) / 2;
  return clampView({ start: t - half, end: t + half }, bounds);
}

/** What a key does to the view, or null if the key is not ours. */
export function viewForKey(key: string, v: View, anchor: Micros, bounds: View): View | null {
  switch (key.toLowerCase()) {
    case 'w': return zoom(v, ZOOM_IN, anchor, bounds);
    case 's': return zoom(v, ZOOM_OUT, anchor, bounds);
    case 'a': case 'arrowleft': return pan(v, -PAN_STEP, bounds);
    case 'd': case 'arrowright': return pan(v, PAN_STEP, bounds);
    default: return null;
  }
}

/** "Nice" tick step (1, 2, 5 × 10^k µs) giving about `count` ticks. */
export function tickStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

/** Tick times in [v.start, v.end], on multiples of the step. */
export function ticks(v: View, count: number): Micros[] {
  const step = tickStep(spanOf(v), count);
  const out: Micros[] = [];
  for (let t = Math.ceil(v.start / step) * step; t <= v.end; t += step) out.push(t);
  return out;
}

/** A relative time label: "+1.250 s", "+12.5 ms", "+850 µs". */
export function formatOffset(us: number): string {
  const a = Math.abs(us);
  const sign = us < 0 ? '−' : '+';
  if (a >= 1e6) return `${sign}${(a / 1e6).toFixed(a >= 1e7 ? 1 : 3)} s`;
  if (a >= 1e3) return `${sign}${(a / 1e3).toFixed(a >= 1e5 ? 0 : 1)} ms`;
  return `${sign}${Math.round(a)} µs`;
}
