// Table of traces with search, status and time filters. Presentational:
// App owns the list (REST + live counts) and the filter; the filtering
// itself is lib/traceFilter.ts, so it is the same here and in tests.
import type { TraceSummary } from '../../lib/types';
import { formatDateTime, formatDuration, middleEllipsis } from '../../lib/format';
import { filterTraces, statusCounts, type StatusFilter, type TimeWindow, type TraceFilter } from '../../lib/traceFilter';
import './TraceList.css';

export interface TraceListProps {
  traces: TraceSummary[];
  selectedId: string | null;
  onSelect: (id: string | null) => void;
  filter?: TraceFilter;
  onFilter?: (f: TraceFilter) => void;
  /** Now in µs, for the time window (App ticks it). */
  nowUs?: number;
}

const NO_FILTER: TraceFilter = { q: '', status: 'all', window: 'all' };
const STATUS_OPTIONS: StatusFilter[] = ['all', 'active', 'completed', 'error'];
const WINDOW_OPTIONS: { value: TimeWindow; label: string }[] = [
  { value: 'all', label: 'any time' },
  { value: '5m', label: 'last 5 min' },
  { value: '1h', label: 'last hour' },
  { value: '24h', label: 'last 24 h' },
];

export function TraceList({ traces, selectedId, onSelect, filter = NO_FILTER, onFilter = () => {}, nowUs = 0 }: TraceListProps) {
  const shown = filterTraces(traces, filter, nowUs);
  const counts = statusCounts(traces, filter, nowUs);
  return (
    <section className="panel trace-list" data-testid="trace-list">
      <header className="panel-head">
        <h2>Traces</h2>
        <span className="muted" data-testid="trace-count">
          {shown.length === traces.length ? traces.length : `${shown.length} of ${traces.length}`}
        </span>
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
      <div className="trace-filters">
        <input
          type="search"
          data-testid="trace-search"
          placeholder="Search id or session…"
          aria-label="Search traces"
          value={filter.q}
          onChange={(e) => onFilter({ ...filter, q: e.target.value })}
        />
        <select
          data-testid="status-filter"
          aria-label="Status"
          value={filter.status}
          onChange={(e) => onFilter({ ...filter, status: e.target.value as StatusFilter })}
        >
          {STATUS_OPTIONS.map((s) => (
            <option key={s} value={s}>
              {s === 'all' ? 'all statuses' : s} ({counts[s]})
            </option>
          ))}
        </select>
        <select
          data-testid="time-filter"
          aria-label="Time"
          value={filter.window}
          onChange={(e) => onFilter({ ...filter, window: e.target.value as TimeWindow })}
        >
          {WINDOW_OPTIONS.map((w) => (
            <option key={w.value} value={w.value}>
              {w.label}
            </option>
          ))}
        </select>
      </div>
      <div className="panel-body">
        <table>
          <thead>
            <tr>
              <th>Trace</th>
              <th>Status</th>
              <th className="num">Agents</th>
              <th className="num">Events</th>
              <th className="num">Errors</th>
              <th>Started</th>
              <th className="num">Duration</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((t) => (
              <tr
                key={t.id}
                data-testid="trace-row"
                data-trace-id={t.id}
                data-status={t.status}
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
                <td className="mono" title={t.sessionId === t.id ? t.id : `${t.id}\nsession ${t.sessionId}`}>
                  {middleEllipsis(t.id, 22)}
                  {t.sessionId !== t.id && <span className="session muted">{t.sessionId}</span>}
                </td>
                <td>
                  <span className={`badge status-${t.status}`} data-testid="status-badge">
                    {t.status}
                  </span>
                </td>
                <td className="num" data-testid="agent-count">{t.agentCount}</td>
                <td className="num" data-testid="event-count">{t.eventCount.toLocaleString()}</td>
                <td className="num">
                  {t.errorCount > 0 ? (
                    <span className="badge errors" data-testid="error-badge" title={`${t.errorCount} error events`}>
                      {t.errorCount.toLocaleString()}
                    </span>
                  ) : (
                    <span className="muted">0</span>
                  )}
                </td>
                <td className="mono" title={formatDateTime(t.startTime)}>{formatDateTime(t.startTime).slice(11)}</td>
                <td className="num mono">{t.status === 'active' ? 'running' : formatDuration(t.durationUs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {traces.length === 0 && <p className="empty">No traces yet.</p>}
        {traces.length > 0 && shown.length === 0 && <p className="empty">No trace matches the filters.</p>}
      </div>
    </section>
  );
}
