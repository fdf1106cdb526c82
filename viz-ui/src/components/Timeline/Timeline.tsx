// The trace timeline: a lane per agent, spans as nested bars, instant events
// as level-coloured markers, messages as arrows between lanes, a time cursor
// and a minimap. Drawn on canvas; the view (visible time range) lives in a
// ref and every change schedules one animation frame, so panning and zooming
// never re-render React. Controls, as in Perfetto: W/S zoom, A/D pan (arrow
// keys pan too), mouse wheel zooms around the pointer, drag pans, a click
// selects, a click or drag on the time axis moves the cursor.
import { useCallback, useEffect, useMemo, useRef } from 'react';
import type { EventColumns } from '../../lib/bulk';
import { buildTimeline, densityHistogram, lowerBound, visibleSpans } from '../../lib/timeline';
import {
  centerOn, clampView, formatOffset, panPixels, tOf, viewForKey, xOf, zoom, ZOOM_IN, ZOOM_OUT, type View,
} from '../../lib/timelineView';
import {
  AXIS_H, BAR_H, GUTTER, LANE_PAD, MARKER_ROW, barY, drawFrame, drawMinimap, laneGeometry, newPixelLayer,
} from './draw';
import './Timeline.css';

export interface TimelineProps {
  columns: EventColumns;
  /** lanes for these agents come first, in this order */
  agentOrder?: readonly string[];
  selectedAgentId?: string | null;
  /** seq of the selected event */
  selectedEventSeq?: number | null;
  cursorTime?: number | null;
  compareTime?: number | null;
  onSelectAgent?: (agent: string) => void;
  onSelectEvent?: (seq: number, agent: string) => void;
  onCursorChange?: (t: number) => void;
}

const MINIMAP_H = 40;
const MINIMAP_BUCKETS = 400;
const DRAG_THRESHOLD = 3;

/** A canvas sized for the device's pixel ratio; returns its 2D context. */
function fitCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D | null {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(width * dpr);
  const h = Math.round(height * dpr);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  const ctx = canvas.getContext('2d');
  ctx?.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

export function Timeline(props: TimelineProps) {
  const { columns, agentOrder, cursorTime = null, compareTime = null } = props;
  const model = useMemo(() => buildTimeline(columns, agentOrder), [columns, agentOrder]);
  const geo = useMemo(() => laneGeometry(model.lanes), [model]);
  const bounds = useMemo<View>(
    () => ({ start: model.start, end: Math.max(model.end, model.start + 1) }), [model]);
  const density = useMemo(() => densityHistogram(columns, bounds.start, bounds.end, MINIMAP_BUCKETS), [columns, bounds]);
  const eventIndex = useMemo(() => {
    const m = new Map<number, number>();
    if (props.selectedEventSeq != null) {
      for (let i = 0; i < columns.count; i++) if (columns.seq[i] === props.selectedEventSeq) m.set(columns.seq[i]!, i);
    }
    return m;
  }, [columns, props.selectedEventSeq]);

  const rootRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const miniRef = useRef<HTMLCanvasElement>(null);
  const cursorRef = useRef<HTMLDivElement>(null);
  const infoRef = useRef<HTMLDivElement>(null);
  const viewRef = useRef<View>(bounds);
  const widthRef = useRef(800);
  const layerRef = useRef(newPixelLayer());
  const frameRef = useRef(0);
  const latest = useRef(props);
  latest.current = props;
  const hoverT = useRef<number | null>(null); // the time under the pointer

  const plotWidth = () => Math.max(1, widthRef.current - GUTTER);

  // The visible range as attributes, for tests and anyone inspecting the
  // page. Written at most every 100 ms (and once after the last change):
  // an attribute write each frame costs a style invalidation each frame.
  const attrTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const attrAt = useRef(0);
  const publishView = useCallback(() => {
    const write = () => {
      attrTimer.current = null;
      attrAt.current = performance.now();
      const root = rootRef.current;
      if (!root) return;
      root.dataset.viewStart = String(Math.round(viewRef.current.start));
      root.dataset.viewEnd = String(Math.round(viewRef.current.end));
    };
    if (performance.now() - attrAt.current >= 100) write();
    else attrTimer.current ??= setTimeout(write, 100);
  }, []);
  useEffect(() => () => { if (attrTimer.current) clearTimeout(attrTimer.current); }, []);

  const draw = useCallback(() => {
    frameRef.current = 0;
    const canvas = canvasRef.current;
    const mini = miniRef.current;
    const root = rootRef.current;
    if (!canvas || !mini || !root) return;
    const p = latest.current;
    const width = widthRef.current;
    const view = viewRef.current;
    const ctx = fitCanvas(canvas, width, geo.total);
    if (ctx) {
      const sel = p.selectedEventSeq != null ? (eventIndex.get(p.selectedEventSeq) ?? null) : null;
      drawFrame({
        ctx, width, height: geo.total, dpr: window.devicePixelRatio || 1, layer: layerRef.current, model, cols: columns, geo, view,
        selectedAgent: p.selectedAgentId ?? null, selectedEvent: sel,
        cursor: p.cursorTime ?? null, compare: p.compareTime ?? null,
      });
    }
    const mctx = fitCanvas(mini, width - GUTTER, MINIMAP_H);
    if (mctx) drawMinimap({ ctx: mctx, width: width - GUTTER, height: MINIMAP_H, density, bounds, view, cursor: p.cursorTime ?? null });
    publishView();
    const cur = cursorRef.current;
    if (cur) {
      const t = p.cursorTime;
      const visible = t != null && t >= view.start && t <= view.end;
      cur.style.display = visible ? 'block' : 'none';
      if (visible) cur.style.left = `${GUTTER + xOf(view, plotWidth(), t) - 5}px`;
      cur.dataset.time = t != null ? String(Math.round(t)) : '';
    }
  }, [columns, model, geo, density, bounds, eventIndex, publishView]);

  const schedule = useCallback(() => {
    if (!frameRef.current) frameRef.current = requestAnimationFrame(draw);
  }, [draw]);

  const setView = useCallback((v: View) => {
    viewRef.current = clampView(v, bounds);
    schedule();
  }, [bounds, schedule]);

  // a new trace shows whole; the same trace reloaded (it grew) keeps the view
  const shownTrace = useRef<string | null>(null);
  useEffect(() => {
    const same = shownTrace.current === columns.traceId;
    shownTrace.current = columns.traceId;
    viewRef.current = same ? clampView(viewRef.current, bounds) : bounds;
    schedule();
  }, [bounds, schedule, columns.traceId]);
  useEffect(() => { schedule(); }, [schedule, cursorTime, compareTime, props.selectedAgentId, props.selectedEventSeq]);
  useEffect(() => () => cancelAnimationFrame(frameRef.current), []);

  useEffect(() => {
    const root = rootRef.current;
    if (!root) return;
    const ro = new ResizeObserver(() => {
      widthRef.current = Math.max(GUTTER + 100, root.clientWidth);
      schedule();
    });
    ro.observe(root);
    return () => ro.disconnect();
  }, [schedule]);

  // wheel must be non-passive to keep the page from scrolling while zooming
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const onWheel = (e: WheelEvent) => {
      const x = e.offsetX - GUTTER;
      if (x < 0) return;
      e.preventDefault();
      const v = viewRef.current;
      if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        setView(panPixels(v, -(e.deltaX || e.deltaY), plotWidth(), bounds));
      } else {
        const factor = Math.pow(e.deltaY > 0 ? ZOOM_OUT : ZOOM_IN, Math.min(3, Math.abs(e.deltaY) / 100));
        setView(zoom(v, factor, tOf(v, plotWidth(), x), bounds));
      }
    };
    canvas.addEventListener('wheel', onWheel, { passive: false });
    return () => canvas.removeEventListener('wheel', onWheel);
  }, [bounds, setView]);

  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const v = viewRef.current;
    const c = latest.current.cursorTime;
    // zoom around the pointer if it is over the plot, else the cursor, else the middle
    const anchor = hoverT.current ?? (c != null && c >= v.start && c <= v.end ? c : (v.start + v.end) / 2);
    const next = viewForKey(e.key, v, anchor, bounds);
    if (next) {
      e.preventDefault();
      setView(next);
    }
  };

  /** The event under a point of the plot, as an index into the columns. */
  const hitTest = (x: number, y: number): { lane: number; event: number | null } | null => {
    const lane = geo.top.findIndex((top, i) => y >= top && y < top + geo.height[i]!);
    if (lane < 0) return null;
    const top = geo.top[lane]!;
    const v = viewRef.current;
    const pw = plotWidth();
    if (y < top + LANE_PAD + MARKER_ROW) {
      const m = model.lanes[lane]!.markers;
      const t = tOf(v, pw, x);
      const slack = (4 / pw) * (v.end - v.start);
      const i = lowerBound(m.ts, t - slack);
      const ok = i < m.ts.length && m.ts[i]! <= t + slack;
      return { lane, event: ok ? m.event[i]! : null };
    }
    const depth = Math.floor((y - barY(top, 0)) / BAR_H);
    const rect = visibleSpans(model.lanes[lane]!.spans, v, pw, 1, 0)
      .find((r) => r.depth === depth && x >= r.x0 - 2 && x <= r.x1 + 2);
    return { lane, event: rect && rect.event >= 0 ? rect.event : null };
  };

  const describe = (i: number) => {
    const t = columns.ts[i]!;
    const d = columns.duration[i]!;
    const dur = Number.isNaN(d) ? '' : ` · ${formatOffset(d).slice(1)}`;
    return `${columns.types[columns.type[i]!]} · ${columns.agents[columns.agent[i]!]} · ${formatOffset(t - model.start)}${dur}`;
  };

  const drag = useRef<{ x: number; view: View; moved: boolean; mode: 'pan' | 'cursor' } | null>(null);

  const cursorAt = (x: number) => {
    const v = viewRef.current;
    latest.current.onCursorChange?.(Math.round(Math.min(bounds.end, Math.max(bounds.start, tOf(v, plotWidth(), x)))));
  };

  const onPointerDown = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const x = e.nativeEvent.offsetX - GUTTER;
    if (x < 0 || e.button !== 0) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    const onAxis = e.nativeEvent.offsetY < AXIS_H;
    drag.current = { x: e.clientX, view: viewRef.current, moved: false, mode: onAxis ? 'cursor' : 'pan' };
    if (onAxis) cursorAt(x);
  };

  const onPointerMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const d = drag.current;
    const x = e.nativeEvent.offsetX - GUTTER;
    if (d) {
      const dx = e.clientX - d.x;
      if (Math.abs(dx) >= DRAG_THRESHOLD) d.moved = true;
      if (d.mode === 'cursor') cursorAt(x);
      else if (d.moved) setView(panPixels(d.view, dx, plotWidth(), bounds));
      return;
    }
    hoverT.current = x >= 0 ? tOf(viewRef.current, plotWidth(), x) : null;
    const hit = x >= 0 ? hitTest(x, e.nativeEvent.offsetY) : null;
    if (infoRef.current) infoRef.current.textContent = hit?.event != null ? describe(hit.event) : '\u00a0';
  };

  const onPointerUp = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const d = drag.current;
    drag.current = null;
    if (!d || d.moved || d.mode === 'cursor') return;
    const hit = hitTest(e.nativeEvent.offsetX - GUTTER, e.nativeEvent.offsetY);
    if (!hit) return;
    const agent = model.lanes[hit.lane]!.agent;
    latest.current.onSelectAgent?.(agent);
    if (hit.event !== null) latest.current.onSelectEvent?.(columns.seq[hit.event]!, agent);
  };

  // the cursor handle: drag it to scrub
  const onCursorDown = (e: React.PointerEvent<HTMLDivElement>) => {
    e.currentTarget.setPointerCapture(e.pointerId);
    e.stopPropagation();
  };
  const onCursorMove = (e: React.PointerEvent<HTMLDivElement>) => {
    if (!e.currentTarget.hasPointerCapture(e.pointerId)) return;
    const rect = canvasRef.current?.getBoundingClientRect();
    if (rect) cursorAt(e.clientX - rect.left - GUTTER);
  };

  const miniDrag = useRef(false);
  const onMini = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (e.type === 'pointerdown') {
      miniDrag.current = true;
      e.currentTarget.setPointerCapture(e.pointerId);
    } else if (e.type === 'pointerup') {
      miniDrag.current = false;
      return;
    }
    if (!miniDrag.current) return;
    const w = e.currentTarget.clientWidth;
    setView(centerOn(viewRef.current, tOf(bounds, w, e.nativeEvent.offsetX), bounds));
  };

  return (
    <div
      className="timeline"
      data-testid="timeline"
      data-lanes={model.lanes.length}
      data-agents={model.lanes.map((l) => l.agent).join(',')}
      ref={rootRef}
      tabIndex={0}
      onKeyDown={onKeyDown}
      aria-label="trace timeline: W/S zoom, A/D pan"
    >
      <div className="timeline-plot">
        <canvas
          ref={canvasRef}
          data-testid="timeline-canvas"
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerLeave={() => { hoverT.current = null; }}
        />
        <div
          ref={cursorRef}
          className="time-cursor"
          data-testid="time-cursor"
          style={{ top: 0, height: AXIS_H }}
          onPointerDown={onCursorDown}
          onPointerMove={onCursorMove}
          title="drag to move the time cursor"
        />
      </div>
      <div className="timeline-foot">
        <span className="timeline-help muted">W/S zoom · A/D pan · wheel zoom · drag pan · click the axis to set the time</span>
        <canvas ref={miniRef} className="minimap" data-testid="minimap" style={{ marginLeft: GUTTER }}
          onPointerDown={onMini} onPointerMove={onMini} onPointerUp={onMini} />
        <div ref={infoRef} className="timeline-info mono">{'\u00a0'}</div>
      </div>
    </div>
  );
}
