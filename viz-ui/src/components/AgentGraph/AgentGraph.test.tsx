// Markup contract of AgentGraph before D3 runs (server render): the panel,
// its counts, the topology badge and the legend. What D3 draws is covered
// by the browser test (test/e2e/ui_views.test.mjs).
import { describe, expect, it } from 'vitest';
import { AgentGraph, linkText } from './AgentGraph';
import { attrs, render } from '../../test/render';
import { graphFromRest, withAnnounced, type GraphResponse } from '../../lib/graph';

const metrics = { eventCount: 3, errorCount: 0, tasksCompleted: 0, tasksFailed: 0 };
const res: GraphResponse = {
  nodes: ['coordinator', 'a', 'b'].map((id) => ({ id, name: id, type: id === 'coordinator' ? 'coordinator' : 'coder', status: 'busy' as const, metrics })),
  links: [
    { source: 'coordinator', target: 'a', type: 'communication', messageCount: 3, latency: 1500, delivered: 3 },
    { source: 'coordinator', target: 'b', type: 'communication', messageCount: 1, latency: null, delivered: 0 },
  ],
};

describe('AgentGraph', () => {
  it('names the counts and the announced topology', () => {
    const html = render(<AgentGraph model={withAnnounced(graphFromRest('tr', res, 0), 'star')} selectedAgent={null} onSelectAgent={() => {}} />);
    expect(html).toContain('data-testid="agent-graph"');
    expect(html).toContain('3 agents · 2 links');
    expect(attrs(html, 'topology', 'data-topology')).toEqual(['star']);
    expect(html).toMatch(/title="announced by the swarm/);
    for (const label of ['active', 'busy', 'idle', 'error', 'communication', 'coordination', 'dependency']) expect(html).toContain(label);
  });

  it('asks for a trace when there is none', () => {
    const html = render(<AgentGraph model={graphFromRest('tr', { nodes: [], links: [] }, 0)} selectedAgent={null} onSelectAgent={() => {}} />);
    expect(html).toContain('Select a trace to see its agents.');
    expect(html).not.toContain('data-testid="topology"');
  });

  it('describes a link with its count and mean latency', () => {
    const g = graphFromRest('tr', res, 0);
    const [withLatency, without] = [...g.links.values()];
    expect(linkText(withLatency!)).toBe('coordinator → a · communication · 3 messages · mean latency 1.5ms');
    expect(linkText(without!)).toBe('coordinator → b · communication · 1 message');
  });
});
