// Tests of the URL-backed view state: round trips, hostile input, kept
// foreign keys and the consistency rules of the transitions.
import { describe, expect, it } from 'vitest';
import {
  EMPTY_VIEW,
  isNavigation,
  parseViewState,
  sameView,
  selectAgent,
  selectEvent,
  selectTrace,
  serializeViewState,
  setTime,
  type ViewState,
} from './viewState';

const T = 1_764_280_000_123_456;
const full: ViewState = { trace: 'swarm-1', agent: 'coder-1', event: 4711, t: T, t2: T + 5_000_000 };

describe('viewState: URL', () => {
  it('round-trips every field', () => {
    const s = serializeViewState(full);
    expect(s).toBe(`?trace=swarm-1&agent=coder-1&event=4711&t=${T}&t2=${T + 5_000_000}`);
    expect(parseViewState(s)).toEqual(full);
  });

  it('serializes the empty view as an empty query', () => {
    expect(serializeViewState(EMPTY_VIEW)).toBe('');
    expect(parseViewState('')).toEqual(EMPTY_VIEW);
  });

  it('escapes names and parses them back', () => {
    const v = { ...EMPTY_VIEW, trace: 'a b&c=d', agent: 'agent/1?x' };
    expect(parseViewState(serializeViewState(v))).toEqual(v);
  });

  it('turns bad numbers into null instead of NaN', () => {
    const v = parseViewState('?trace=x&event=12abc&t=-5&t2=1e9');
    expect(v).toEqual({ trace: 'x', agent: null, event: null, t: null, t2: null });
    expect(parseViewState('?trace=x&t=99999999999999999999').t).toBeNull(); // beyond 2^53
  });

  it('drops agent and event without a trace, and blank names', () => {
    expect(parseViewState('?agent=coder-1&event=3&t=7')).toEqual({ ...EMPTY_VIEW, t: 7 });
    expect(parseViewState('?trace=%20%20&agent=')).toEqual(EMPTY_VIEW);
  });

  it('keeps query keys it does not own (the auth token)', () => {
    const s = serializeViewState({ ...EMPTY_VIEW, trace: 't1' }, '?token=s3cret&trace=old&agent=gone');
    expect(s).toBe('?token=s3cret&trace=t1');
  });

  it('rounds fractional times', () => {
    expect(serializeViewState({ ...EMPTY_VIEW, t: 10.6 })).toBe('?t=11');
  });
});

describe('viewState: transitions', () => {
  it('a new trace clears agent, event and times', () => {
    expect(selectTrace(full, 'swarm-2')).toEqual({ ...EMPTY_VIEW, trace: 'swarm-2' });
    expect(selectTrace(full, 'swarm-1')).toBe(full); // unchanged object: no re-render
  });

  it('selecting an agent clears an event of another, clicking it again deselects', () => {
    const v = selectAgent(full, 'tester-1');
    expect(v).toMatchObject({ agent: 'tester-1', event: null, t: T });
    expect(selectAgent(v, 'tester-1').agent).toBeNull();
    expect(selectAgent(EMPTY_VIEW, 'coder-1')).toBe(EMPTY_VIEW); // no trace, no agent
  });

  it('selecting an event brings its agent, trace and time', () => {
    const v = selectEvent({ ...EMPTY_VIEW, trace: 'swarm-1' }, { seq: 9, agentId: 'a', timestamp: 42, traceId: 'swarm-1' });
    expect(v).toEqual({ trace: 'swarm-1', agent: 'a', event: 9, t: 42, t2: null });
    expect(selectEvent(v, null)).toEqual({ ...v, event: null });
    const other = selectEvent({ ...v, t2: 5 }, { seq: 3, agentId: 'b', timestamp: 7, traceId: 'swarm-2' });
    expect(other).toEqual({ trace: 'swarm-2', agent: 'b', event: 3, t: 7, t2: null });
  });

  it('setTime rounds and keeps identity when nothing changes', () => {
    const v = { ...full, t: 10 };
    expect(setTime(v, 10.3)).toBe(v);
    expect(setTime(full, 5, null)).toMatchObject({ t: 5, t2: null });
  });

  it('only a trace change is a navigation', () => {
    expect(isNavigation(full, selectAgent(full, 'x'))).toBe(false);
    expect(isNavigation(full, selectTrace(full, 'y'))).toBe(true);
    expect(sameView(full, { ...full })).toBe(true);
    expect(sameView(full, { ...full, t2: null })).toBe(false);
  });
});
