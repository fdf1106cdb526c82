// Markup contract of TraceList: the test ids and attributes scripts rely on.
import { describe, expect, it } from 'vitest';
import { TraceList } from './TraceList';
import { attrs, render } from '../../test/render';
import type { TraceSummary } from '../../lib/types';

const t = (id: string, over: Partial<TraceSummary> = {}): TraceSummary => ({
  id, sessionId: 's', startTime: 1_764_280_000_000_000, endTime: null, status: 'active',
  agentCount: 2, eventCount: 5, errorCount: 0, durationUs: null, ...over,
});

describe('TraceList', () => {
  it('renders a row per trace with its id, and error badges only when needed', () => {
    const html = render(
      <TraceList
        traces={[t('a', { errorCount: 3, status: 'error', durationUs: 2e6 }), t('b')]}
        selectedId="b"
        onSelect={() => {}}
      />,
    );
    expect(html).toContain('data-testid="trace-list"');
    expect(attrs(html, 'trace-row', 'data-trace-id')).toEqual(['a', 'b']);
    expect(attrs(html, 'error-badge', 'class')).toHaveLength(1);
    expect(attrs(html, 'status-badge', 'class')).toEqual(['badge status-error', 'badge status-active']);
    expect(html).toContain('2.00s');
    expect(html).toMatch(/class="selected"[^>]*data-trace-id="b"|data-trace-id="b"[^>]*class="selected"/);
  });

  it('disables "All traces" when nothing is selected', () => {
    const html = render(<TraceList traces={[]} selectedId={null} onSelect={() => {}} />);
    expect(html).toMatch(/data-testid="all-traces"[^>]*disabled/);
    expect(html).toContain('No traces yet.');
  });
});
