// Top-level wiring. App owns every network side effect (REST polling, the
// WebSocket, per-selection loads) and the shared state: the feed (feed.ts),
// the agent graph (graph.ts), live mode (live.ts) and the view state kept in
// the URL (viewState.ts). Components get plain props and report intents
// back, so selecting something in one view highlights it in all of them.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { getGraph, listLastEvents, listTraces } from './lib/api';
import { deriveAgentDetails } from './lib/agentDetails';
import { initialFeedState, rateSeries, reduceFeed, visibleFeed } from './lib/feed';
import { initialGraphState, reduceGraph } from './lib/graph';
import { initialLive, livePause, liveReceive, liveResume, type LiveState } from './lib/live';
import { openStream, type StreamHandle } from './lib/stream';
import { NO_FILTER, type TraceFilter } from './lib/traceFilter';
import type { StreamMessage, TraceEvent, WsStatus } from './lib/types';
import { useViewState } from './lib/useViewState';
import { selectAgent, selectEvent, selectTrace, setTime } from './lib/viewState';
import { AgentDetails } from './components/AgentDetails/AgentDetails';
import { AgentGraph } from './components/AgentGraph/AgentGraph';
import { LiveControls } from './components/LiveControls/LiveControls';
import { LiveFeed } from './components/LiveFeed/LiveFeed';
import { RateChart } from './components/RateChart/RateChart';
import { StatusBar } from './components/StatusBar/StatusBar';
import { TraceList } from './components/TraceList/TraceList';
import { TimelinePanel } from './components/Timeline/TimelinePanel';

const REFRESH_MS = 5000;
const HISTORY_EVENTS = 200;
const AGENT_EVENTS = 300;

const NO_EVENTS: TraceEvent[] = [];

// A live trace's timeline reloads as it grows; a finished one loads once.
const liveReloadKey = (t: { status: string; eventCount: number } | undefined) =>
  t?.status === 'active' ? t.eventCount : 'final';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function App() {
  const [view, setView] = useViewState();
  const [state, dispatch] = useReducer(reduceFeed, undefined, initialFeedState);
  const [graph, graphDispatch] = useReducer(reduceGraph, view.trace, initialGraphState);
  const [wsStatus, setWsStatus] = useState<WsStatus>('connecting');
  const [apiError, setApiError] = useState<string | null>(null);
  const [filter, setFilter] = useState<TraceFilter>(NO_FILTER);
  // A shared link (?trace=) is a deliberate view: do not jump away from it.
  const [following, setFollowing] = useState(() => view.trace === null);
  const live = useRef<LiveState>(initialLive());
  const [liveUi, setLiveUi] = useState({ paused: false, buffered: 0, overflow: false });
  const stream = useRef<StreamHandle | null>(null);
  // Ticks every second so the sparkline slides even when no event arrives.
  const [now, setNow] = useState(() => Date.now());

  // Everything the stream delivers goes to the feed and the graph together.
  const apply = useCallback((msgs: StreamMessage[]) => {
    for (const msg of msgs) {
      dispatch({ kind: 'stream', msg });
      if (msg.type === 'trace_event') graphDispatch({ kind: 'events', events: msg.payload?.events ?? [] });
    }
  }, []);

  const onStreamMessage = useCallback(
    (msg: StreamMessage) => {
      const step = liveReceive(live.current, msg);
      live.current = step.state;
      if (step.state.paused) setLiveUi({ paused: true, buffered: step.state.bufferedEvents, overflow: step.state.overflow });
      apply(step.deliver);
    },
    [apply],
  );

  const connect = useCallback(
    (since: number | null) => {
      stream.current?.close();
      stream.current = openStream({ since, onMessage: onStreamMessage, onStatus: setWsStatus });
    },
    [onStreamMessage],
  );

  // Trace list first, then the stream, so live trace_start/end land on a
  // populated list; then poll REST as the source of truth for summaries.
  useEffect(() => {
    let cancelled = false;
    let inFlight = false;
    const refresh = async (): Promise<number | null> => {
      if (inFlight) return null; // a slow server must not pile up requests
      // Paused means frozen: the list's counts wait for resume too.
      if (live.current.paused) return null;
      inFlight = true;
      try {
        const page = await listTraces();
        if (cancelled) return null;
        dispatch({ kind: 'traces', traces: page.traces });
        setApiError(null);
        return page.lastSeq ?? null;
      } catch (e) {
        if (!cancelled) setApiError(errorText(e));
        return null;
      } finally {
        inFlight = false;
      }
    };
    // The stream starts where the list was read: nothing committed in
    // between is missed, and a drop before any event still resumes from a
    // known seq instead of going live-only.
    void refresh().then((since) => {
      if (cancelled) return;
      if (since !== null) live.current = { ...live.current, deliveredSeq: Math.max(live.current.deliveredSeq ?? 0, since) };
      connect(since);
    });
    const poll = setInterval(() => void refresh(), REFRESH_MS);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      cancelled = true;
      clearInterval(poll);
      clearInterval(tick);
      stream.current?.close();
      stream.current = null;
    };
  }, [connect]);

  const togglePause = useCallback(() => {
    if (!live.current.paused) {
      live.current = livePause(live.current);
      setLiveUi({ paused: true, buffered: 0, overflow: false });
      return;
    }
    const step = liveResume(live.current);
    live.current = step.state;
    setLiveUi({ paused: false, buffered: 0, overflow: false });
    apply(step.deliver);
    // Too much was held to keep: let the collector replay it from SQLite.
    if (step.resyncSince !== null) connect(step.resyncSince);
  }, [apply, connect]);

  // The feed's trace filter follows the URL's trace.
  const trace = view.trace;
  useEffect(() => dispatch({ kind: 'select', traceId: trace }), [trace]);

  // A selected trace may be finished and silent: load its tail so the feed
  // shows something. Aborted when the selection changes.
  useEffect(() => {
    if (trace === null) return;
    const ac = new AbortController();
    listLastEvents(trace, HISTORY_EVENTS, ac.signal)
      .then((events) => dispatch({ kind: 'history', traceId: trace, events }))
      .catch((e: unknown) => {
        if (!ac.signal.aborted) setApiError(errorText(e));
      });
    return () => ac.abort();
  }, [trace]);

  // The graph: REST for what happened so far, then live events on top.
  useEffect(() => {
    graphDispatch({ kind: 'reset', traceId: trace });
    if (trace === null) return;
    const ac = new AbortController();
    const baseSeq = live.current.deliveredSeq ?? -1;
    getGraph(trace, ac.signal)
      .then((res) => graphDispatch({ kind: 'rest', traceId: trace, res, baseSeq }))
      .catch((e: unknown) => {
        if (!ac.signal.aborted) setApiError(errorText(e));
      });
    // The announced topology may be older than anything live.
    listLastEvents(trace, 1, ac.signal, { type: 'topology.changed' })
      .then((evs) => {
        const m = evs.at(-1)?.metadata;
        graphDispatch({ kind: 'announce', traceId: trace, topology: typeof m?.topology === 'string' ? m.topology : null });
      })
      .catch(() => {}); // optional: the links still tell the shape
    return () => ac.abort();
  }, [trace]);

  // Follow latest: the newest running trace becomes the view as it starts.
  const newestActive = state.traces.find((t) => t.status === 'active')?.id ?? null;
  useEffect(() => {
    if (following && newestActive !== null) setView((v) => selectTrace(v, newestActive));
  }, [following, newestActive, setView]);

  const agentEvents = useAgentEvents(trace, view.agent, setApiError);

  const onSelectTrace = useCallback(
    (id: string | null) => {
      // Picking anything but the live edge is looking back: stop following.
      if (id !== newestActive) setFollowing(false);
      setView((v) => selectTrace(v, id));
    },
    [newestActive, setView],
  );
  const onSelectAgent = useCallback((id: string | null) => setView((v) => selectAgent(v, id)), [setView]);
  const onSelectEvent = useCallback(
    (e: TraceEvent) => {
      if (e.traceId !== trace) setFollowing(false);
      setView((v) => selectEvent(v, e));
    },
    [setView, trace],
  );
  const toggleFollow = useCallback(() => setFollowing((f) => !f), []);

  // Recomputed only when counts change or the second ticks, so the chart's
  // own memo holds across unrelated renders.
  const rate = state.rate;
  const series = useMemo(() => rateSeries({ rate }, now), [rate, now]);
  const feedEvents = visibleFeed(state);
  const details = useMemo(
    () => (view.agent === null ? null : deriveAgentDetails(view.agent, [...agentEvents.events, ...state.selectedFeed], view.t)),
    [view.agent, view.t, agentEvents.events, state.selectedFeed],
  );
  const newestTs = state.selectedFeed[0]?.timestamp ?? null;
  const selectedEventAgent =
    view.event === null ? null : (feedEvents.find((e) => e.seq === view.event)?.agentId ?? view.agent);

  return (
    <div className={view.trace !== null ? 'app with-timeline' : 'app'}>
      <header className="top-bar">
        <h1>Swarm Tracer</h1>
        <StatusBar status={wsStatus} totalEvents={state.totalEvents} lastSeq={state.lastSeq} error={apiError ?? state.lastError} />
        <LiveControls
          following={following}
          paused={liveUi.paused}
          buffered={liveUi.buffered}
          overflow={liveUi.overflow}
          onToggleFollow={toggleFollow}
          onTogglePause={togglePause}
        />
        <RateChart series={series} />
      </header>
      <main className={`layout${view.agent ? ' with-details' : ''}`}>
        <div className="col-left">
          <TraceList
            traces={state.traces}
            selectedId={trace}
            onSelect={onSelectTrace}
            filter={filter}
            onFilter={setFilter}
            nowUs={now * 1000}
          />
          <LiveFeed
            events={feedEvents}
            traceId={trace}
            selectedSeq={view.event}
            selectedAgent={view.agent}
            onSelectEvent={onSelectEvent}
            paused={liveUi.paused}
          />
        </div>
        <div className="col-graph">
          <AgentGraph
            model={graph.model}
            loading={graph.loading}
            selectedAgent={view.agent}
            eventAgent={selectedEventAgent}
            onSelectAgent={onSelectAgent}
          />
        </div>
        {view.agent !== null && details !== null && (
          <div className="col-details">
            <AgentDetails
              agent={view.agent}
              node={graph.model.nodes.get(view.agent) ?? null}
              details={details}
              selectedEvent={view.event}
              now={view.t ?? newestTs}
              loading={agentEvents.loading}
              onSelectEvent={onSelectEvent}
              onClose={() => onSelectAgent(null)}
            />
          </div>
        )}
        {view.trace !== null && (
          <TimelinePanel
            traceId={view.trace}
            reloadKey={liveReloadKey(state.traces.find((t) => t.id === view.trace))}
            time={view.t}
            compareTime={view.t2}
            onTimeChange={(t) => setView((v) => setTime(v, t))}
            onCompareTimeChange={(t2) => setView((v) => setTime(v, v.t, t2))}
            selectedAgentId={view.agent}
            onSelectAgent={onSelectAgent}
            selectedEventSeq={view.event}
            onSelectEvent={(seq, agentId, ts) =>
              setView((v) =>
                Number.isFinite(ts) && v.trace !== null
                  ? selectEvent(v, { seq, agentId, timestamp: ts, traceId: v.trace })
                  : v,
              )
            }
          />
        )}
      </main>
    </div>
  );
}

/** The selected agent's recent events, errors and the messages addressed to it, from REST. */
function useAgentEvents(trace: string | null, agent: string | null, onError: (m: string) => void) {
  const [res, setRes] = useState<{ key: string; events: TraceEvent[] }>({ key: '', events: [] });
  const key = trace !== null && agent !== null ? `${trace}\n${agent}` : '';
  useEffect(() => {
    if (trace === null || agent === null) return;
    const ac = new AbortController();
    Promise.all([
      listLastEvents(trace, AGENT_EVENTS, ac.signal, { agent }),
      // Errors can be older than the tail: fetch them on their own.
      listLastEvents(trace, 50, ac.signal, { agent, level: 'error' }),
      // A received message has no text; its sent event (another agent's) has.
      listLastEvents(trace, AGENT_EVENTS, ac.signal, { type: 'message.sent' }),
    ])
      .then(([mine, errors, sent]) => setRes({ key: `${trace}\n${agent}`, events: [...sent, ...errors, ...mine] }))
      .catch((e: unknown) => {
        if (!ac.signal.aborted) onError(errorText(e));
      });
    return () => ac.abort();
  }, [trace, agent, onError]);
  return res.key === key ? { events: res.events, loading: false } : { events: NO_EVENTS, loading: key !== '' };
}
