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

  it('filters rows by search, status and time, and says how many are shown', () => {
    const now = 1_764_280_000_000_000 + 3600e6;
    const traces = [t('ring-1'), t('mesh-2', { status: 'error', errorCount: 2 }), t('old-3', { status: 'completed', endTime: 1 })];
    const html = render(
      <TraceList traces={traces} selectedId={null} onSelect={() => {}} filter={{ q: '', status: 'all', window: '5m' }} nowUs={now} />,
    );
    expect(attrs(html, 'trace-row', 'data-trace-id')).toEqual(['ring-1', 'mesh-2']);
    expect(html).toContain('2 of 3');
    const byStatus = render(
      <TraceList traces={traces} selectedId={null} onSelect={() => {}} filter={{ q: 'MESH', status: 'error', window: 'all' }} nowUs={now} />,
    );
    expect(attrs(byStatus, 'trace-row', 'data-trace-id')).toEqual(['mesh-2']);
    expect(attrs(byStatus, 'trace-search', 'value')).toEqual(['MESH']);
    const none = render(
      <TraceList traces={traces} selectedId={null} onSelect={() => {}} filter={{ q: 'zzz', status: 'all', window: 'all' }} nowUs={now} />,
    );
    expect(none).toContain('No trace matches the filters.');
  });
});
