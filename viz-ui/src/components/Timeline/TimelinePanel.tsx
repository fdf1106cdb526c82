// Glue for one trace: loads its events in bulk (lib/bulk.ts), and shows the
// Timeline above the TimeTravel panel with one shared time cursor. The times
// and the selection are controlled when the parent passes them (e.g. from
// URL-synced view state) and kept here otherwise.
import { useEffect, useState } from 'react';
import { loadColumns, type EventColumns } from '../../lib/bulk';
import { TimeTravel } from '../TimeTravel/TimeTravel';
import { Timeline } from './Timeline';

export interface TimelinePanelProps {
  traceId: string;
  time?: number | null;
  compareTime?: number | null;
  onTimeChange?: (t: number) => void;
  onCompareTimeChange?: (t: number | null) => void;
  selectedAgentId?: string | null;
  onSelectAgent?: (agent: string) => void;
  selectedEventSeq?: number | null;
  /** ts: the event's time (µs), so a selection can move the cursor too */
  onSelectEvent?: (seq: number, agent: string, ts: number) => void;
  /** bump to reload (e.g. a live trace got new events) */
  reloadKey?: unknown;
}

/** The time of the event with this seq (a click: one linear pass is fine). */
function tsOfSeq(cols: EventColumns, seq: number): number {
  for (let i = 0; i < cols.count; i++) if (cols.seq[i] === seq) return cols.ts[i] ?? NaN;
  return NaN;
}

/** A controlled value when the parent gives one, local state otherwise. */
function useMaybeControlled<T>(value: T | undefined, onChange: ((v: T) => void) | undefined, initial: T): [T, (v: T) => void] {
  const [local, setLocal] = useState<T>(initial);
  const controlled = value !== undefined;
  return [controlled ? value : local, (v: T) => { if (!controlled) setLocal(v); onChange?.(v); }];
}

export function TimelinePanel(props: TimelinePanelProps) {
  const { traceId } = props;
  const [cols, setCols] = useState<EventColumns | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [time, setTime] = useMaybeControlled<number | null>(props.time, props.onTimeChange as ((v: number | null) => void) | undefined, null);
  const [compare, setCompare] = useMaybeControlled<number | null>(props.compareTime, props.onCompareTimeChange, null);
  const [agent, setAgent] = useMaybeControlled<string | null>(props.selectedAgentId, props.onSelectAgent as ((v: string | null) => void) | undefined, null);
  const [eventSeq, setEventSeq] = useState<number | null>(null);

  useEffect(() => {
    const ac = new AbortController();
    setError(null);
    loadColumns(traceId, ac.signal)
      .then((c) => { setCols(c); })
      .catch((e: unknown) => { if (!ac.signal.aborted) setError(e instanceof Error ? e.message : String(e)); });
    return () => ac.abort();
  }, [traceId, props.reloadKey]);

  if (error) return <section className="panel timeline-panel"><p className="tt-error" role="alert">{error}</p></section>;
  if (!cols || cols.traceId !== traceId) return <section className="panel timeline-panel"><p className="muted" style={{ padding: 12 }}>Loading timeline…</p></section>;
  const start = cols.count ? cols.ts[0]! : 0;
  const end = cols.count ? cols.ts[cols.count - 1]! : 0;

  return (
    <section className="panel timeline-panel" data-testid="timeline-panel" data-events={cols.count}>
      <header className="panel-head" style={{ padding: '8px 12px' }}>
        <h2>Timeline <span className="muted mono">{cols.count.toLocaleString('en-US')} events · {cols.agents.length} agents</span></h2>
      </header>
      <Timeline
        columns={cols}
        selectedAgentId={agent}
        selectedEventSeq={props.selectedEventSeq ?? eventSeq}
        cursorTime={time}
        compareTime={compare}
        onSelectAgent={(a) => setAgent(a)}
        onSelectEvent={(seq, a) => { setEventSeq(seq); props.onSelectEvent?.(seq, a, tsOfSeq(cols, seq)); }}
        onCursorChange={(t) => setTime(t)}
      />
      <TimeTravel
        traceId={traceId}
        traceStart={start}
        traceEnd={end}
        time={time}
        compareTime={compare}
        onTimeChange={(t) => setTime(t)}
        onCompareTimeChange={(t) => setCompare(t)}
        agents={cols.agents}
        selectedAgentId={agent}
        onSelectAgent={(a) => setAgent(a)}
      />
    </section>
  );
}
