// stream.test.mjs — the WebSocket stream against a real collector: per-client
// filters (URL and subscribe message), errors for bad client messages,
// heartbeats, and stalled clients that slow neither ingest nor a fast one,
// even more of them than the collector has sender threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { BUILD, startCollector, runSwarm, sql, openWs, getJson, tempDir, waitFor } from './harness.mjs';

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

// The collector writes with a pool of 4 sender threads (collector/stream.c):
// six stalled viewers that take everything fill their sockets and leave
// every pool thread stuck in a write, unless stuck senders are replaced.
test('more stalled clients than sender threads: stuck senders are replaced, a fast client keeps up', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db });
  const stalled = [];
  t.after(() => { for (const s of stalled) s.ws.terminate(); });
  for (let i = 0; i < 6; i++) {
    const s = await openWs(`ws://${c.http}/ws`);
    s.ws._socket.pause();
    stalled.push(s);
  }
  const fast = await openWs(`ws://${c.http}/ws`);
  // 20 000 events/s for 4 s: ~20 MB of text per viewer, more than a
  // loopback socket's buffers hold, so each stalled viewer blocks a write
  let worstLateMs = 0;
  fast.ws.on('message', (data) => {
    const m = JSON.parse(String(data));
    if (m.type !== 'trace_event') return;
    for (const e of m.payload.events) worstLateMs = Math.max(worstLateMs, Date.now() - e.timestamp / 1000);
  });
  let senders = 0;
  const watch = setInterval(async () => {
    try { senders = Math.max(senders, (await getJson(`${c.url}/healthz`)).body.wsSenderThreads); } catch { /* next time */ }
  }, 100);
  t.after(() => clearInterval(watch));
  const flood = spawn(join(BUILD, 'bin', 'wire-flood'), ['load', c.ingest, '20000', '4', 'stall'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  flood.stdout.on('data', (d) => { out += d; });
  assert.equal((await once(flood, 'exit'))[0], 0);
  const sent = +/sent=(\d+)/.exec(out)[1];
  await waitFor(() => new Set(fast.events().map((e) => e.seq)).size === sent, { timeout: 20000, what: 'the fast client has every event' });
  clearInterval(watch);
  const h = (await getJson(`${c.url}/healthz`)).body;
  t.diagnostic(`stalled x6: most sender threads ${senders}, stuck writes ${h.wsStuckWrites}, fast client's worst delay ${Math.round(worstLateMs)} ms`);
  assert.ok(h.wsStuckWrites >= 3, `the stalled clients blocked writes and the senders were replaced (${h.wsStuckWrites})`);
  assert.ok(senders > 4, `more sender threads than the pool's 4 while clients stalled (${senders})`);
  // a pool with every thread stuck would hold the fast client for the
  // 10 s write timeout; this is loose for ASan on a busy machine
  assert.ok(worstLateMs < 5000, `the fast client's worst delay ${Math.round(worstLateMs)} ms < 5 s`);
  assert.equal(await fast.close(), 1000);
  assert.equal(await c.stop(), 0, 'shutdown does not hang on the stalled clients');
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
