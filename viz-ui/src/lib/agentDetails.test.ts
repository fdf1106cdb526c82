// Tests of the agent details derivation: current task across starts and
// ends, errors with stacks, messages in/out with text from the sender, the
// time cut and dedupe of REST + live overlap.
import { describe, expect, it } from 'vitest';
import { RECENT_MAX, deriveAgentDetails, uniqueBySeq } from './agentDetails';
import type { TraceEvent } from './types';

const T0 = 1_764_280_000_000_000;
let seq = 1;
const ev = (agentId: string, eventType: string, metadata: Record<string, unknown> | null = null, over: Partial<TraceEvent> = {}): TraceEvent => {
  const s = seq++;
  return {
    id: String(s), seq: s, traceId: 'tr', agentId, eventType, timestamp: T0 + s * 1000, level: 'info',
    message: `${eventType} ${s}`, metadata, spanId: null, parentId: null, duration: null, count: 1, stackTrace: null, ...over,
  };
};

describe('agentDetails', () => {
  it('tracks the running task through start, other task ends and completion', () => {
    const start = ev('coder-1', 'task.started', { taskId: 't-1' }, { spanId: 's1' });
    const otherEnd = ev('coder-1', 'task.completed', { taskId: 't-0' }, { spanId: 's0' });
    let d = deriveAgentDetails('coder-1', [start, otherEnd]);
    expect(d.currentTask).toMatchObject({ taskId: 't-1', since: start.timestamp, spanId: 's1' });
    const done = ev('coder-1', 'task.completed', { taskId: 't-1' }, { spanId: 's1' });
    d = deriveAgentDetails('coder-1', [done, start, otherEnd]); // any order
    expect(d.currentTask).toBeNull();
    // at a cursor before the completion the task is still running
    expect(deriveAgentDetails('coder-1', [start, done], done.timestamp - 1).currentTask?.taskId).toBe('t-1');
  });

  it('lists errors with their stack traces, newest first', () => {
    const e1 = ev('coder-1', 'agent.error', null, { level: 'error', stackTrace: 'at parse (p.c:10)' });
    const e2 = ev('coder-1', 'custom.crash', null, { level: 'error', stackTrace: 'at run (r.c:3)' });
    const warn = ev('coder-1', 'task.failed', { taskId: 'x' }, { level: 'warn' });
    const d = deriveAgentDetails('coder-1', [e1, warn, e2, ev('other', 'agent.error', null, { level: 'error' })]);
    expect(d.errors.map((e) => e.stackTrace)).toEqual(['at run (r.c:3)', 'at parse (p.c:10)']);
  });

  it('splits messages in and out, taking the text from the sender', () => {
    const sent = ev('coordinator', 'message.sent', { to: 'coder-1', msgId: 'm1' }, { message: 'please do t-1' });
    const recv = ev('coder-1', 'message.received', { from: 'coordinator', msgId: 'm1' }, { message: '' });
    const out = ev('coder-1', 'message.sent', { to: 'tester-1', msgId: 'm2' }, { message: 'test t-1' });
    const d = deriveAgentDetails('coder-1', [sent, recv, out]);
    expect(d.messagesIn).toEqual([{ seq: recv.seq, timestamp: recv.timestamp, peer: 'coordinator', msgId: 'm1', text: 'please do t-1' }]);
    expect(d.messagesOut.map((m) => [m.peer, m.text])).toEqual([['tester-1', 'test t-1']]);
    expect(d.recent.map((e) => e.seq)).toEqual([out.seq, recv.seq]);
  });

  it('dedupes REST and live overlap, and bounds the recent list', () => {
    const many = Array.from({ length: RECENT_MAX + 5 }, () => ev('a', 'custom.thinking'));
    const d = deriveAgentDetails('a', [...many, ...many.slice(-10)]);
    expect(d.recent).toHaveLength(RECENT_MAX);
    expect(d.recent[0]!.seq).toBe(many.at(-1)!.seq);
    expect(uniqueBySeq([many[1]!, many[0]!, many[1]!]).map((e) => e.seq)).toEqual([many[0]!.seq, many[1]!.seq]);
  });
});
