// Display formatting shared by the components. Pure and separate so the
// exact strings (which people read and tests match) are defined in one place.
import type { Micros } from './types';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local wall-clock time as HH:MM:SS.mmm. */
export function formatClock(us: Micros): string {
  const d = new Date(Math.floor(us / 1000));
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Local date and time, for trace start. */
export function formatDateTime(us: Micros): string {
  const d = new Date(Math.floor(us / 1000));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A duration in µs at a readable unit: 850µs, 12.3ms, 4.56s, 3m 07s, 2h 05m. */
export function formatDuration(us: number | null): string {
  if (us === null || !Number.isFinite(us) || us < 0) return '—';
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1e6) return `${(us / 1000).toFixed(1)}ms`;
  const s = us / 1e6;
  if (s < 60) return `${s.toFixed(2)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(Math.floor(s % 60))}s`;
  return `${Math.floor(m / 60)}h ${pad(m % 60)}m`;
}

/**
 * An id cut in the middle when long: trace ids share their prefix
 * ("swarm-20261128-…") and differ at the end, so the end must stay visible.
 */
export function middleEllipsis(s: string, max = 24): string {
  if (s.length <= max) return s;
  const tail = Math.ceil((max - 1) * 0.6);
  return `${s.slice(0, max - 1 - tail)}…${s.slice(-tail)}`;
}
