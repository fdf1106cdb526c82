// Everything about the selected agent: status, current task, metrics,
// errors with their stack traces, messages in and out, latest events.
// Presentational: App derives `details` (lib/agentDetails.ts) from REST and
// live events; clicking an event selects it in every view.
import type { AgentDetails as Details, AgentMessage } from '../../lib/agentDetails';
import type { GraphNode } from '../../lib/graph';
import type { TraceEvent } from '../../lib/types';
import { formatClock, formatDuration } from '../../lib/format';
import './AgentDetails.css';

export interface AgentDetailsProps {
  agent: string;
  node: GraphNode | null;
  details: Details;
  selectedEvent: number | null;
  /** Time of the newest event known, for "running for". */
  now: number | null;
  loading?: boolean;
  onSelectEvent: (e: TraceEvent) => void;
  onClose: () => void;
}

export function AgentDetails({ agent, node, details, selectedEvent, now, loading = false, onSelectEvent, onClose }: AgentDetailsProps) {
  const { currentTask, errors, messagesIn, messagesOut, recent } = details;
  const m = node?.metrics;
  return (
    <section className="panel agent-details" data-testid="agent-details" data-agent={agent}>
      <header className="panel-head">
        <h2 className="mono">{agent}</h2>
        {node?.type && <span className="badge agent-type">{node.type}</span>}
        {node && (
          <span className={`badge agent-status status-${node.status}`} data-testid="agent-status">
            {node.status}
            {node.stopped ? ' · stopped' : ''}
          </span>
        )}
        <button type="button" className="close" data-testid="agent-details-close" onClick={onClose} title="Close (deselect the agent)">
          ✕
        </button>
      </header>
      <div className="panel-body details-body">
        <div className="details-row">
          <div className="current-task" data-testid="current-task">
            <h3>Current task</h3>
            {currentTask ? (
              <p>
                <span className="mono task-id">{currentTask.taskId}</span>
                <span className="muted">
                  {' '}since {formatClock(currentTask.since)}
                  {now !== null && now >= currentTask.since ? ` (${formatDuration(now - currentTask.since)})` : ''}
                </span>
                {currentTask.message && <span className="task-msg">{currentTask.message}</span>}
              </p>
            ) : (
              <p className="muted">{loading ? 'Loading…' : 'idle — no task running'}</p>
            )}
          </div>
          <dl className="metrics" data-testid="agent-metrics">
            <Metric label="events" value={m?.eventCount} />
            <Metric label="errors" value={m?.errorCount} bad={(m?.errorCount ?? 0) > 0} />
            <Metric label="tasks done" value={m?.tasksCompleted} />
            <Metric label="tasks failed" value={m?.tasksFailed} bad={(m?.tasksFailed ?? 0) > 0} />
            <Metric label="msgs in" value={messagesIn.length} />
            <Metric label="msgs out" value={messagesOut.length} />
          </dl>
        </div>

        {errors.length > 0 && (
          <div className="errors">
            <h3>Errors</h3>
            {errors.map((e) => (
              <details key={e.seq} className="agent-error" data-testid="agent-error" open={errors[0] === e}>
                <summary>
                  <time className="mono">{formatClock(e.timestamp)}</time> <span className="mono">{e.eventType}</span> {e.message}
                </summary>
                {e.stackTrace ? <pre className="stack" data-testid="stack-trace">{e.stackTrace}</pre> : <p className="muted">no stack trace</p>}
              </details>
            ))}
          </div>
        )}

        <div className="messages">
          <MessageList title="Messages in" dir="in" items={messagesIn} />
          <MessageList title="Messages out" dir="out" items={messagesOut} />
        </div>

        <h3>Recent events</h3>
        <ol className="agent-events">
          {recent.map((e) => (
            <li
              key={e.seq}
              data-testid="agent-event"
              data-seq={e.seq}
              className={`level-${e.level}${e.seq === selectedEvent ? ' selected' : ''}`}
              tabIndex={0}
              onClick={() => onSelectEvent(e)}
              onKeyDown={(k) => {
                if (k.key === 'Enter') onSelectEvent(e);
              }}
            >
              <time className="mono">{formatClock(e.timestamp)}</time>
              <span className="mono type">{e.eventType}</span>
              <span className="message">{e.message}</span>
            </li>
          ))}
        </ol>
        {recent.length === 0 && <p className="empty">{loading ? 'Loading…' : 'No events for this agent.'}</p>}
      </div>
    </section>
  );
}

function Metric({ label, value, bad = false }: { label: string; value: number | undefined; bad?: boolean }) {
  return (
    <div className={bad ? 'bad' : undefined}>
      <dt>{label}</dt>
      <dd className="mono">{value === undefined ? '—' : value.toLocaleString()}</dd>
    </div>
  );
}

function MessageList({ title, dir, items }: { title: string; dir: 'in' | 'out'; items: AgentMessage[] }) {
  return (
    <div className="message-list">
      <h3>
        {title} <span className="muted">{items.length}</span>
      </h3>
      <ul>
        {items.map((m) => (
          <li key={m.seq} data-testid={`message-${dir}`}>
            <time className="mono">{formatClock(m.timestamp)}</time>
            <span className="peer">{dir === 'in' ? `← ${m.peer}` : `→ ${m.peer}`}</span>
            <span className="text" title={m.msgId ?? undefined}>{m.text || <span className="muted">{m.msgId}</span>}</span>
          </li>
        ))}
        {items.length === 0 && <li className="muted none">none</li>}
      </ul>
    </div>
  );
}
