// Drawing rules of the agent graph that are worth testing without a DOM:
// node size, link width, and the curved link path that keeps a→b, b→a and
// the three link types between the same pair apart.
import type { AgentStatus, GraphLink, LinkType } from '../../lib/graph';

export const STATUS_COLOR: Record<AgentStatus, string> = {
  active: '#3fb950',
  idle: '#6e7681',
  busy: '#58a6ff',
  error: '#ff6b6b',
};

export const LINK_COLOR: Record<LinkType, string> = {
  communication: '#79c0ff',
  coordination: '#d2a8ff',
  dependency: '#8b949e',
};

/** How far the curve bows, as a share of the link length; 0 is straight. */
const BOW: Record<LinkType, number> = { communication: 0.12, coordination: 0.26, dependency: 0 };

/** Radius from activity: busy agents read as bigger, within bounds. */
export function nodeRadius(eventCount: number): number {
  return Math.round(12 + Math.min(12, Math.sqrt(Math.max(0, eventCount)) / 2));
}

/** Width from message count, sub-linear so a chatty pair does not swamp the picture. */
export function linkWidth(l: Pick<GraphLink, 'messageCount'>): number {
  return Math.min(9, 1 + Math.sqrt(Math.max(0, l.messageCount)) * 0.8);
}

export interface Pt {
  x: number;
  y: number;
}

/**
 * A quadratic curve from the edge of the source circle to the edge of the
 * target circle (so the arrowhead is visible), bowed to the left of the
 * direction of travel: the reverse link bows to the other side.
 */
export function linkPath(type: LinkType, s: Pt, t: Pt, rs: number, rt: number): string {
  const dx = t.x - s.x;
  const dy = t.y - s.y;
  const len = Math.hypot(dx, dy);
  if (len < 1e-6) return `M${s.x},${s.y}`;
  const bow = BOW[type] * len;
  const cx = (s.x + t.x) / 2 - (dy / len) * bow;
  const cy = (s.y + t.y) / 2 + (dx / len) * bow;
  const trim = (from: Pt, toward: Pt, r: number): Pt => {
    const ex = toward.x - from.x;
    const ey = toward.y - from.y;
    const d = Math.hypot(ex, ey) || 1;
    return { x: from.x + (ex / d) * r, y: from.y + (ey / d) * r };
  };
  const a = trim(s, { x: cx, y: cy }, rs);
  const b = trim(t, { x: cx, y: cy }, rt + 2);
  const f = (n: number) => Math.round(n * 10) / 10;
  return `M${f(a.x)},${f(a.y)}Q${f(cx)},${f(cy)} ${f(b.x)},${f(b.y)}`;
}
