// Tests of the graph derivation: REST import, live merge (new agents,
// status transitions, links and latency), dedupe against the REST base,
// topology recognition and the layout targets that make it visible.
import { describe, expect, it } from 'vitest';
import {
  applyGraphEvents,
  detectTopology,
  emptyGraph,
  graphFromRest,
  graphLinks,
  graphNodes,
  initialGraphState,
  layoutTargets,
  linkKey,
  meanLatency,
  reduceGraph,
  ringOrder,
  statusAfter,
  structuralTopology,
  withAnnounced,
  type GraphModel,
  type GraphResponse,
} from './graph';
import type { TraceEvent } from './types';

const T0 = 1_764_280_000_000_000;
let nextSeq = 100;
function ev(agentId: string, eventType: string, metadata: Record<string, unknown> | null = null, over: Partial<TraceEvent> = {}): TraceEvent {
  const seq = nextSeq++;
  return {
    id: String(seq), seq, traceId: 'tr', agentId, eventType, timestamp: T0 + seq * 1000, level: 'info',
    message: '', metadata, spanId: null, parentId: null, duration: null, count: 1, stackTrace: null, ...over,
  };
}

const metrics = { eventCount: 10, errorCount: 0, tasksCompleted: 2, tasksFailed: 0 };
const rest: GraphResponse = {
  nodes: [
    { id: 'coordinator', name: 'coordinator', type: 'coordinator', status: 'active', metrics },
    { id: 'coder-1', name: 'coder-1', type: 'coder', status: 'busy', metrics },
  ],
  links: [
    { source: 'coordinator', target: 'coder-1', type: 'communication', messageCount: 4, latency: 50, delivered: 4 },
    { source: 'coordinator', target: 'coder-1', type: 'dependency', messageCount: 1, latency: null },
  ],
};

/** A model whose communication links are the given undirected pairs. */
function shaped(pairs: [string, string][], types: Record<string, string> = {}, deps: [string, string][] = []): GraphModel {
  const ids = [...new Set(pairs.flat().concat(deps.flat()))];
  return graphFromRest('tr', {
    nodes: ids.map((id) => ({ id, name: id, type: types[id] ?? 'worker', status: 'idle' as const, metrics })),
    links: [
      ...pairs.map(([s, t]) => ({ source: s, target: t, type: 'communication' as const, messageCount: 3, latency: null })),
      ...deps.map(([s, t]) => ({ source: s, target: t, type: 'dependency' as const, messageCount: 1, latency: null })),
    ],
  }, 0);
}

describe('graph: REST and live merge', () => {
  it('imports the REST graph with mean latency kept', () => {
    const g = graphFromRest('tr', rest, 50);
    expect(graphNodes(g).map((n) => [n.id, n.status])).toEqual([['coder-1', 'busy'], ['coordinator', 'active']]);
    const comm = g.links.get(linkKey('communication', 'coordinator', 'coder-1'))!;
    expect(meanLatency(comm)).toBe(50);
    expect(meanLatency(g.links.get(linkKey('dependency', 'coordinator', 'coder-1'))!)).toBeNull();
  });

  it('takes "stopped" from the REST graph, so a finished trace opened later shows its agents stopped', () => {
    const done = { ...rest, nodes: rest.nodes.map((n) => ({ ...n, status: 'idle' as const, stopped: true })) };
    const g = graphFromRest('tr', done, 0);
    expect(graphNodes(g).every((n) => n.stopped)).toBe(true);
    // an older collector without the field: what live events said stays
    const live = applyGraphEvents(graphFromRest('tr', rest, 0), [ev('coder-1', 'agent.stopped')]);
    expect(live.nodes.get('coder-1')!.stopped).toBe(true);
    expect(graphFromRest('tr', rest, 1, live).nodes.get('coder-1')!.stopped).toBe(true);
  });

  it('adds an agent when it is created, typed and linked to its spawner', () => {
    const g = applyGraphEvents(graphFromRest('tr', rest, 0), [
      ev('tester-1', 'agent.created', { agentType: 'tester', spawnedBy: 'coordinator' }),
      ev('tester-1', 'agent.started'),
    ]);
    const n = g.nodes.get('tester-1')!;
    expect(n).toMatchObject({ type: 'tester', status: 'active', stopped: false });
    expect(n.metrics.eventCount).toBe(2);
    expect(g.links.get(linkKey('dependency', 'coordinator', 'tester-1'))!.messageCount).toBe(1);
  });

  it('follows status through a task, an error and a stop', () => {
    let g = graphFromRest('tr', rest, 0);
    const states: string[] = [];
    for (const type of ['task.started', 'task.completed', 'agent.error', 'task.started', 'task.failed', 'agent.stopped']) {
      g = applyGraphEvents(g, [ev('coder-1', type, null, { level: type === 'agent.error' ? 'error' : 'info' })]);
      states.push(g.nodes.get('coder-1')!.status);
    }
    expect(states).toEqual(['busy', 'active', 'error', 'busy', 'active', 'idle']);
    const n = g.nodes.get('coder-1')!;
    expect(n.stopped).toBe(true);
    expect(n.metrics).toEqual({ eventCount: 16, errorCount: 1, tasksCompleted: 3, tasksFailed: 1 });
    expect(statusAfter('custom.thinking', 'busy')).toBe('busy');
  });

  it('counts messages and measures latency whichever end arrives first', () => {
    const g0 = graphFromRest('tr', rest, 0);
    for (const receivedFirst of [false, true]) {
      // seq is commit order: the receiver's batch may be committed first
      const mk = () => ev('coordinator', 'message.sent', { to: 'coder-1', msgId: 'm1' }, { timestamp: T0 });
      const mkRecv = () => ev('coder-1', 'message.received', { from: 'coordinator', msgId: 'm1' }, { timestamp: T0 + 250 });
      const order = receivedFirst ? [mkRecv(), mk()] : [mk(), mkRecv()];
      const g = order.reduce((m, e) => applyGraphEvents(m, [e]), g0);
      const l = g.links.get(linkKey('communication', 'coordinator', 'coder-1'))!;
      expect(l.messageCount).toBe(5);
      expect(l.delivered).toBe(5);
      expect(meanLatency(l)).toBe((50 * 4 + 250) / 5);
      expect(g.pending.size).toBe(0);
    }
  });

  it('adds coordination links from assignments', () => {
    const g = applyGraphEvents(graphFromRest('tr', rest, 0), [ev('coordinator', 'task.assigned', { taskId: 't1', assignee: 'coder-1' })]);
    expect(g.links.get(linkKey('coordination', 'coordinator', 'coder-1'))!.messageCount).toBe(1);
  });

  it('skips events the REST graph already counted, of other traces, and replays', () => {
    const early = ev('coder-1', 'task.started');
    const g = graphFromRest('tr', rest, early.seq);
    expect(applyGraphEvents(g, [early])).toBe(g);
    expect(applyGraphEvents(g, [ev('x', 'agent.started', null, { traceId: 'other' })])).toBe(g);
    const late = ev('coder-1', 'task.completed');
    const g2 = applyGraphEvents(g, [late]);
    expect(applyGraphEvents(g2, [late])).toBe(g2); // replayed after a reconnect
    expect(g2.nodes.get('coder-1')!.metrics.tasksCompleted).toBe(3);
  });

  it('keeps pending and announced state across a REST refresh of the same trace', () => {
    let g = applyGraphEvents(graphFromRest('tr', rest, 0), [
      ev('coordinator', 'topology.changed', { topology: 'ring' }),
      ev('coordinator', 'message.sent', { to: 'coder-1', msgId: 'late' }),
    ]);
    expect(g.announced).toBe('ring');
    g = graphFromRest('tr', rest, g.baseSeq, g);
    expect(g.announced).toBe('ring');
    expect(g.pending.has('late')).toBe(true);
    expect(graphFromRest('other', rest, 0, g).announced).toBeNull();
  });

  it('ignores self links in what it draws', () => {
    const g = applyGraphEvents(emptyGraph('tr'), [ev('a', 'message.sent', { to: 'a', msgId: 'x' })]);
    expect(graphLinks(g)).toEqual([]);
    expect(graphNodes(g).map((n) => n.id)).toEqual(['a']);
  });
});

describe('graph: topology', () => {
  const hubPairs: [string, string][] = [['coordinator', 'a'], ['coordinator', 'b'], ['coordinator', 'c'], ['coordinator', 'd']];
  const types = { coordinator: 'coordinator' };

  it('recognises a ring, a star, a mesh and a hierarchy from the links', () => {
    expect(structuralTopology(shaped([['coordinator', 'a'], ['a', 'b'], ['b', 'c'], ['c', 'coordinator']], types))).toBe('ring');
    expect(structuralTopology(shaped(hubPairs, types, hubPairs))).toBe('star');
    expect(structuralTopology(shaped([...hubPairs, ['a', 'b'], ['c', 'd'], ['a', 'c']], types))).toBe('mesh');
    expect(structuralTopology(shaped(hubPairs, types, [['coordinator', 'a'], ['coordinator', 'b'], ['a', 'c'], ['a', 'd']]))).toBe('hierarchical');
    expect(structuralTopology(shaped([['a', 'b']]))).toBeNull(); // too little to tell
  });

  it('two separate triangles are not a ring', () => {
    expect(structuralTopology(shaped([['a', 'b'], ['b', 'c'], ['c', 'a'], ['d', 'e'], ['e', 'f'], ['f', 'd']]))).toBe('mesh');
  });

  it('prefers the announced topology', () => {
    const g = withAnnounced(shaped(hubPairs, types), 'hierarchical');
    expect(detectTopology(g)).toEqual({ topology: 'hierarchical', source: 'announced' });
    expect(detectTopology(shaped(hubPairs, types))).toEqual({ topology: 'star', source: 'links' });
    expect(withAnnounced(g, 'blob')).toBe(g);
  });

  it('walks the ring from the hub along the busiest links', () => {
    const g = graphFromRest('tr', {
      nodes: ['coordinator', 'a', 'b', 'c'].map((id) => ({ id, name: id, type: id === 'coordinator' ? 'coordinator' : 'w', status: 'idle' as const, metrics })),
      links: [['coordinator', 'b'], ['b', 'a'], ['a', 'c'], ['c', 'coordinator']].map(([s, t]) => ({ source: s!, target: t!, type: 'communication' as const, messageCount: 5, latency: null })),
    }, 0);
    expect(ringOrder(g)).toEqual(['coordinator', 'b', 'a', 'c']);
  });

  it('places the star hub in the middle and ring nodes on a circle in order', () => {
    const star = layoutTargets(shaped(hubPairs, types), 'star', 400, 400);
    expect(star.get('coordinator')).toEqual({ x: 0, y: 0 });
    for (const id of ['a', 'b', 'c', 'd']) expect(Math.hypot(star.get(id)!.x, star.get(id)!.y)).toBeCloseTo(160);
    const ring = shaped([['coordinator', 'a'], ['a', 'b'], ['b', 'c'], ['c', 'coordinator']], types);
    const pos = layoutTargets(ring, 'ring', 400, 400);
    expect(pos.get('coordinator')!.y).toBeCloseTo(-160); // the hub at 12 o'clock
    expect(pos.size).toBe(4);
  });

  it('puts hierarchy levels one under the other', () => {
    const g = shaped(hubPairs, types, [['coordinator', 'a'], ['coordinator', 'b'], ['a', 'c'], ['a', 'd']]);
    const pos = layoutTargets(g, 'hierarchical', 600, 400);
    const y = (id: string) => pos.get(id)!.y;
    expect(y('coordinator')).toBeLessThan(y('a'));
    expect(y('a')).toBe(y('b'));
    expect(y('a')).toBeLessThan(y('c'));
    // a wide level wraps onto more rows, below its parent
    const many = Array.from({ length: 30 }, (_, i) => `w${i}`);
    const wide = shaped(many.map((w) => ['coordinator', w] as [string, string]), types, many.map((w) => ['coordinator', w] as [string, string]));
    const wpos = layoutTargets(wide, 'hierarchical', 600, 400);
    const ys = new Set(many.map((w) => wpos.get(w)!.y));
    expect(ys.size).toBe(5); // 6 per row at 600 px
    expect(Math.min(...ys)).toBeGreaterThan(wpos.get('coordinator')!.y);
    // no spawn tree: the hub still goes on top
    const flat = layoutTargets(shaped(hubPairs, types), 'hierarchical', 600, 400);
    expect(flat.get('coordinator')!.y).toBeLessThan(flat.get('a')!.y);
  });
});

describe('graph: App state', () => {
  it('keeps live events that arrive while the REST graph loads, and applies them after', () => {
    let s = reduceGraph(initialGraphState(), { kind: 'reset', traceId: 'tr' });
    expect(s.loading).toBe(true);
    const during = ev('tester-1', 'agent.created', { agentType: 'tester', spawnedBy: 'coordinator' });
    s = reduceGraph(s, { kind: 'events', events: [during, ev('x', 'agent.started', null, { traceId: 'other' })] });
    expect(s.early).toHaveLength(1);
    s = reduceGraph(s, { kind: 'rest', traceId: 'tr', res: rest, baseSeq: during.seq - 1 });
    expect(s.loading).toBe(false);
    expect(graphNodes(s.model).map((n) => n.id)).toEqual(['coder-1', 'coordinator', 'tester-1']);
    // once loaded, events apply directly; a late answer for another trace is ignored
    s = reduceGraph(s, { kind: 'events', events: [ev('coder-1', 'agent.error', null, { level: 'error' })] });
    expect(s.model.nodes.get('coder-1')!.status).toBe('error');
    expect(reduceGraph(s, { kind: 'rest', traceId: 'old', res: rest, baseSeq: 0 })).toBe(s);
    s = reduceGraph(s, { kind: 'announce', traceId: 'tr', topology: 'mesh' });
    expect(detectTopology(s.model).topology).toBe('mesh');
  });
});
