// TimeTravel's markup before any state is loaded: the controls the e2e test
// and users rely on are there, with every speed from 1x to 100x.
import { describe, expect, it } from 'vitest';
import { attrs, render } from '../../test/render';
import type { TimeTravelSource } from '../../lib/timeTravel';
import { TimeTravel } from './TimeTravel';

const never: TimeTravelSource = {
  snapshots: () => new Promise(() => {}),
  snapshot: () => new Promise(() => {}),
  events: () => new Promise(() => {}),
};

const props = {
  traceId: 'tr', traceStart: 1_000_000, traceEnd: 6_000_000, time: 3_500_000, compareTime: null,
  onTimeChange: () => {}, onCompareTimeChange: () => {}, source: never,
};

describe('TimeTravel', () => {
  it('has play, speeds 1x-100x, a slider and the time relative to the trace', () => {
    const html = render(<TimeTravel {...props} />);
    expect(attrs(html, 'time-travel', 'data-testid')).toEqual(['time-travel']);
    expect(html).toContain('data-testid="play-button"');
    expect(html.match(/<option value="(\d+)"/g)?.map((o) => Number(/\d+/.exec(o)![0]))).toEqual([1, 2, 5, 10, 25, 50, 100]);
    expect(attrs(html, 'time-slider', 'value')).toEqual(['3500000']);
    expect(html).toContain('+2.500 s');
    expect(html).not.toContain('data-testid="diff-view"');
  });
  it('shows the diff view only with a compare time', () => {
    const html = render(<TimeTravel {...props} compareTime={2_000_000} />);
    expect(attrs(html, 'diff-view', 'data-testid')).toEqual(['diff-view']);
    expect(html).toContain('at +1.000 s');
    expect(html).toContain('at +2.500 s');
  });
});
