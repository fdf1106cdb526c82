// stream.test.mjs — the WebSocket stream against a real collector: per-client
// filters (URL and subscribe message), errors for bad client messages,
// heartbeats, and a stalled client that slows neither ingest nor a fast one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startCollector, runSwarm, sql, openWs, tempDir, waitFor } from './harness.mjs';

const storedWhere = (db, where) => sql(db, `SELECT e.id FROM events e JOIN agents a ON a.id = e.agent_id
  JOIN event_types ty ON ty.id = e.type_id WHERE ${where} ORDER BY e.id`).map((r) => r.id);

test('each client gets what its filter asks for', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db });
  const all = await openWs(`ws://${c.http}/ws`);
  const coord = await openWs(`ws://${c.http}/ws?agent=coordinator`);
  const warn = await openWs(`ws://${c.http}/ws?level=warn`);
  const tasks = await openWs(`ws://${c.http}/ws?type=task.*`);
  const other = await openWs(`ws://${c.http}/ws?trace=not-this-one`);
  const sub = await openWs(`ws://${c.http}/ws`);
  sub.ws.send(JSON.stringify({ type: 'subscribe', filter: { agentId: 'coordinator', eventType: 'message.sent' } }));
  await waitFor(() => sub.messages.some((m) => m.type === 'subscribed'), { what: 'subscribe ack' });

  await runSwarm(c.ingest, ['--agents', '4', '--duration', '2', '--speed', '10', '--seed', '3']);
  const total = await waitFor(() => { const [r] = sql(db, "SELECT count(*) AS n FROM traces WHERE status = 'completed'"); return r.n === 1 && sql(db, 'SELECT count(*) AS n FROM events')[0].n; });
  await waitFor(() => new Set(all.events().map((e) => e.seq)).size === total, { what: 'everything to the unfiltered client' });
  const seqs = (cl) => [...new Set(cl.events().map((e) => e.seq))].sort((a, b) => a - b);
  const expect = {
    coord: storedWhere(db, "a.name = 'coordinator'"),
    warn: storedWhere(db, 'e.level >= 2'),
    tasks: storedWhere(db, "ty.name LIKE 'task.%'"),
    sub: storedWhere(db, "a.name = 'coordinator' AND ty.name = 'message.sent'"),
  };
  await waitFor(() => seqs(coord).length === expect.coord.length && seqs(warn).length === expect.warn.length &&
    seqs(tasks).length === expect.tasks.length && seqs(sub).length === expect.sub.length, { what: 'filtered clients' });
  assert.deepEqual(seqs(coord), expect.coord);
  assert.deepEqual(seqs(warn), expect.warn);
  assert.deepEqual(seqs(tasks), expect.tasks);
  assert.deepEqual(seqs(sub), expect.sub);
  assert.ok(expect.warn.length > 0 && expect.sub.length > 0, 'the filters select something');
  assert.equal(other.events().length, 0, 'another trace: nothing');
  assert.ok(!other.messages.some((m) => m.type === 'trace_start'), 'not even its start');

  // bad client messages get an error, and the connection stays usable
  sub.ws.send('not json');
  sub.ws.send(JSON.stringify({ type: 'dance' }));
  sub.ws.send(JSON.stringify({ type: 'subscribe', filter: { minLevel: 'loud' } }));
  await waitFor(() => sub.messages.filter((m) => m.type === 'error').length === 3, { what: 'three errors' });
  const bad = await openWs(`ws://${c.http}/ws?level=loud`);
  await waitFor(() => bad.messages.some((m) => m.type === 'error'), { what: 'URL filter error' });
  for (const cl of [all, coord, warn, tasks, other, sub, bad]) assert.equal(await cl.close(), 1000);
  assert.equal(await c.stop(), 0);
});

test('a stalled client slows neither ingest nor a fast client; heartbeats flow', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db });
  const fast = await openWs(`ws://${c.http}/ws`);
  const stalled = await openWs(`ws://${c.http}/ws`);
  stalled.ws._socket.pause(); // never reads again: its TCP window fills up
  const started = Date.now();
  const swarm = await runSwarm(c.ingest, ['--agents', '8', '--duration', '4', '--speed', '40', '--seed', '9']);
  const total = await waitFor(() => { const [r] = sql(db, 'SELECT count(*) AS n, sum(coalesce(count, 1)) AS k FROM events'); const [s] = sql(db, 'SELECT count(*) AS n FROM snapshots'); return r.k + s.n === swarm.sent && r.n; },
    { timeout: 20000, what: 'everything stored' });
  await waitFor(() => new Set(fast.events().map((e) => e.seq)).size === total, { timeout: 20000, what: 'the fast client has everything' });
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 15000, `ingest and the fast client kept up (${elapsed} ms for a 4 s swarm)`);
  await waitFor(() => fast.messages.some((m) => m.type === 'heartbeat'), { timeout: 15000, what: 'a heartbeat' });
  assert.equal(await fast.close(), 1000);
  assert.equal(await c.stop(), 0, 'shutdown does not hang on the stalled client');
  stalled.ws.terminate();
});

test('a thousand idle connections: live clients still served, one more refused', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db, extra: ['--max-clients', '1000'] });
  const { default: WebSocket } = await import('ws');
  const idle = [];
  t.after(() => { for (const w of idle) w.terminate(); });
  for (let i = 0; i < 998; i++) {
    const w = new WebSocket(`ws://${c.http}/ws?trace=nothing-here`);
    idle.push(w);
    await new Promise((res, rej) => { w.once('open', res); w.once('error', rej); });
  }
  const live = await openWs(`ws://${c.http}/ws`);
  const last = await openWs(`ws://${c.http}/ws?level=error`); // the 1000th
  const extra = new WebSocket(`ws://${c.http}/ws`);
  const outcome = await new Promise((r) => { extra.once('open', () => r('open')); extra.once('error', () => r('refused')); });
  assert.equal(outcome, 'refused', 'the 1001st connection is refused');
  const swarm = await runSwarm(c.ingest, ['--agents', '3', '--duration', '1', '--speed', '10']);
  const total = await waitFor(() => { const [r] = sql(db, 'SELECT count(*) AS n, sum(coalesce(count, 1)) AS k FROM events'); const [s] = sql(db, 'SELECT count(*) AS n FROM snapshots'); return r.k + s.n === swarm.sent && r.n; });
  await waitFor(() => new Set(live.events().map((e) => e.seq)).size === total, { what: 'the live client has everything' });
  const { getJson } = await import('./harness.mjs');
  assert.equal((await getJson(`${c.url}/healthz`)).body.wsClients, 1000);
  // a closed connection gives its place back
  idle.pop().close();
  await waitFor(async () => (await getJson(`${c.url}/healthz`)).body.wsClients === 999, { what: 'a place freed' });
  const again = await openWs(`ws://${c.http}/ws`);
  await again.close();
  await live.close();
  await last.close();
  assert.equal(await c.stop(), 0);
});
