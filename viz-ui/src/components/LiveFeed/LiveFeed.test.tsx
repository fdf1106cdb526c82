// Markup contract of LiveFeed: one item per event with its type and level.
import { describe, expect, it } from 'vitest';
import { LiveFeed } from './LiveFeed';
import { attrs, render } from '../../test/render';
import type { TraceEvent } from '../../lib/types';

const ev = (seq: number, over: Partial<TraceEvent> = {}): TraceEvent => ({
  id: String(seq), seq, traceId: 'tr', agentId: 'coder-1', eventType: 'task.started',
  timestamp: 1_764_280_000_123_456, level: 'info', message: 'm', metadata: null, spanId: null,
  parentId: null, duration: null, count: 1, stackTrace: null, ...over,
});

describe('LiveFeed', () => {
  it('renders each event with data-event-type and a level class', () => {
    const html = render(
      <LiveFeed events={[ev(2, { eventType: 'task.failed', level: 'error' }), ev(1)]} traceId={null} />,
    );
    expect(html).toContain('data-testid="live-feed"');
    expect(attrs(html, 'feed-event', 'data-event-type')).toEqual(['task.failed', 'task.started']);
    expect(attrs(html, 'feed-event', 'class')[0]).toContain('level-error');
    expect(html).toMatch(/\d\d:\d\d:\d\d\.123/);
  });

  it('hides the trace column when filtered to one trace', () => {
    expect(render(<LiveFeed events={[ev(1)]} traceId="tr" />)).not.toContain('with-trace');
  });

  it('marks the selected event and the selected agent\'s events', () => {
    const html = render(
      <LiveFeed events={[ev(3), ev(2, { agentId: 'tester-1' }), ev(1)]} traceId="tr" selectedSeq={3} selectedAgent="coder-1" />,
    );
    expect(attrs(html, 'feed-event', 'class').map((c) => c.split(' ').filter((x) => x === 'selected' || x === 'agent-match'))).toEqual([
      ['selected'],
      [],
      ['agent-match'],
    ]);
    expect(attrs(html, 'feed-event', 'data-seq')).toEqual(['3', '2', '1']);
  });
});
