// Markup contract of AgentDetails: current task, metrics, errors with their
// stack traces, messages in and out, the selected event marked.
import { describe, expect, it } from 'vitest';
import { AgentDetails } from './AgentDetails';
import { attrs, render } from '../../test/render';
import { deriveAgentDetails } from '../../lib/agentDetails';
import type { GraphNode } from '../../lib/graph';
import type { TraceEvent } from '../../lib/types';

const T0 = 1_764_280_000_000_000;
const ev = (seq: number, agentId: string, eventType: string, over: Partial<TraceEvent> = {}): TraceEvent => ({
  id: String(seq), seq, traceId: 'tr', agentId, eventType, timestamp: T0 + seq * 1000, level: 'info', message: `m${seq}`,
  metadata: null, spanId: null, parentId: null, duration: null, count: 1, stackTrace: null, ...over,
});
const node: GraphNode = {
  id: 'coder-1', name: 'coder-1', type: 'coder', status: 'error', stopped: false,
  metrics: { eventCount: 42, errorCount: 1, tasksCompleted: 5, tasksFailed: 2 },
};
const events = [
  ev(1, 'coordinator', 'message.sent', { metadata: { to: 'coder-1', msgId: 'x' }, message: 'do t-7' }),
  ev(2, 'coder-1', 'message.received', { metadata: { from: 'coordinator', msgId: 'x' }, message: '' }),
  ev(3, 'coder-1', 'task.started', { metadata: { taskId: 't-7' }, spanId: 's7' }),
  ev(4, 'coder-1', 'agent.error', { level: 'error', message: 'boom', stackTrace: 'at f (a.c:1)' }),
  ev(5, 'coder-1', 'message.sent', { metadata: { to: 'tester-1', msgId: 'y' }, message: 'test t-7' }),
];

describe('AgentDetails', () => {
  it('shows task, metrics, errors with stacks, messages and the selected event', () => {
    const html = render(
      <AgentDetails agent="coder-1" node={node} details={deriveAgentDetails('coder-1', events)} selectedEvent={4} now={T0 + 10_000}
        onSelectEvent={() => {}} onClose={() => {}} />,
    );
    expect(attrs(html, 'agent-details', 'data-agent')).toEqual(['coder-1']);
    expect(html).toMatch(/data-testid="current-task"[\s\S]*t-7[\s\S]*\(7\.0ms\)/);
    expect(html).toMatch(/<dt>events<\/dt><dd class="mono">42<\/dd>/);
    expect(html).toContain('<pre class="stack" data-testid="stack-trace">at f (a.c:1)</pre>');
    expect(html).toMatch(/data-testid="message-in"[\s\S]*← coordinator[\s\S]*do t-7/);
    expect(html).toMatch(/data-testid="message-out"[\s\S]*→ tester-1[\s\S]*test t-7/);
    expect(attrs(html, 'agent-event', 'data-seq')).toEqual(['5', '4', '3', '2']);
    expect(attrs(html, 'agent-event', 'class')[1]).toContain('selected');
  });

  it('says idle without a task and hides the error block without errors', () => {
    const html = render(
      <AgentDetails agent="a" node={null} details={deriveAgentDetails('a', [])} selectedEvent={null} now={null}
        onSelectEvent={() => {}} onClose={() => {}} />,
    );
    expect(html).toContain('idle — no task running');
    expect(html).not.toContain('data-testid="agent-error"');
    expect(html).toContain('No events for this agent.');
  });
});
