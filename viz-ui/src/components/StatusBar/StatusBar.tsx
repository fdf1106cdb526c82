// Connection status and counters. The status text is the raw WsStatus value
// ("live" when connected) so scripts and tests can read it as is; the dot
// colour is CSS only.
import type { WsStatus } from '../../lib/types';
import './StatusBar.css';

export interface StatusBarProps {
  status: WsStatus;
  totalEvents: number;
  lastSeq: number | null;
  /** Latest REST or stream error to show, if any. */
  error: string | null;
}

export function StatusBar({ status, totalEvents, lastSeq, error }: StatusBarProps) {
  return (
    <div className="status-bar" data-testid="status-bar">
      <span className={`ws-dot ws-${status}`} aria-hidden="true" />
      <span data-testid="ws-status" className="ws-text">{status}</span>
      <span className="muted">
        <span data-testid="total-events">{totalEvents.toLocaleString()}</span> events received
      </span>
      {lastSeq !== null && <span className="muted mono">seq {lastSeq}</span>}
      {error && (
        <span className="status-error" role="alert" data-testid="status-error" title={error}>
          {error}
        </span>
      )}
    </div>
  );
}
