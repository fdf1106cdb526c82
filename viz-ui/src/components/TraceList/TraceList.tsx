// Table of traces. Presentational only: it gets the list and the selection
// from App and reports clicks back, so it renders the same from REST, from
// the stream or from a test.
import type { TraceSummary } from '../../lib/types';
import { formatDateTime, formatDuration } from '../../lib/format';
import './TraceList.css';

export interface TraceListProps {
  traces: TraceSummary[];
  selectedId: string | null;
  onSelect: (id: string | null) => void;
}

export function TraceList({ traces, selectedId, onSelect }: TraceListProps) {
  return (
    <section className="panel trace-list" data-testid="trace-list">
      <header className="panel-head">
        <h2>Traces</h2>
        <span className="muted">{traces.length}</span>
        <button
          type="button"
          className="toggle-all"
          data-testid="all-traces"
          onClick={() => onSelect(null)}
          disabled={selectedId === null}
          title="Show the live feed of every trace"
        >
          All traces
        </button>
      </header>
      <div className="panel-body">
        <table>
          <thead>
            <tr>
              <th>Trace</th>
              <th>Session</th>
              <th>Status</th>
              <th className="num">Agents</th>
              <th className="num">Events</th>
              <th className="num">Errors</th>
              <th>Started</th>
              <th className="num">Duration</th>
            </tr>
          </thead>
          <tbody>
            {traces.map((t) => (
              <tr
                key={t.id}
                data-testid="trace-row"
                data-trace-id={t.id}
                className={t.id === selectedId ? 'selected' : undefined}
                aria-selected={t.id === selectedId}
                tabIndex={0}
                onClick={() => onSelect(t.id)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    onSelect(t.id);
                  }
                }}
              >
                <td className="mono" title={t.id}>{t.id}</td>
                <td>{t.sessionId}</td>
                <td>
                  <span className={`badge status-${t.status}`} data-testid="status-badge">
                    {t.status}
                  </span>
                </td>
                <td className="num">{t.agentCount}</td>
                <td className="num">{t.eventCount.toLocaleString()}</td>
                <td className="num">
                  {t.errorCount > 0 ? (
                    <span className="badge errors" data-testid="error-badge">
                      {t.errorCount.toLocaleString()}
                    </span>
                  ) : (
                    <span className="muted">0</span>
                  )}
                </td>
                <td className="mono">{formatDateTime(t.startTime)}</td>
                <td className="num mono">{t.status === 'active' ? 'running' : formatDuration(t.durationUs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {traces.length === 0 && <p className="empty">No traces yet.</p>}
      </div>
    </section>
  );
}
