// The live event list, newest first. Presentational: App passes the already
// filtered and bounded list from feed.ts, so this only formats rows.
import type { TraceEvent } from '../../lib/types';
import { formatClock } from '../../lib/format';
import './LiveFeed.css';

export interface LiveFeedProps {
  events: TraceEvent[];
  /** The trace the feed is filtered to, or null for all traces. */
  traceId: string | null;
  /** Linked views: the selected event and agent are highlighted here too. */
  selectedSeq?: number | null;
  selectedAgent?: string | null;
  onSelectEvent?: (e: TraceEvent) => void;
  paused?: boolean;
}

function rowClass(e: TraceEvent, traceId: string | null, selectedSeq: number | null, selectedAgent: string | null): string {
  let c = `feed-row level-${e.level}`;
  if (traceId === null) c += ' with-trace';
  if (e.seq === selectedSeq) c += ' selected';
  else if (selectedAgent !== null && e.agentId === selectedAgent) c += ' agent-match';
  return c;
}

export function LiveFeed({ events, traceId, selectedSeq = null, selectedAgent = null, onSelectEvent, paused = false }: LiveFeedProps) {
  return (
    <section className="panel live-feed" data-testid="live-feed">
      <header className="panel-head">
        <h2>Live feed</h2>
        <span className="muted">{traceId === null ? 'all traces' : traceId}</span>
        {paused && <span className="badge paused-badge">paused</span>}
        <span className="muted feed-count">{events.length} shown</span>
      </header>
      <div className="panel-body">
        <ol className="feed-list">
          {events.map((e) => (
            <li
              key={e.seq}
              className={rowClass(e, traceId, selectedSeq, selectedAgent)}
              data-testid="feed-event"
              data-event-type={e.eventType}
              data-seq={e.seq}
              data-agent={e.agentId}
              onClick={onSelectEvent ? () => onSelectEvent(e) : undefined}
              title={e.stackTrace ?? undefined}
            >
              <time className="mono">{formatClock(e.timestamp)}</time>
              {traceId === null && (
                <span className="trace mono" title={e.traceId}>{e.traceId}</span>
              )}
              <span className="agent">{e.agentId}</span>
              <span className="type mono">{e.eventType}</span>
              <span className="level">{e.level}</span>
              <span className="message">{e.message}</span>
            </li>
          ))}
        </ol>
        {events.length === 0 && <p className="empty">Waiting for events…</p>}
      </div>
    </section>
  );
}
