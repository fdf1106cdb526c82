// The agent graph as data: the collector's GET /api/traces/:id/graph merged
// with the live events that arrive after it, agent status transitions, and
// the swarm's topology (announced by topology.changed or recognised from the
// links) with a layout target per topology so the picture shows its shape.
// Pure and immutable: the D3 component only renders what this computes.
import type { Micros, TraceEvent } from './types';

export type AgentStatus = 'active' | 'idle' | 'busy' | 'error';
export type LinkType = 'communication' | 'coordination' | 'dependency';
export type Topology = 'hierarchical' | 'mesh' | 'ring' | 'star';
export const TOPOLOGIES: readonly Topology[] = ['hierarchical', 'mesh', 'ring', 'star'];

export interface AgentMetrics {
  eventCount: number;
  errorCount: number;
  tasksCompleted: number;
  tasksFailed: number;
}

/** GET /api/traces/:id/graph, as the collector sends it. */
export interface GraphResponse {
  traceId?: string;
  nodes: {
    id: string;
    name: string;
    type: string | null;
    status: AgentStatus;
    /** Absent from collectors older than the field. */
    stopped?: boolean;
    metrics: AgentMetrics;
  }[];
  links: {
    source: string;
    target: string;
    type: LinkType;
    messageCount: number;
    latency: number | null;
    delivered?: number;
    strength?: number;
  }[];
}

export interface GraphNode {
  id: string;
  name: string;
  type: string | null;
  status: AgentStatus;
  metrics: AgentMetrics;
  /** agent.stopped seen (and no start since): drawn as gone. */
  stopped: boolean;
}

export interface GraphLink {
  source: string;
  target: string;
  type: LinkType;
  messageCount: number;
  /** Sum and count of measured latencies (µs); mean = sum / delivered. */
  latencySum: number;
  delivered: number;
}

interface PendingMessage {
  from?: string;
  to?: string;
  sentAt?: Micros;
  receivedAt?: Micros;
}

export interface GraphModel {
  traceId: string | null;
  nodes: ReadonlyMap<string, GraphNode>;
  /** Keyed by linkKey(type, source, target). */
  links: ReadonlyMap<string, GraphLink>;
  /** Messages seen at one end only, by msgId, to measure latency live. */
  pending: ReadonlyMap<string, PendingMessage>;
  /** The topology the swarm announced (topology.changed), if seen. */
  announced: Topology | null;
  /** Events with seq <= baseSeq are already counted in the REST graph. */
  baseSeq: number;
}

/** Messages waiting for their other end; older ones are forgotten. */
export const PENDING_MAX = 4000;

export const linkKey = (type: LinkType, source: string, target: string) => `${type}|${source}|${target}`;

export function emptyGraph(traceId: string | null = null): GraphModel {
  return { traceId, nodes: new Map(), links: new Map(), pending: new Map(), announced: null, baseSeq: -1 };
}

/** Build the model from the REST graph; `baseSeq` is the last seq the client had seen when it asked. */
export function graphFromRest(traceId: string, res: GraphResponse, baseSeq: number, prev?: GraphModel): GraphModel {
  const nodes = new Map<string, GraphNode>();
  for (const n of res.nodes) {
    nodes.set(n.id, {
      id: n.id,
      name: n.name || n.id,
      type: n.type,
      status: n.status,
      metrics: { ...n.metrics },
      stopped: n.stopped ?? (prev?.traceId === traceId ? (prev.nodes.get(n.id)?.stopped ?? false) : false),
    });
  }
  const links = new Map<string, GraphLink>();
  for (const l of res.links) {
    const delivered = l.latency === null ? 0 : (l.delivered ?? l.messageCount);
    links.set(linkKey(l.type, l.source, l.target), {
      source: l.source,
      target: l.target,
      type: l.type,
      messageCount: l.messageCount,
      latencySum: (l.latency ?? 0) * delivered,
      delivered,
    });
  }
  const same = prev?.traceId === traceId;
  return {
    traceId,
    nodes,
    links,
    pending: same ? prev.pending : new Map(),
    announced: same ? prev.announced : null,
    baseSeq,
  };
}

/**
 * Status after an event, the same rule as the collector's graph: the latest
 * lifecycle or task event decides; other events leave it as it was.
 */
export function statusAfter(eventType: string, current: AgentStatus): AgentStatus {
  switch (eventType) {
    case 'agent.error':
      return 'error';
    case 'task.started':
      return 'busy';
    case 'agent.stopped':
      return 'idle';
    case 'agent.started':
    case 'task.completed':
    case 'task.failed':
      return 'active';
    default:
      return current;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const meta = (e: TraceEvent, k: string) => str(e.metadata?.[k]);

function isTopology(s: string | null): s is Topology {
  return s !== null && (TOPOLOGIES as readonly string[]).includes(s);
}

/** Apply live events (any order, any trace: others are ignored) to the model. */
export function applyGraphEvents(model: GraphModel, events: readonly TraceEvent[]): GraphModel {
  const mine = events
    .filter((e) => e.traceId === model.traceId && e.seq > model.baseSeq)
    .sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
  if (mine.length === 0) return model;
  const nodes = new Map(model.nodes);
  const links = new Map(model.links);
  const pending = new Map(model.pending);
  let announced = model.announced;
  let baseSeq = model.baseSeq;

  const node = (id: string): GraphNode => {
    let n = nodes.get(id);
    if (!n) {
      n = { id, name: id, type: null, status: 'idle', stopped: false, metrics: { eventCount: 0, errorCount: 0, tasksCompleted: 0, tasksFailed: 0 } };
      nodes.set(id, n);
    }
    return n;
  };
  const link = (type: LinkType, source: string, target: string): GraphLink => {
    const k = linkKey(type, source, target);
    const old = links.get(k) ?? { source, target, type, messageCount: 0, latencySum: 0, delivered: 0 };
    const copy = { ...old };
    links.set(k, copy);
    node(source);
    node(target);
    return copy;
  };
  const measure = (msgId: string, part: PendingMessage) => {
    const p = { ...pending.get(msgId), ...part };
    if (p.sentAt !== undefined && p.receivedAt !== undefined && p.from && p.to) {
      pending.delete(msgId);
      const l = links.get(linkKey('communication', p.from, p.to)) ?? link('communication', p.from, p.to);
      const copy = { ...l, latencySum: l.latencySum + Math.max(0, p.receivedAt - p.sentAt), delivered: l.delivered + 1 };
      links.set(linkKey('communication', p.from, p.to), copy);
      return;
    }
    pending.delete(msgId); // re-insert at the end: eviction order is arrival order
    pending.set(msgId, p);
  };

  for (const e of mine) {
    baseSeq = Math.max(baseSeq, e.seq);
    const old = node(e.agentId);
    const n: GraphNode = { ...old, metrics: { ...old.metrics } };
    nodes.set(n.id, n);
    n.metrics.eventCount += e.count > 0 ? e.count : 1;
    if (e.level === 'error') n.metrics.errorCount += 1;
    if (e.eventType === 'task.completed') n.metrics.tasksCompleted += 1;
    if (e.eventType === 'task.failed') n.metrics.tasksFailed += 1;
    n.status = statusAfter(e.eventType, n.status);
    if (e.eventType === 'agent.stopped') n.stopped = true;
    if (e.eventType === 'agent.started' || e.eventType === 'agent.created') n.stopped = false;

    switch (e.eventType) {
      case 'agent.created': {
        n.type = meta(e, 'agentType') ?? n.type;
        const by = meta(e, 'spawnedBy');
        if (by) link('dependency', by, e.agentId).messageCount += 1;
        break;
      }
      case 'task.assigned': {
        const to = meta(e, 'assignee');
        if (to) link('coordination', e.agentId, to).messageCount += 1;
        break;
      }
      case 'message.sent': {
        const to = meta(e, 'to');
        if (!to) break;
        link('communication', e.agentId, to).messageCount += 1;
        const id = meta(e, 'msgId');
        if (id) measure(id, { from: e.agentId, to, sentAt: e.timestamp });
        break;
      }
      case 'message.received': {
        const id = meta(e, 'msgId');
        const from = meta(e, 'from');
        if (id) measure(id, { receivedAt: e.timestamp, to: e.agentId, ...(from ? { from } : {}) });
        break;
      }
      case 'topology.changed': {
        const t = meta(e, 'topology') ?? str(e.message);
        if (isTopology(t)) announced = t;
        break;
      }
    }
  }
  while (pending.size > PENDING_MAX) pending.delete(pending.keys().next().value as string);
  return { ...model, nodes, links, pending, announced, baseSeq };
}

/** Announce a topology learnt elsewhere (e.g. a REST query for topology.changed). */
export function withAnnounced(model: GraphModel, t: string | null): GraphModel {
  return isTopology(t) && t !== model.announced ? { ...model, announced: t } : model;
}

export const meanLatency = (l: GraphLink): number | null => (l.delivered > 0 ? l.latencySum / l.delivered : null);

/** Nodes sorted by id, so the renderer and tests see a stable order. */
export function graphNodes(model: GraphModel): GraphNode[] {
  return [...model.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function graphLinks(model: GraphModel): GraphLink[] {
  return [...model.links.values()].filter((l) => l.source !== l.target);
}

/** Undirected neighbour sets over communication links (the topology's shape). */
function neighbours(model: GraphModel): Map<string, Set<string>> {
  const adj = new Map<string, Set<string>>();
  for (const id of model.nodes.keys()) adj.set(id, new Set());
  for (const l of model.links.values()) {
    if (l.type !== 'communication' || l.source === l.target) continue;
    adj.get(l.source)?.add(l.target);
    adj.get(l.target)?.add(l.source);
  }
  return adj;
}

/** The coordinator: the agent typed so, else the best-connected one. */
export function findHub(model: GraphModel): string | null {
  const nodes = graphNodes(model);
  const typed = nodes.find((n) => n.type === 'coordinator') ?? nodes.find((n) => /coordinator/i.test(n.id));
  if (typed) return typed.id;
  const adj = neighbours(model);
  let best: string | null = null;
  let deg = -1;
  for (const n of nodes) {
    const d = adj.get(n.id)?.size ?? 0;
    if (d > deg) [best, deg] = [n.id, d];
  }
  return best;
}

/** Depth of each agent in the spawn tree (dependency links), roots at 0. */
export function spawnDepths(model: GraphModel): Map<string, number> {
  const children = new Map<string, string[]>();
  const hasParent = new Set<string>();
  for (const l of model.links.values()) {
    if (l.type !== 'dependency' || l.source === l.target) continue;
    children.set(l.source, [...(children.get(l.source) ?? []), l.target]);
    hasParent.add(l.target);
  }
  const depth = new Map<string, number>();
  const queue = graphNodes(model).filter((n) => !hasParent.has(n.id)).map((n) => n.id);
  for (const r of queue) depth.set(r, 0);
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const c of children.get(id) ?? []) {
      if (depth.has(c)) continue; // a cycle in bad data must not loop
      depth.set(c, depth.get(id)! + 1);
      queue.push(c);
    }
  }
  // Agents only reachable through a cycle: put them under the roots.
  for (const n of model.nodes.keys()) if (!depth.has(n)) depth.set(n, 1);
  return depth;
}

/** What the links look like, without the announcement. Null if too little is known. */
export function structuralTopology(model: GraphModel): Topology | null {
  const adj = neighbours(model);
  const ids = [...adj.keys()].filter((id) => adj.get(id)!.size > 0);
  if (ids.length < 3) return null;
  if (ids.every((id) => adj.get(id)!.size === 2) && isConnected(adj, ids)) return 'ring';
  const hub = findHub(model);
  const spokesOnly = hub !== null && ids.every((id) => id === hub || (adj.get(id)!.size === 1 && adj.get(id)!.has(hub)));
  if (spokesOnly) {
    const deepest = Math.max(0, ...spawnDepths(model).values());
    return deepest >= 2 ? 'hierarchical' : 'star';
  }
  return 'mesh';
}

function isConnected(adj: Map<string, Set<string>>, ids: string[]): boolean {
  const seen = new Set<string>([ids[0]!]);
  const stack = [ids[0]!];
  while (stack.length > 0) for (const n of adj.get(stack.pop()!) ?? []) if (!seen.has(n)) (seen.add(n), stack.push(n));
  return ids.every((id) => seen.has(id));
}

/** The topology to show: what the swarm said, else what its links look like. */
export function detectTopology(model: GraphModel): { topology: Topology | null; source: 'announced' | 'links' | null } {
  if (model.announced) return { topology: model.announced, source: 'announced' };
  const t = structuralTopology(model);
  return { topology: t, source: t ? 'links' : null };
}

/**
 * The ring's order: walk the busiest outgoing communication link from the
 * hub onwards, so neighbours on the circle are neighbours in the ring.
 */
export function ringOrder(model: GraphModel): string[] {
  const out = new Map<string, GraphLink[]>();
  for (const l of model.links.values()) {
    if (l.type !== 'communication' || l.source === l.target) continue;
    out.set(l.source, [...(out.get(l.source) ?? []), l]);
  }
  const order: string[] = [];
  const seen = new Set<string>();
  let cur = findHub(model);
  while (cur !== null && !seen.has(cur)) {
    order.push(cur);
    seen.add(cur);
    const next = (out.get(cur) ?? [])
      .filter((l) => !seen.has(l.target))
      .sort((a, b) => b.messageCount - a.messageCount || (a.target < b.target ? -1 : 1))[0];
    cur = next ? next.target : null;
  }
  for (const n of graphNodes(model)) if (!seen.has(n.id)) order.push(n.id);
  return order;
}

export interface Point {
  x: number;
  y: number;
}

function onCircle(ids: string[], r: number, start = -Math.PI / 2): Map<string, Point> {
  const m = new Map<string, Point>();
  ids.forEach((id, i) => {
    const a = start + (2 * Math.PI * i) / Math.max(1, ids.length);
    m.set(id, { x: r * Math.cos(a), y: r * Math.sin(a) });
  });
  return m;
}

/**
 * Where each agent should sit for the topology to be recognisable, around
 * (0, 0) in a width × height box: ring and mesh on a circle (ring in ring
 * order, so only neighbours are linked; mesh shows its chords), star with
 * the hub in the middle, hierarchical as levels of the spawn tree. The
 * force simulation pulls nodes towards these points.
 */
export function layoutTargets(model: GraphModel, topology: Topology | null, width: number, height: number): Map<string, Point> {
  const nodes = graphNodes(model);
  const r = Math.max(60, Math.min(width, height) * 0.4);
  const hub = findHub(model);
  switch (topology) {
    case 'ring':
      return onCircle(ringOrder(model), r);
    case 'star': {
      const m = onCircle(nodes.filter((n) => n.id !== hub).map((n) => n.id), r);
      if (hub) m.set(hub, { x: 0, y: 0 });
      return m;
    }
    case 'hierarchical': {
      const depth = spawnDepths(model);
      // Without a spawn tree the hub is still the top of the hierarchy.
      if (hub && Math.max(...depth.values()) === 0) for (const n of nodes) depth.set(n.id, n.id === hub ? 0 : 1);
      const byDepth = new Map<number, string[]>();
      for (const n of nodes) {
        const d = depth.get(n.id) ?? 1;
        byDepth.set(d, [...(byDepth.get(d) ?? []), n.id]);
      }
      // A wide level (a coordinator with 40 workers) wraps onto several
      // rows so labels keep their room; rows stay in depth order.
      const perRow = Math.max(2, Math.floor((width * 0.9) / 90));
      const rows: string[][] = [];
      for (const d of [...byDepth.keys()].sort((a, b) => a - b)) {
        const ids = byDepth.get(d)!;
        for (let i = 0; i < ids.length; i += perRow) rows.push(ids.slice(i, i + perRow));
      }
      const m = new Map<string, Point>();
      const h = height * 0.75;
      rows.forEach((ids, r) => {
        const y = rows.length === 1 ? 0 : -h / 2 + (h * r) / (rows.length - 1);
        ids.forEach((id, i) => m.set(id, { x: (width * 0.9 * (i + 0.5)) / ids.length - width * 0.45, y }));
      });
      return m;
    }
    case 'mesh':
    default:
      return onCircle(nodes.map((n) => n.id), r);
  }
}

/**
 * The graph as App holds it: the model plus the live events that arrived
 * while the REST graph was loading, re-applied on top of it when it lands
 * so nothing is lost between the query and the response.
 */
export interface GraphState {
  model: GraphModel;
  loading: boolean;
  early: readonly TraceEvent[];
}

export type GraphAction =
  | { kind: 'reset'; traceId: string | null }
  | { kind: 'rest'; traceId: string; res: GraphResponse; baseSeq: number }
  | { kind: 'events'; events: readonly TraceEvent[] }
  | { kind: 'announce'; traceId: string; topology: string | null };

/** Events kept while loading; beyond that the REST answer is fresher anyway. */
export const EARLY_MAX = 5000;

export function initialGraphState(traceId: string | null = null): GraphState {
  return { model: emptyGraph(traceId), loading: traceId !== null, early: [] };
}

export function reduceGraph(s: GraphState, a: GraphAction): GraphState {
  switch (a.kind) {
    case 'reset':
      return s.model.traceId === a.traceId && !s.loading ? s : initialGraphState(a.traceId);
    case 'rest': {
      if (a.traceId !== s.model.traceId) return s; // a late answer for another trace
      const model = applyGraphEvents(graphFromRest(a.traceId, a.res, a.baseSeq, s.model), s.early);
      return { model, loading: false, early: [] };
    }
    case 'events': {
      const mine = a.events.filter((e) => e.traceId === s.model.traceId);
      if (mine.length === 0) return s;
      if (s.loading) return { ...s, early: [...s.early, ...mine].slice(-EARLY_MAX) };
      const model = applyGraphEvents(s.model, mine);
      return model === s.model ? s : { ...s, model };
    }
    case 'announce': {
      if (a.traceId !== s.model.traceId) return s;
      const model = withAnnounced(s.model, a.topology);
      return model === s.model ? s : { ...s, model };
    }
  }
}
