// Top-level wiring: owns the feed state (feed.ts reducer), the REST polling,
// the WebSocket and the selection, and hands plain props to the components.
// All network side effects live here so components stay presentational.
import { useCallback, useEffect, useMemo, useReducer, useState } from 'react';
import { listLastEvents, listTraces } from './lib/api';
import { initialFeedState, rateSeries, reduceFeed, visibleFeed } from './lib/feed';
import { openStream } from './lib/stream';
import type { WsStatus } from './lib/types';
import { LiveFeed } from './components/LiveFeed/LiveFeed';
import { RateChart } from './components/RateChart/RateChart';
import { StatusBar } from './components/StatusBar/StatusBar';
import { TraceList } from './components/TraceList/TraceList';
import { TimelinePanel } from './components/Timeline/TimelinePanel';

const REFRESH_MS = 5000;
const HISTORY_EVENTS = 200;

// A live trace's timeline reloads as it grows; a finished one loads once.
const liveReloadKey = (t: { status: string; eventCount: number } | undefined) =>
  t?.status === 'active' ? t.eventCount : 'final';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function App() {
  const [state, dispatch] = useReducer(reduceFeed, undefined, initialFeedState);
  const [wsStatus, setWsStatus] = useState<WsStatus>('connecting');
  const [apiError, setApiError] = useState<string | null>(null);
  // Ticks every second so the sparkline slides even when no event arrives.
  const [now, setNow] = useState(() => Date.now());

  // Trace list first, then the stream, so live trace_start/end land on a
  // populated list; then poll REST as the source of truth for summaries.
  useEffect(() => {
    let cancelled = false;
    let inFlight = false;
    let stream: ReturnType<typeof openStream> | null = null;

    const refresh = async () => {
      if (inFlight) return; // a slow server must not pile up requests
      inFlight = true;
      try {
        const page = await listTraces();
        if (cancelled) return;
        dispatch({ kind: 'traces', traces: page.traces });
        setApiError(null);
      } catch (e) {
        if (!cancelled) setApiError(errorText(e));
      } finally {
        inFlight = false;
      }
    };

    void refresh().then(() => {
      if (cancelled) return;
      stream = openStream({
        onMessage: (msg) => dispatch({ kind: 'stream', msg }),
        onStatus: setWsStatus,
      });
    });
    const poll = setInterval(() => void refresh(), REFRESH_MS);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      cancelled = true;
      clearInterval(poll);
      clearInterval(tick);
      stream?.close();
    };
  }, []);

  // A selected trace may be finished and silent: load its tail so the feed
  // shows something. Aborted when the selection changes.
  const selected = state.selectedTraceId;
  useEffect(() => {
    if (selected === null) return;
    const ac = new AbortController();
    listLastEvents(selected, HISTORY_EVENTS, ac.signal)
      .then((events) => dispatch({ kind: 'history', traceId: selected, events }))
      .catch((e: unknown) => {
        if (!ac.signal.aborted) setApiError(errorText(e));
      });
    return () => ac.abort();
  }, [selected]);

  const onSelect = useCallback((traceId: string | null) => dispatch({ kind: 'select', traceId }), []);
  // Recomputed only when counts change or the second ticks, so the chart's
  // own memo holds across unrelated renders.
  const rate = state.rate;
  const series = useMemo(() => rateSeries({ rate }, now), [rate, now]);

  return (
    <div className={selected !== null ? 'app with-timeline' : 'app'}>
      <header className="top-bar">
        <h1>Swarm Tracer</h1>
        <StatusBar
          status={wsStatus}
          totalEvents={state.totalEvents}
          lastSeq={state.lastSeq}
          error={apiError ?? state.lastError}
        />
        <RateChart series={series} />
      </header>
      <main className="panes">
        <TraceList traces={state.traces} selectedId={selected} onSelect={onSelect} />
        <LiveFeed events={visibleFeed(state)} traceId={selected} />
      </main>
      {/* ui-b: timeline + time-travel of the selected trace; placement to be reconciled with ui-a's layout */}
      {selected !== null && (
        <div className="timeline-block">
          <TimelinePanel traceId={selected} reloadKey={liveReloadKey(state.traces.find((t) => t.id === selected))} />
        </div>
      )}
    </div>
  );
}
