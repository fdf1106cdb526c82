// Time-travel: what every agent's state was at any instant of a trace.
//
// The swarm records snapshots (agent_state, memory_state, task_state) now
// and then and whenever they change; between two snapshots the events say
// what happened. So the state at t is the nearest snapshot at or before t,
// plus the events after that snapshot up to and including t replayed on it.
// A snapshot is taken after the change it records, so it already contains
// every event up to its own timestamp: replay starts strictly after it.
//
// Everything here is pure except TimeTravelEngine, whose only effects go
// through an injected TimeTravelSource (the REST API in the app, a table in
// the tests). The playback clock takes its wall clock as a function too.
import type { Micros, TraceEvent } from './types';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type StateType = 'agent_state' | 'memory_state' | 'task_state';

export interface SnapshotMeta {
  id: string;
  agentId: string;
  stateType: string;
  timestamp: Micros;
}

export interface Snapshot extends SnapshotMeta {
  state: Json;
}

/** One agent at one instant. */
export interface AgentState {
  agent: string;
  /** the instant reconstructed */
  at: Micros;
  /** timestamp of the agent_state snapshot replay started from, null if none */
  snapshotAt: Micros | null;
  /** events replayed on top of it */
  replayed: number;
  /** agent_state after replay: status, currentTask, counters ... */
  state: JsonObject;
  /** memory_state at or before `at` (memory changes are snapshotted as they happen) */
  memory: JsonObject | null;
  /** task_state at or before `at` (the coordinator's task board) */
  tasks: JsonObject | null;
  lastEvent: { type: string; timestamp: Micros; message: string } | null;
}

/* ---- choosing snapshots ---- */

/**
 * The latest snapshot of `agent` and `type` taken at or before t; of two
 * with the same timestamp, the later one in the list (the collector lists
 * them in timestamp, then id order).
 */
export function nearestSnapshotBefore(
  snaps: readonly SnapshotMeta[], agent: string, type: StateType, t: Micros,
): SnapshotMeta | null {
  let best: SnapshotMeta | null = null;
  for (const s of snaps) {
    if (s.agentId !== agent || s.stateType !== type || s.timestamp > t) continue;
    if (!best || s.timestamp >= best.timestamp) best = s;
  }
  return best;
}

/* ---- replay ---- */

const asObject = (v: Json | undefined): JsonObject | null =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null;

const num = (v: Json | undefined): number => (typeof v === 'number' ? v : 0);

function metaString(e: TraceEvent, key: string): string | null {
  const v = e.metadata?.[key];
  return typeof v === 'string' ? v : null;
}

/**
 * Takes a task off the agent's queue. With the queue's ids (the swarm
 * records them) only a task that was queued counts; without them, `blind`
 * says whether to count one off anyway.
 */
function dequeue(s: JsonObject, taskId: string | null, blind: boolean): void {
  if (Array.isArray(s.queue)) {
    if (taskId === null || !s.queue.includes(taskId)) return;
    s.queue = s.queue.filter((id) => id !== taskId);
    s.queued = Math.max(0, num(s.queued) - 1);
  } else if (blind) {
    s.queued = Math.max(0, num(s.queued) - 1);
  }
}

/**
 * One event applied to an agent_state (a new object; the input is not
 * touched). The rules follow what libtrace's hooks record: a task span
 * makes the agent busy with that task, its end makes it idle and counts
 * the outcome; lifecycle events set the status; errors are counted.
 */
export function applyEvent(state: JsonObject, e: TraceEvent): JsonObject {
  const s: JsonObject = { ...state };
  const current = asObject(s.currentTask);
  const taskId = metaString(e, 'taskId');
  switch (e.eventType) {
    case 'agent.started':
      s.status = 'idle';
      break;
    case 'agent.stopped':
      s.status = 'stopped';
      s.currentTask = null;
      break;
    case 'agent.error':
      s.errors = num(s.errors) + 1;
      break;
    case 'custom.inbox': // the swarm's "queued t-7 (2 waiting)": a worker's queue,
    case 'custom.planning': { // and the coordinator's "queued t-7 for a coder (2 waiting)"
      const queued = /^queued (\S+)/.exec(e.message ?? '');
      if (!queued) break;
      s.queued = num(s.queued) + 1;
      if (Array.isArray(s.queue)) s.queue = [...s.queue, queued[1]!];
      break;
    }
    case 'task.assigned': // the coordinator hands out a task it held
      dequeue(s, taskId, false);
      break;
    case 'task.started':
      s.status = 'busy';
      dequeue(s, taskId, true);
      s.currentTask = current && current.id === taskId ? current : { id: taskId };
      break;
    case 'custom.thinking': { // the plan of the current task: its attempt and text
      const attempt = e.metadata?.attempt;
      if (current && taskId !== null && current.id === taskId) {
        const next: JsonObject = { ...current };
        if (typeof attempt === 'number') next.attempt = attempt;
        const plan = /^planning: (.*)$/.exec(e.message ?? '');
        if (plan) next.description = plan[1]!;
        s.currentTask = next;
      }
      break;
    }
    case 'task.completed':
      s.status = 'idle';
      s.currentTask = null;
      s.tasksDone = num(s.tasksDone) + 1;
      break;
    case 'task.failed': {
      s.status = 'idle';
      s.currentTask = null;
      const why = metaString(e, 'error') ?? e.message ?? '';
      if (!/^cancelled/.test(why)) s.tasksFailed = num(s.tasksFailed) + 1;
      break;
    }
    default:
      break;
  }
  return s;
}

/**
 * Replays `events` (any order, any agents) on `base` for `agent`: those of
 * the agent with after < timestamp <= t, in time then seq order.
 */
export function replay(
  base: JsonObject, events: readonly TraceEvent[], agent: string, after: Micros, t: Micros,
): { state: JsonObject; replayed: number; last: TraceEvent | null } {
  const mine = events
    .filter((e) => e.agentId === agent && e.timestamp > after && e.timestamp <= t)
    .sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
  let state = base;
  for (const e of mine) state = applyEvent(state, e);
  return { state, replayed: mine.length, last: mine[mine.length - 1] ?? null };
}

/** Everything needed to rebuild one agent, already fetched. */
export interface AgentInputs {
  agentState: Snapshot | null;
  memory: Snapshot | null;
  tasks: Snapshot | null;
  /** events covering (agentState.timestamp or the trace start, t] */
  events: readonly TraceEvent[];
}

export function reconstructAgent(agent: string, t: Micros, inputs: AgentInputs): AgentState {
  const from = inputs.agentState?.timestamp ?? -Infinity;
  const base = asObject(inputs.agentState?.state ?? null) ?? { agent };
  const { state, replayed, last } = replay(base, inputs.events, agent, from, t);
  return {
    agent,
    at: t,
    snapshotAt: inputs.agentState?.timestamp ?? null,
    replayed,
    state,
    memory: asObject(inputs.memory?.state ?? null),
    tasks: asObject(inputs.tasks?.state ?? null),
    lastEvent: last ? { type: last.eventType, timestamp: last.timestamp, message: last.message ?? '' } : null,
  };
}

/* ---- diff ---- */

export interface DiffEntry {
  /** dotted path: "coder-1.state.currentTask.id", array items as [i] */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: Json;
  after?: Json;
}

const isObj = (v: Json | undefined): v is JsonObject =>
  v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/**
 * Differences from `a` to `b`, recursing into objects (by key) and arrays
 * (by index), sorted by path. Values present on one side only are added
 * or removed; a value whose JSON type or primitive value differs is
 * changed.
 */
export function diffJson(a: Json | undefined, b: Json | undefined, path = ''): DiffEntry[] {
  if (a === undefined && b === undefined) return [];
  if (a === undefined) return [{ path, kind: 'added', after: b }];
  if (b === undefined) return [{ path, kind: 'removed', before: a }];
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diffJson(a[k], b[k], join(path, k)));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.max(a.length, b.length);
    const out: DiffEntry[] = [];
    for (let i = 0; i < n; i++) out.push(...diffJson(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  if (a === b) return [];
  return [{ path, kind: 'changed', before: a, after: b }];
}

/** What an agent's state shows, as one JSON value to display and diff. */
export function stateView(s: AgentState): JsonObject {
  const v: JsonObject = { ...s.state };
  if (s.memory) v.memory = s.memory.entries ?? s.memory;
  if (s.tasks) v.tasks = s.tasks;
  return v;
}

/** Differences between two reconstructions of the swarm, agent by agent. */
export function diffSwarm(a: ReadonlyMap<string, AgentState>, b: ReadonlyMap<string, AgentState>): DiffEntry[] {
  const agents = [...new Set([...a.keys(), ...b.keys()])].sort();
  return agents.flatMap((name) => {
    const x = a.get(name);
    const y = b.get(name);
    return diffJson(x ? stateView(x) : undefined, y ? stateView(y) : undefined, name);
  });
}

/* ---- the engine ---- */

export interface TimeTravelSource {
  snapshots(): Promise<SnapshotMeta[]>;
  snapshot(id: string): Promise<Snapshot>;
  /** every event with from <= timestamp <= to, of one agent or of all */
  events(from: Micros, to: Micros, agent?: string): Promise<TraceEvent[]>;
}

/**
 * Reconstructs the whole swarm at any t. Snapshot metadata is listed once;
 * snapshot bodies are fetched once each and kept; the events fetched are
 * those from the earliest snapshot any agent needs up to t, normally a
 * window of a few seconds since the swarm snapshots every two (an agent
 * that never recorded a snapshot costs a fetch of its own events only).
 */
export class TimeTravelEngine {
  private readonly source: TimeTravelSource;
  private readonly traceStart: Micros;
  private list: Promise<SnapshotMeta[]> | null = null;
  private readonly bodies = new Map<string, Promise<Snapshot>>();
  /** an agent's own events from the trace start up to `to`, for agents with no snapshot */
  private readonly history = new Map<string, Promise<{ to: Micros; events: TraceEvent[] }>>();

  constructor(source: TimeTravelSource, traceStart: Micros) {
    this.source = source;
    this.traceStart = traceStart;
  }

  snapshots(): Promise<SnapshotMeta[]> {
    this.list ??= this.source.snapshots();
    return this.list;
  }

  /** Forget the snapshot list (a live trace gains new ones). */
  refresh(): void {
    this.list = null;
  }

  private body(meta: SnapshotMeta | null): Promise<Snapshot | null> {
    if (!meta) return Promise.resolve(null);
    let p = this.bodies.get(meta.id);
    if (!p) {
      p = this.source.snapshot(meta.id);
      this.bodies.set(meta.id, p);
      p.catch(() => this.bodies.delete(meta.id)); // a failed fetch may be retried
    }
    return p;
  }

  /**
   * An agent's events from the trace start up to t. Kept between calls:
   * scrubbing back costs nothing, moving forward fetches only what is new.
   */
  private ownEvents(agent: string, t: Micros): Promise<TraceEvent[]> {
    const prev = this.history.get(agent);
    const next = (prev ?? Promise.resolve({ to: this.traceStart - 1, events: [] as TraceEvent[] })).then(async (h) => {
      if (t <= h.to) return h;
      const more = await this.source.events(h.to + 1, t, agent);
      return { to: t, events: h.events.concat(more) };
    });
    this.history.set(agent, next);
    next.catch(() => this.history.delete(agent));
    return next.then((h) => h.events.filter((e) => e.timestamp <= t));
  }

  /** Every agent that has a snapshot or is named in `agents`, at t. */
  async stateAt(t: Micros, agents: readonly string[] = []): Promise<Map<string, AgentState>> {
    const snaps = await this.snapshots();
    const names = [...new Set([...agents, ...snaps.map((s) => s.agentId)])].sort();
    const picks = names.map((agent) => ({
      agent,
      agentState: nearestSnapshotBefore(snaps, agent, 'agent_state', t),
      memory: nearestSnapshotBefore(snaps, agent, 'memory_state', t),
      tasks: nearestSnapshotBefore(snaps, agent, 'task_state', t),
    }));
    // one window for the agents with a snapshot, from the oldest one they
    // need; an agent without any replays its own events from the start
    const since = picks.flatMap((p) => (p.agentState ? [p.agentState.timestamp] : []));
    const shared = since.length ? this.source.events(Math.min(t, ...since), t) : Promise.resolve([]);
    const own = picks.map((p) => (p.agentState ? null : this.ownEvents(p.agent, t)));
    const [events, ownEvents, bodies] = await Promise.all([
      shared,
      Promise.all(own),
      Promise.all(picks.map((p) => Promise.all([this.body(p.agentState), this.body(p.memory), this.body(p.tasks)]))),
    ]);
    const out = new Map<string, AgentState>();
    picks.forEach((p, i) => {
      const [agentState, memory, tasks] = bodies[i]!;
      out.set(p.agent, reconstructAgent(p.agent, t, { agentState, memory, tasks, events: ownEvents[i] ?? events }));
    });
    return out;
  }
}

/* ---- playback ---- */

export const SPEEDS = [1, 2, 5, 10, 25, 50, 100] as const;
export const MIN_SPEED = 1;
export const MAX_SPEED = 100;

/**
 * Trace time while playing: t advances `speed` µs of trace per µs of wall
 * time from where play started, stops at `end`. Changing speed mid-play
 * keeps the current position (no jump). `now` is the wall clock in ms.
 */
export class PlaybackClock {
  private readonly now: () => number;
  private readonly end: Micros;
  private base: Micros;
  private wallAtBase = 0;
  private rate: number = MIN_SPEED;
  private running = false;

  constructor(opts: { start: Micros; end: Micros; now: () => number }) {
    this.now = opts.now;
    this.end = opts.end;
    this.base = opts.start;
  }

  get playing(): boolean {
    if (this.running && this.time() >= this.end) this.running = false;
    return this.running;
  }

  get speed(): number {
    return this.rate;
  }

  time(): Micros {
    if (!this.running) return this.base;
    const t = this.base + (this.now() - this.wallAtBase) * 1000 * this.rate;
    return Math.min(t, this.end);
  }

  play(from?: Micros): void {
    this.base = from ?? this.time();
    if (this.base >= this.end) this.base = this.end;
    this.wallAtBase = this.now();
    this.running = this.base < this.end;
  }

  pause(): void {
    this.base = this.time();
    this.running = false;
  }

  seek(t: Micros): void {
    this.base = Math.min(t, this.end);
    this.wallAtBase = this.now();
  }

  setSpeed(speed: number): void {
    this.base = this.time();
    this.wallAtBase = this.now();
    this.rate = Math.min(MAX_SPEED, Math.max(MIN_SPEED, speed));
  }
}
