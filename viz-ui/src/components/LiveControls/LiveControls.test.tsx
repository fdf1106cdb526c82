// Markup contract of LiveControls: test ids, pressed states, held count.
import { describe, expect, it } from 'vitest';
import { LiveControls } from './LiveControls';
import { attrs, render, text } from '../../test/render';

const noop = () => {};

describe('LiveControls', () => {
  it('shows following and live by default, no held count', () => {
    const html = render(<LiveControls following paused={false} buffered={0} overflow={false} onToggleFollow={noop} onTogglePause={noop} />);
    expect(attrs(html, 'follow-toggle', 'aria-pressed')).toEqual(['true']);
    expect(attrs(html, 'pause-toggle', 'aria-pressed')).toEqual(['false']);
    expect(html).not.toContain('held-count');
  });

  it('shows what a pause holds back, or that it overflowed', () => {
    const html = render(<LiveControls following={false} paused buffered={1234} overflow={false} onToggleFollow={noop} onTogglePause={noop} />);
    expect(text(html, 'held-count')).toBe('1,234 held');
    expect(text(html, 'pause-toggle')).toBe('▶ Resume');
    const over = render(<LiveControls following={false} paused buffered={0} overflow onToggleFollow={noop} onTogglePause={noop} />);
    expect(text(over, 'held-count')).toMatch(/resume reloads/);
  });
});
