// Tests of the trace list's search, status and time filters.
import { describe, expect, it } from 'vitest';
import { NO_FILTER, filterTraces, inWindow, matchesQuery, statusCounts } from './traceFilter';
import type { TraceSummary } from './types';

const NOW = 1_764_280_000_000_000;
const t = (id: string, over: Partial<TraceSummary> = {}): TraceSummary => ({
  id, sessionId: 'demo', startTime: NOW - 60e6, endTime: null, status: 'active',
  agentCount: 3, eventCount: 10, errorCount: 0, durationUs: null, ...over,
});

const traces = [
  t('swarm-ring-1'),
  t('swarm-mesh-2', { status: 'completed', endTime: NOW - 2 * 3600e6, startTime: NOW - 3 * 3600e6 }),
  t('swarm-star-3', { status: 'error', sessionId: 'nightly', endTime: NOW - 120e6 }),
];
const ids = (ts: TraceSummary[]) => ts.map((x) => x.id);

describe('traceFilter', () => {
  it('shows everything without a filter', () => {
    expect(ids(filterTraces(traces, NO_FILTER, NOW))).toEqual(['swarm-ring-1', 'swarm-mesh-2', 'swarm-star-3']);
  });

  it('searches id and session, every term, any case', () => {
    expect(ids(filterTraces(traces, { ...NO_FILTER, q: 'MESH' }, NOW))).toEqual(['swarm-mesh-2']);
    expect(ids(filterTraces(traces, { ...NO_FILTER, q: 'nightly star' }, NOW))).toEqual(['swarm-star-3']);
    expect(ids(filterTraces(traces, { ...NO_FILTER, q: 'nightly ring' }, NOW))).toEqual([]);
    expect(matchesQuery(traces[0]!, '   ')).toBe(true);
  });

  it('filters by status', () => {
    expect(ids(filterTraces(traces, { ...NO_FILTER, status: 'error' }, NOW))).toEqual(['swarm-star-3']);
    expect(ids(filterTraces(traces, { ...NO_FILTER, status: 'completed' }, NOW))).toEqual(['swarm-mesh-2']);
  });

  it('keeps traces that ran inside the window; active ones always', () => {
    expect(ids(filterTraces(traces, { ...NO_FILTER, window: '5m' }, NOW))).toEqual(['swarm-ring-1', 'swarm-star-3']);
    expect(ids(filterTraces(traces, { ...NO_FILTER, window: '24h' }, NOW))).toHaveLength(3);
    expect(inWindow(t('old', { startTime: 0, status: 'active' }), '5m', NOW)).toBe(true);
  });

  it('counts per status after search and window', () => {
    expect(statusCounts(traces, NO_FILTER, NOW)).toEqual({ all: 3, active: 1, completed: 1, error: 1 });
    expect(statusCounts(traces, { ...NO_FILTER, window: '1h', status: 'active' }, NOW)).toEqual({ all: 2, active: 1, completed: 0, error: 1 });
  });
});
