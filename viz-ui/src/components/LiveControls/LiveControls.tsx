// Live mode controls: "follow latest" (jump to the newest trace as it
// starts) and pause/resume of live updates, with how much is held back.
import './LiveControls.css';

export interface LiveControlsProps {
  following: boolean;
  paused: boolean;
  /** Events held back while paused. */
  buffered: number;
  /** The pause outgrew its buffer: resume reloads the gap from the collector. */
  overflow: boolean;
  onToggleFollow: () => void;
  onTogglePause: () => void;
}

export function LiveControls({ following, paused, buffered, overflow, onToggleFollow, onTogglePause }: LiveControlsProps) {
  return (
    <div className="live-controls" data-testid="live-controls" data-paused={paused} data-following={following}>
      <button
        type="button"
        data-testid="follow-toggle"
        className={following ? 'on' : undefined}
        aria-pressed={following}
        onClick={onToggleFollow}
        title="Follow latest: show each new trace as it starts"
      >
        {following ? '● Following latest' : '○ Follow latest'}
      </button>
      <button
        type="button"
        data-testid="pause-toggle"
        className={paused ? 'paused' : undefined}
        aria-pressed={paused}
        onClick={onTogglePause}
        title={paused ? 'Resume live updates (held events are applied)' : 'Pause live updates (nothing is lost)'}
      >
        {paused ? '▶ Resume' : '❚❚ Pause'}
      </button>
      {paused && (
        <span className="held" data-testid="held-count">
          {overflow ? 'many events held — resume reloads them' : `${buffered.toLocaleString()} held`}
        </span>
      )}
    </div>
  );
}
