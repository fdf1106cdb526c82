// Time-travel engine: snapshot choice, replay, reconstruction through the
// engine with a table-driven source, diff, and the playback clock.
import { describe, expect, it } from 'vitest';
import {
  PlaybackClock,
  TimeTravelEngine,
  applyEvent,
  diffJson,
  diffSwarm,
  nearestSnapshotBefore,
  reconstructAgent,
  type Snapshot,
  type TimeTravelSource,
} from './timeTravel';
import type { TraceEvent } from './types';

const T0 = 1_764_280_000_000_000;

let nextSeq = 1;
function ev(agentId: string, eventType: string, dt: number, metadata: Record<string, unknown> = {}, message = ''): TraceEvent {
  const seq = nextSeq++;
  return {
    id: String(seq), seq, traceId: 'tr', agentId, eventType, timestamp: T0 + dt, level: 'info',
    message, metadata, spanId: null, parentId: null, duration: null, count: 1, stackTrace: null,
  };
}

function snap(id: string, agentId: string, stateType: string, dt: number, state: Snapshot['state']): Snapshot {
  return { id, agentId, stateType, timestamp: T0 + dt, state };
}

const idle = { agent: 'coder-1', status: 'idle', currentTask: null, queued: 0, tasksDone: 2, tasksFailed: 0, errors: 0 };

describe('nearestSnapshotBefore', () => {
  const snaps = [
    snap('1', 'coder-1', 'agent_state', 0, {}),
    snap('2', 'coder-1', 'memory_state', 50, {}),
    snap('3', 'coder-1', 'agent_state', 100, {}),
    snap('4', 'tester-1', 'agent_state', 150, {}),
    snap('5', 'coder-1', 'agent_state', 200, {}),
    snap('6', 'coder-1', 'agent_state', 200, {}),
  ];
  it('takes the latest of the agent and type at or before t', () => {
    expect(nearestSnapshotBefore(snaps, 'coder-1', 'agent_state', T0 + 199)?.id).toBe('3');
    expect(nearestSnapshotBefore(snaps, 'coder-1', 'agent_state', T0 + 100)?.id).toBe('3'); // exactly at t
    expect(nearestSnapshotBefore(snaps, 'coder-1', 'memory_state', T0 + 1000)?.id).toBe('2');
    expect(nearestSnapshotBefore(snaps, 'tester-1', 'agent_state', T0 + 160)?.id).toBe('4');
  });
  it('prefers the later of two at the same timestamp, and none before the first', () => {
    expect(nearestSnapshotBefore(snaps, 'coder-1', 'agent_state', T0 + 200)?.id).toBe('6');
    expect(nearestSnapshotBefore(snaps, 'coder-1', 'agent_state', T0 - 1)).toBeNull();
    expect(nearestSnapshotBefore(snaps, 'nobody', 'agent_state', T0 + 1000)).toBeNull();
  });
});

describe('applyEvent', () => {
  it('follows a task from queue to completion', () => {
    let s = applyEvent(idle, ev('coder-1', 'custom.inbox', 1, {}, 'queued t-7 (1 waiting)'));
    expect(s.queued).toBe(1);
    s = applyEvent(s, ev('coder-1', 'task.started', 2, { taskId: 't-7' }));
    expect(s).toMatchObject({ status: 'busy', queued: 0, currentTask: { id: 't-7' } });
    s = applyEvent(s, ev('coder-1', 'custom.thinking', 3, { taskId: 't-7', attempt: 2 }, 'planning: implement auth'));
    expect(s.currentTask).toEqual({ id: 't-7', attempt: 2, description: 'implement auth' });
    s = applyEvent(s, ev('coder-1', 'task.completed', 4, { taskId: 't-7' }));
    expect(s).toEqual({ ...idle, tasksDone: 3 });
  });
  it('keeps the queue list in step: queued in, started out', () => {
    let s = applyEvent({ ...idle, queued: 1, queue: ['t-1'] }, ev('coder-1', 'custom.inbox', 1, {}, 'queued t-2 (2 waiting)'));
    expect(s).toMatchObject({ queued: 2, queue: ['t-1', 't-2'] });
    s = applyEvent(s, ev('coder-1', 'task.started', 2, { taskId: 't-1' }));
    expect(s).toMatchObject({ queued: 1, queue: ['t-2'], currentTask: { id: 't-1' } });
    // a retry that was never queued here leaves the queue alone
    expect(applyEvent(s, ev('coder-1', 'task.started', 3, { taskId: 't-9' }))).toMatchObject({ queued: 1, queue: ['t-2'] });
  });
  it("follows the coordinator's queue: planned in, assigned out", () => {
    const c = { agent: 'coordinator', status: 'busy', queued: 0, queue: [] };
    let s = applyEvent(c, ev('coordinator', 'custom.planning', 1, {}, 'queued t-5 for a coder (1 waiting)'));
    expect(s).toMatchObject({ queued: 1, queue: ['t-5'] });
    s = applyEvent(s, ev('coordinator', 'custom.planning', 2, {}, 'decided to split the work'));
    expect(s.queued).toBe(1);
    s = applyEvent(s, ev('coordinator', 'task.assigned', 3, { taskId: 't-5', assignee: 'coder-1' }));
    expect(s).toMatchObject({ queued: 0, queue: [] });
  });
  it('counts failures but not cancellations, and errors and stops', () => {
    const busy = { ...idle, status: 'busy', currentTask: { id: 't-1' } };
    expect(applyEvent(busy, ev('coder-1', 'task.failed', 1, { taskId: 't-1', error: 'build failed' }))).toMatchObject({ status: 'idle', currentTask: null, tasksFailed: 1 });
    expect(applyEvent(busy, ev('coder-1', 'task.failed', 1, { taskId: 't-1', error: 'cancelled: swarm shutting down' })).tasksFailed).toBe(0);
    expect(applyEvent(idle, ev('coder-1', 'agent.error', 1)).errors).toBe(1);
    expect(applyEvent(busy, ev('coder-1', 'agent.stopped', 1))).toMatchObject({ status: 'stopped', currentTask: null });
  });
  it('does not modify its input', () => {
    const before = structuredClone(idle);
    applyEvent(idle, ev('coder-1', 'task.started', 1, { taskId: 't-1' }));
    expect(idle).toEqual(before);
  });
});

describe('reconstructAgent', () => {
  const base = snap('s1', 'coder-1', 'agent_state', 100, idle);
  const events = [
    ev('coder-1', 'task.completed', 100, { taskId: 't-0' }), // at the snapshot: already in it
    ev('coder-1', 'task.started', 150, { taskId: 't-9' }),
    ev('tester-1', 'task.started', 160, { taskId: 't-3' }), // another agent
    ev('coder-1', 'task.completed', 200, { taskId: 't-9' }),
    ev('coder-1', 'task.started', 250, { taskId: 't-10' }),
  ];
  it('replays the events after the snapshot up to and including t', () => {
    const s = reconstructAgent('coder-1', T0 + 200, { agentState: base, memory: null, tasks: null, events });
    expect(s.state).toEqual({ ...idle, tasksDone: 3 });
    expect(s.replayed).toBe(2);
    expect(s.snapshotAt).toBe(T0 + 100);
    expect(s.lastEvent).toEqual({ type: 'task.completed', timestamp: T0 + 200, message: '' });
  });
  it('at the snapshot time replays nothing', () => {
    const s = reconstructAgent('coder-1', T0 + 100, { agentState: base, memory: null, tasks: null, events });
    expect(s.state).toEqual(idle);
    expect(s.replayed).toBe(0);
  });
  it('without a snapshot replays from an empty state', () => {
    const s = reconstructAgent('coder-1', T0 + 160, { agentState: null, memory: null, tasks: null, events });
    expect(s.state).toEqual({ agent: 'coder-1', status: 'busy', queued: 0, currentTask: { id: 't-9' }, tasksDone: 1 });
  });
});

/** A source answering from tables, counting calls. */
function tableSource(snaps: Snapshot[], events: TraceEvent[]) {
  const calls = { snapshots: 0, snapshot: [] as string[], events: [] as (number | string)[][] };
  const source: TimeTravelSource = {
    snapshots: async () => { calls.snapshots++; return snaps.map(({ state: _s, ...m }) => m); },
    snapshot: async (id) => { calls.snapshot.push(id); return snaps.find((s) => s.id === id)!; },
    events: async (from, to, agent) => {
      calls.events.push(agent === undefined ? [from, to] : [from, to, agent]);
      return events.filter((e) => e.timestamp >= from && e.timestamp <= to && (agent === undefined || e.agentId === agent));
    },
  };
  return { source, calls };
}

describe('TimeTravelEngine', () => {
  const snaps = [
    snap('a1', 'coder-1', 'agent_state', 0, { ...idle, tasksDone: 0 }),
    snap('m1', 'coder-1', 'memory_state', 0, { agent: 'coder-1', entries: {}, capacity: 12 }),
    snap('a2', 'coder-1', 'agent_state', 2_000_000, { ...idle, tasksDone: 1 }),
    snap('m2', 'coder-1', 'memory_state', 1_500_000, { agent: 'coder-1', entries: { 'auth.entrypoint': 'src/auth/auth.c' }, capacity: 12 }),
    snap('c1', 'coordinator', 'agent_state', 0, { agent: 'coordinator', status: 'idle', currentTask: null }),
    snap('t1', 'coordinator', 'task_state', 1_000_000, { pending: ['t-2'], done: ['t-1'] }),
  ];
  const events = [
    ev('coder-1', 'task.started', 500_000, { taskId: 't-1' }),
    ev('coder-1', 'task.completed', 1_000_000, { taskId: 't-1' }),
    ev('coder-1', 'task.started', 2_100_000, { taskId: 't-2' }),
  ];

  it('rebuilds every agent from its nearest snapshots plus replay', async () => {
    const { source, calls } = tableSource(snaps, events);
    const engine = new TimeTravelEngine(source, T0);
    const at = await engine.stateAt(T0 + 600_000);
    expect([...at.keys()]).toEqual(['coder-1', 'coordinator']);
    expect(at.get('coder-1')!.state).toEqual({ ...idle, tasksDone: 0, status: 'busy', currentTask: { id: 't-1' } });
    expect(at.get('coder-1')!.memory).toEqual({ agent: 'coder-1', entries: {}, capacity: 12 });
    expect(at.get('coordinator')!.tasks).toBeNull();
    expect(calls.events).toEqual([[T0, T0 + 600_000]]);

    const later = await engine.stateAt(T0 + 2_100_000);
    expect(later.get('coder-1')!.state).toMatchObject({ tasksDone: 1, status: 'busy', currentTask: { id: 't-2' } });
    expect(later.get('coder-1')!.memory!.entries).toEqual({ 'auth.entrypoint': 'src/auth/auth.c' });
    expect(later.get('coordinator')!.tasks).toEqual({ pending: ['t-2'], done: ['t-1'] });
    // the window starts at the oldest snapshot needed (the coordinator's)
    expect(calls.events[1]).toEqual([T0, T0 + 2_100_000]);
    // metadata listed once, each body fetched once
    expect(calls.snapshots).toBe(1);
    expect(new Set(calls.snapshot).size).toBe(calls.snapshot.length);
  });

  it('names agents with no snapshot too, replaying only their own events from the start', async () => {
    const { source, calls } = tableSource(snaps, [...events, ev('tester-1', 'agent.started', 10)]);
    const at = await new TimeTravelEngine(source, T0).stateAt(T0 + 20, ['tester-1']);
    expect(at.get('tester-1')!.state).toEqual({ agent: 'tester-1', status: 'idle' });
    expect(at.get('tester-1')!.snapshotAt).toBeNull();
    expect(calls.events).toContainEqual([T0, T0 + 20, 'tester-1']);
    expect(calls.events).toContainEqual([T0, T0 + 20]);
  });

  it("keeps a snapshot-less agent's history: back costs nothing, forward fetches the rest", async () => {
    const mine = [ev('tester-1', 'agent.started', 10), ev('tester-1', 'task.started', 50, { taskId: 't-1' }), ev('tester-1', 'task.completed', 90, { taskId: 't-1' })];
    const { source, calls } = tableSource([], mine);
    const engine = new TimeTravelEngine(source, T0);
    expect((await engine.stateAt(T0 + 60, ['tester-1'])).get('tester-1')!.state).toMatchObject({ status: 'busy' });
    expect((await engine.stateAt(T0 + 20, ['tester-1'])).get('tester-1')!.state).toEqual({ agent: 'tester-1', status: 'idle' });
    expect((await engine.stateAt(T0 + 100, ['tester-1'])).get('tester-1')!.state).toMatchObject({ status: 'idle', tasksDone: 1 });
    expect(calls.events).toEqual([[T0, T0 + 60, 'tester-1'], [T0 + 61, T0 + 100, 'tester-1']]);
  });
});

describe('diff', () => {
  it('finds added, removed and changed keys, nested, sorted by path', () => {
    const a = { status: 'idle', currentTask: null, memory: { x: '1', y: '2' }, list: [1, 2, 3] };
    const b = { status: 'busy', currentTask: { id: 't-1' }, memory: { x: '1', z: '3' }, list: [1, 5], extra: true };
    expect(diffJson(a, b)).toEqual([
      { path: 'currentTask', kind: 'changed', before: null, after: { id: 't-1' } },
      { path: 'extra', kind: 'added', after: true },
      { path: 'list[1]', kind: 'changed', before: 2, after: 5 },
      { path: 'list[2]', kind: 'removed', before: 3 },
      { path: 'memory.y', kind: 'removed', before: '2' },
      { path: 'memory.z', kind: 'added', after: '3' },
      { path: 'status', kind: 'changed', before: 'idle', after: 'busy' },
    ]);
  });
  it('finds nothing between equal values', () => {
    expect(diffJson({ a: { b: [1, { c: 2 }] } }, { a: { b: [1, { c: 2 }] } })).toEqual([]);
  });
  it('diffs a swarm agent by agent, memory included', () => {
    const mk = (agent: string, state: Record<string, never> | object, entries: object | null) => ({
      agent, at: 0, snapshotAt: null, replayed: 0, state: state as never,
      memory: entries ? { entries: entries as never } : null, tasks: null, lastEvent: null,
    });
    const a = new Map([['coder-1', mk('coder-1', { status: 'idle' }, { k: 'v' })]]);
    const b = new Map([
      ['coder-1', mk('coder-1', { status: 'busy' }, { k: 'v', k2: 'w' })],
      ['tester-1', mk('tester-1', { status: 'idle' }, null)],
    ]);
    expect(diffSwarm(a, b)).toEqual([
      { path: 'coder-1.memory.k2', kind: 'added', after: 'w' },
      { path: 'coder-1.status', kind: 'changed', before: 'idle', after: 'busy' },
      { path: 'tester-1', kind: 'added', after: { status: 'idle' } },
    ]);
  });
});

describe('PlaybackClock', () => {
  it('advances trace time at 1x to 100x of wall time and stops at the end', () => {
    let wall = 0;
    const c = new PlaybackClock({ start: T0, end: T0 + 10_000_000, now: () => wall });
    c.play();
    wall = 100; // ms
    expect(c.time()).toBe(T0 + 100_000);
    c.setSpeed(100);
    expect(c.time()).toBe(T0 + 100_000); // no jump on a speed change
    wall = 150;
    expect(c.time()).toBe(T0 + 100_000 + 50 * 1000 * 100);
    wall = 10_000;
    expect(c.time()).toBe(T0 + 10_000_000);
    expect(c.playing).toBe(false);
  });
  it('clamps the speed to 1..100, pauses, seeks', () => {
    let wall = 0;
    const c = new PlaybackClock({ start: T0, end: T0 + 1e9, now: () => wall });
    c.setSpeed(1000);
    expect(c.speed).toBe(100);
    c.setSpeed(0);
    expect(c.speed).toBe(1);
    c.setSpeed(10);
    c.play(T0 + 500);
    wall = 10;
    expect(c.time()).toBe(T0 + 500 + 10 * 1000 * 10);
    c.pause();
    wall = 1000;
    expect(c.time()).toBe(T0 + 100_500);
    expect(c.playing).toBe(false);
    c.seek(T0 + 7);
    expect(c.time()).toBe(T0 + 7);
  });
});
