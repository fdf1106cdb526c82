// StatusBar's ws-status text must be exactly the status word.
import { describe, expect, it } from 'vitest';
import { StatusBar } from './StatusBar';
import { render, text } from '../../test/render';

describe('StatusBar', () => {
  it('shows the raw status and the total', () => {
    const html = render(<StatusBar status="live" totalEvents={1234} lastSeq={9} error={null} />);
    expect(text(html, 'ws-status')).toBe('live');
    expect(text(html, 'total-events')).toBe((1234).toLocaleString());
    expect(html).not.toContain('status-error');
  });

  it('shows an error when given one', () => {
    const html = render(<StatusBar status="reconnecting" totalEvents={0} lastSeq={null} error="db busy" />);
    expect(text(html, 'ws-status')).toBe('reconnecting');
    expect(text(html, 'status-error')).toBe('db busy');
  });
});
