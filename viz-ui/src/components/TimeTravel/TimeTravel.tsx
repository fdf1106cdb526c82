// Time-travel controls and views: the time slider, play at 1×–100×, every
// agent's reconstructed state at the chosen time, and a side-by-side diff
// against a second (compare) time. The times are props, so the timeline's
// cursor, this slider and the URL can all drive the same value; the
// reconstruction itself is lib/timeTravel.ts.
import { useEffect, useMemo, useRef, useState } from 'react';
import {
  PlaybackClock, SPEEDS, TimeTravelEngine, diffSwarm, type AgentState, type DiffEntry, type Json,
} from '../../lib/timeTravel';
import { restSource } from '../../lib/timeTravelSource';
import { formatOffset } from '../../lib/timelineView';
import type { TimeTravelSource } from '../../lib/timeTravel';
import './TimeTravel.css';

export interface TimeTravelProps {
  traceId: string;
  traceStart: number;
  traceEnd: number;
  time: number | null;
  compareTime: number | null;
  onTimeChange: (t: number) => void;
  onCompareTimeChange: (t: number | null) => void;
  /** agents to show even before their first snapshot */
  agents?: readonly string[];
  selectedAgentId?: string | null;
  onSelectAgent?: (agent: string) => void;
  /** for tests: a source other than the REST API */
  source?: TimeTravelSource;
}

const PLAY_TICK_MS = 100;
const NO_AGENTS: readonly string[] = [];

/**
 * The swarm's state at t, recomputed when t changes. Requests never pile
 * up: while one is running only the latest t is remembered and fetched next.
 */
function useSwarmState(engine: TimeTravelEngine, t: number | null, agents: readonly string[]) {
  const [state, setState] = useState<{ t: number; agents: Map<string, AgentState> } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(false);
  const want = useRef<number | null>(null);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => { alive.current = false; };
  }, [engine]);
  useEffect(() => {
    want.current = t;
    if (t === null) { setState(null); return; }
    if (busy.current) return;
    const run = async () => {
      busy.current = true;
      try {
        while (want.current !== null) {
          const at = want.current;
          const agentsAt = await engine.stateAt(at, agents);
          if (!alive.current) return;
          setState({ t: at, agents: agentsAt });
          setError(null);
          if (want.current === at) break;
        }
      } catch (e) {
        if (alive.current) setError(e instanceof Error ? e.message : String(e));
      } finally {
        busy.current = false;
      }
    };
    void run();
  }, [engine, t, agents]);
  return { state, error };
}

export function TimeTravel(props: TimeTravelProps) {
  const { traceId, traceStart, traceEnd, time, compareTime, onTimeChange, onCompareTimeChange } = props;
  const agents = props.agents ?? NO_AGENTS;
  const engine = useMemo(
    () => new TimeTravelEngine(props.source ?? restSource(traceId), traceStart),
    [traceId, traceStart, props.source]);
  // a live trace that grew may have new snapshots: list them again
  useEffect(() => { engine.refresh(); }, [engine, traceEnd]);
  const now = useSwarmState(engine, time, agents);
  const then = useSwarmState(engine, compareTime, agents);

  const [speed, setSpeed] = useState<number>(10);
  const [playing, setPlaying] = useState(false);
  const clock = useRef<PlaybackClock | null>(null);
  const onTime = useRef(onTimeChange);
  onTime.current = onTimeChange;

  useEffect(() => {
    if (!playing) return;
    const c = new PlaybackClock({ start: time ?? traceStart, end: traceEnd, now: () => performance.now() });
    c.setSpeed(speed);
    c.play(time !== null && time < traceEnd ? time : traceStart);
    clock.current = c;
    const timer = setInterval(() => {
      onTime.current(Math.round(c.time()));
      if (!c.playing) setPlaying(false);
    }, PLAY_TICK_MS);
    return () => { clearInterval(timer); clock.current = null; };
    // the clock owns time while playing: restarting on each tick would stall it
  }, [playing, traceStart, traceEnd]);

  useEffect(() => { clock.current?.setSpeed(speed); }, [speed]);

  const diff = useMemo<DiffEntry[] | null>(
    () => (now.state && then.state ? diffSwarm(then.state.agents, now.state.agents) : null),
    [now.state, then.state]);

  const t = time ?? traceStart;
  const rel = (x: number) => formatOffset(x - traceStart);

  return (
    <section className="time-travel panel" data-testid="time-travel" data-state-at={now.state?.t ?? ''}
      data-compare-at={then.state?.t ?? ''}>
      <header className="tt-controls">
        <h2>Time travel</h2>
        <button type="button" data-testid="play-button" onClick={() => setPlaying((p) => !p)}
          aria-label={playing ? 'pause' : 'play'}>
          {playing ? '❚❚ Pause' : '▶ Play'}
        </button>
        <label className="muted">
          speed{' '}
          <select data-testid="speed-select" value={speed} onChange={(e) => setSpeed(Number(e.target.value))}>
            {SPEEDS.map((s) => <option key={s} value={s}>{s}×</option>)}
          </select>
        </label>
        <input
          type="range" className="tt-slider" data-testid="time-slider" aria-label="time"
          min={traceStart} max={Math.max(traceEnd, traceStart + 1)} step={1000} value={t}
          onChange={(e) => { setPlaying(false); onTimeChange(Number(e.target.value)); }}
        />
        <span className="mono tt-time" data-testid="time-label">{rel(t)}</span>
        <button type="button" data-testid="compare-button" onClick={() => onCompareTimeChange(t)}
          title="keep this time as the left side of the diff">Compare from here</button>
        {compareTime !== null && (
          <button type="button" data-testid="compare-clear" onClick={() => onCompareTimeChange(null)}>Clear compare</button>
        )}
      </header>
      {now.error && <p className="tt-error" role="alert">{now.error}</p>}
      <div className="tt-agents">
        {now.state
          ? [...now.state.agents.values()].map((s) => (
            <AgentCard key={s.agent} s={s} traceStart={traceStart}
              selected={s.agent === props.selectedAgentId} onSelect={props.onSelectAgent} />
          ))
          : <p className="muted tt-empty">Pick a time on the timeline to see every agent's state.</p>}
      </div>
      {compareTime !== null && (
        <DiffView diff={diff} left={rel(compareTime)} right={rel(t)} />
      )}
    </section>
  );
}

function show(v: Json | undefined): string {
  if (v === undefined) return '—';
  if (v === null) return 'null';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function AgentCard({ s, traceStart, selected, onSelect }: {
  s: AgentState; traceStart: number; selected: boolean; onSelect?: (agent: string) => void;
}) {
  const st = s.state;
  const task = st.currentTask && typeof st.currentTask === 'object' && !Array.isArray(st.currentTask) ? st.currentTask : null;
  const memory = s.memory?.entries && typeof s.memory.entries === 'object' && !Array.isArray(s.memory.entries)
    ? Object.entries(s.memory.entries) : [];
  const status = typeof st.status === 'string' ? st.status : 'unknown';
  return (
    <article className={`agent-state${selected ? ' selected' : ''}`} data-testid="agent-state" data-agent={s.agent}
      data-status={status} data-done={show(st.tasksDone)} data-failed={show(st.tasksFailed)}
      data-task={task ? show(task.id) : ''} onClick={() => onSelect?.(s.agent)}>
      <header>
        <strong>{s.agent}</strong>
        <span className={`tt-status st-${status}`}>{status}</span>
      </header>
      <dl>
        <dt>task</dt>
        <dd data-testid="agent-task">{task ? `${show(task.id)}${task.description ? ` — ${show(task.description)}` : ''}${task.attempt ? ` (attempt ${show(task.attempt)})` : ''}` : '—'}</dd>
        <dt>queue</dt>
        <dd data-testid="agent-queue">{show(st.queued)}{Array.isArray(st.queue) && st.queue.length ? `: ${st.queue.map(show).join(', ')}` : ''}</dd>
        <dt>done / failed</dt><dd>{show(st.tasksDone)} / {show(st.tasksFailed)}{st.errors ? ` · ${show(st.errors)} errors` : ''}</dd>
        <dt>memory</dt>
        <dd className="tt-memory">{memory.length ? memory.map(([k, v]) => <span key={k} title={show(v)}>{k}</span>) : '—'}</dd>
        {s.tasks && (<><dt>task board</dt><dd className="mono">{show(s.tasks.totals ?? s.tasks)}</dd></>)}
        <dt>last event</dt>
        <dd className="mono">{s.lastEvent ? `${s.lastEvent.type} ${formatOffset(s.lastEvent.timestamp - traceStart)}` : '—'}</dd>
      </dl>
      <footer className="muted">
        {s.snapshotAt !== null ? `snapshot ${formatOffset(s.snapshotAt - traceStart)}` : 'no snapshot yet'} + {s.replayed} events replayed
      </footer>
    </article>
  );
}

function DiffView({ diff, left, right }: { diff: DiffEntry[] | null; left: string; right: string }) {
  return (
    <div className="diff-view" data-testid="diff-view" data-changes={diff?.length ?? ''}>
      <table>
        <thead>
          <tr><th>state</th><th>at {left}</th><th>at {right}</th></tr>
        </thead>
        <tbody>
          {diff === null && <tr><td colSpan={3} className="muted">reconstructing…</td></tr>}
          {diff?.length === 0 && <tr><td colSpan={3} className="muted">no difference</td></tr>}
          {diff?.map((d) => (
            <tr key={d.path} className={`diff-${d.kind}`} data-testid="diff-row" data-kind={d.kind}>
              <td className="mono">{d.path}</td>
              <td className="mono before">{d.kind === 'added' ? '' : show(d.before)}</td>
              <td className="mono after">{d.kind === 'removed' ? '' : show(d.after)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

