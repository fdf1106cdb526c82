// pipeline.test.mjs — the walking skeleton end to end: swarm-demo (libtrace)
// → ZeroMQ → trace-collector → SQLite → REST and WebSocket, with exact
// counts. Real processes, real sockets, a real database file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startCollector, runSwarm, sql, getJson, openWs, tempDir, waitFor } from './harness.mjs';

test('every event the swarm sent is stored, served by REST and streamed over WebSocket', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'traces.db');
  const c = await startCollector(t, { db });
  const client = await openWs(`ws://${c.http}/ws`);

  const swarm = await runSwarm(c.ingest, ['--agents', '5', '--duration', '3', '--speed', '10', '--seed', '7']);
  assert.equal(swarm.dropped, 0, 'nothing dropped with the collector up');
  assert.equal(swarm.sampledOut, 0, 'sampling rate 1 keeps everything');
  assert.equal(swarm.sent, swarm.recorded);
  assert.ok(swarm.sent > 200, `a busy swarm sends plenty (${swarm.sent})`);

  // exact count in SQLite: events + snapshots = what libtrace sent
  const count = async () => {
    // events are rows; a row may stand for several merged identical events
    const [row] = sql(db, `SELECT (SELECT count(*) FROM events e JOIN traces t ON t.id = e.trace_id WHERE t.name = '${swarm.trace}') AS events,
                                  (SELECT sum(coalesce(e.count, 1)) FROM events e JOIN traces t ON t.id = e.trace_id WHERE t.name = '${swarm.trace}') AS represented,
                                  (SELECT count(*) FROM snapshots s JOIN traces t ON t.id = s.trace_id WHERE t.name = '${swarm.trace}') AS snapshots`);
    return row;
  };
  const stored = await waitFor(async () => { const r = await count(); return r.represented + r.snapshots === swarm.sent && r; },
    { what: `${swarm.sent} rows in SQLite` });
  assert.ok(stored.snapshots > 0, 'the swarm records snapshots');
  // libtrace's own cost reports land in metrics, not among the swarm's events
  const overhead = sql(db, "SELECT json_extract(metadata, '$.recorded') AS recorded, json_extract(metadata, '$.trace') AS trace FROM metrics WHERE metric_type = 'tracing.overhead'");
  assert.ok(overhead.length >= 1, 'at least the report at shutdown');
  assert.equal(overhead.reduce((n, r) => n + r.recorded, 0), swarm.recorded, 'reports add up to what was recorded');
  assert.ok(overhead.every((r) => r.trace === swarm.trace));
  const [prod] = sql(db, 'SELECT sum(dropped_reported) AS dropped, sum(seq_gaps) AS gaps, min(finished) AS finished FROM producers');
  assert.deepEqual(prod, { dropped: 0, gaps: 0, finished: 1 });

  // REST: the trace, its agents, and every event through pagination
  const list = await getJson(`${c.url}/api/traces`);
  assert.equal(list.status, 200);
  const summary = list.body.traces.find((x) => x.id === swarm.trace);
  assert.ok(summary, 'trace listed');
  assert.equal(summary.eventCount, stored.events);
  assert.equal(summary.agentCount, 5);
  assert.equal(summary.status, 'completed');
  assert.ok(summary.endTime >= summary.startTime);

  const detail = await getJson(`${c.url}/api/traces/${encodeURIComponent(swarm.trace)}`);
  assert.equal(detail.status, 200);
  assert.equal(detail.body.agents.length, 5);
  assert.ok(detail.body.agents.some((a) => a.type === 'coordinator'));
  assert.deepEqual(detail.body.loss, { producers: 1, droppedReported: 0, missingBatches: 0 });

  const seen = new Set();
  let page = 0;
  for (let offset = 0; ; offset += 500, page++) {
    const r = await getJson(`${c.url}/api/traces/${encodeURIComponent(swarm.trace)}/events?limit=500&offset=${offset}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.total, stored.events);
    for (const e of r.body.events) {
      assert.equal(e.traceId, swarm.trace);
      assert.equal(typeof e.timestamp, 'number');
      assert.ok(Number.isInteger(e.timestamp) && e.timestamp > 1.7e15, 'µs since the epoch');
      seen.add(e.seq);
    }
    if (r.body.events.length < 500) break;
  }
  assert.ok(page >= 0);
  assert.equal(seen.size, stored.events, 'pagination returns every event once');

  // WebSocket: the live client got every event exactly once
  await waitFor(() => new Set(client.events().map((e) => e.seq)).size === stored.events,
    { what: `${stored.events} events over the WebSocket` });
  const streamed = client.events();
  assert.equal(new Set(streamed.map((e) => e.seq)).size, streamed.length, 'no duplicates live');
  assert.ok(client.messages.some((m) => m.type === 'trace_start' && m.traceId === swarm.trace));
  assert.ok(client.messages.some((m) => m.type === 'trace_end' && m.traceId === swarm.trace && m.payload.status === 'completed'));
  for (const m of client.messages.filter((x) => x.type === 'trace_event')) {
    assert.equal(typeof m.payload.batchId, 'string');
    assert.equal(m.payload.sequenceNumber, Math.max(...m.payload.events.map((e) => e.seq)));
  }
  assert.equal(await client.close(), 1000, 'the collector answers a close frame');
  assert.equal(await c.stop(), 0, 'SIGINT: flush and exit 0');
});

test('a client reconnecting with ?since= catches up from SQLite', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db });
  const swarm = await runSwarm(c.ingest, ['--agents', '3', '--duration', '1', '--speed', '10']);
  const total = await waitFor(() => { const [r] = sql(db, 'SELECT count(*) AS n, max(id) AS max FROM events'); return r.n > 0 && r; });
  const half = Math.floor(total.max / 2);
  const client = await openWs(`ws://${c.http}/ws?since=${half}`);
  await waitFor(() => client.events().length === total.max - half, { what: 'catch-up events' });
  const seqs = client.events().map((e) => e.seq);
  assert.equal(Math.min(...seqs), half + 1);
  assert.equal(Math.max(...seqs), total.max);
  assert.ok(client.events().every((e) => e.traceId === swarm.trace));
  await client.close();
  assert.equal(await c.stop(), 0);
});

test('batches are self-contained: a restarted collector on the same port keeps the trace going', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const first = await startCollector(t, { db });
  const ingest = first.ingest;
  const { spawn } = await import('node:child_process');
  const { BUILD } = await import('./harness.mjs');
  const swarm = spawn(join(BUILD, 'bin', 'swarm-demo'), ['--agents', '4', '--duration', '6', '--speed', '5', '--quiet'], {
    env: { ...process.env, TRACE_COLLECTOR_URL: ingest, TRACE_SAMPLING_RATE: '1', TRACE_ADAPTIVE: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  swarm.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((r) => swarm.on('exit', r));
  t.after(() => swarm.kill('SIGKILL'));

  await waitFor(() => sql(db, 'SELECT count(*) AS n FROM events')[0].n > 50, { what: 'events before the restart' });
  assert.equal(await first.stop(), 0);
  const before = sql(db, 'SELECT count(*) AS n FROM events')[0].n;
  const second = await startCollector(t, { db, ingest });
  assert.equal(await exited, 0);
  const { parseSwarmLine } = await import('./harness.mjs');
  const stats = parseSwarmLine(out);
  await waitFor(() => sql(db, 'SELECT min(finished) AS f FROM producers')[0].f === 1, { what: 'the final batch' });
  const after = sql(db, 'SELECT count(*) AS n FROM events')[0].n;
  assert.ok(after > before, `events stored after the restart (${before} → ${after})`);
  // one trace, the same agents, names resolved from each batch's own strings
  const traces = sql(db, 'SELECT name, agent_count FROM traces');
  assert.deepEqual(traces, [{ name: stats.trace, agent_count: 4 }]);
  const unknown = sql(db, "SELECT count(*) AS n FROM events e JOIN agents a ON a.id = e.agent_id WHERE a.name = ''")[0].n;
  assert.equal(unknown, 0);
  // what was lost while the collector was down is counted, never invented
  const [p] = sql(db, 'SELECT sum(events) AS events, sum(dropped_reported) AS dropped FROM producers');
  const snaps = sql(db, 'SELECT count(*) AS n FROM snapshots')[0].n;
  const represented = sql(db, 'SELECT sum(coalesce(count, 1)) AS n FROM events')[0].n;
  assert.equal(p.events, represented, 'producers.events counts every stored event');
  assert.ok(represented + snaps + p.dropped <= stats.sent + stats.dropped);
  const health = await getJson(`${second.url}/healthz`);
  assert.equal(health.body.storeErrors, 0, 'names stored before the restart are reused, not re-inserted');
  assert.equal(health.body.batchesRejected, 0);
  assert.equal(await second.stop(), 0);
});

test('with --token, REST and WebSocket need it; bad parameters get JSON errors', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db, token: 's3cret' });
  const none = await getJson(`${c.url}/api/traces`);
  assert.equal(none.status, 401);
  assert.equal(none.body.error.status, 401);
  assert.equal((await getJson(`${c.url}/api/traces`, { Authorization: 'Bearer wrong' })).status, 401);
  const ok = await getJson(`${c.url}/api/traces`, { Authorization: 'Bearer s3cret' });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body.traces, []);

  const auth = { Authorization: 'Bearer s3cret' };
  for (const [path, status] of [['/api/traces?limit=0', 400], ['/api/traces?limit=abc', 400], ['/api/traces?offset=-1', 400],
    ['/api/traces/nope', 404], ['/api/traces/nope/events', 404], ['/api/nothing', 404],
    ["/api/traces/x'%20OR%201=1--/events", 404]]) {
    const r = await getJson(c.url + path, auth);
    assert.equal(r.status, status, path);
    assert.equal(r.body.error.status, status);
    assert.equal(typeof r.body.error.message, 'string');
  }

  const { default: WebSocket } = await import('ws');
  const refused = new WebSocket(`ws://${c.http}/ws`);
  const outcome = await new Promise((r) => { refused.on('open', () => r('open')); refused.on('error', () => r('refused')); });
  assert.equal(outcome, 'refused');
  const client = await openWs(`ws://${c.http}/ws?token=s3cret`);
  assert.equal(await client.close(), 1000);
  assert.equal(await c.stop(), 0);
});

test('collector down at first: every event is stored or reported dropped, exactly', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  // find a free port, then leave it closed while the swarm starts
  const probe = await startCollector(t, { db: join(tempDir(t), 'probe.db') });
  const ingest = probe.ingest;
  assert.equal(await probe.stop(), 0);

  const { spawn } = await import('node:child_process');
  const { BUILD, parseSwarmLine } = await import('./harness.mjs');
  const swarm = spawn(join(BUILD, 'bin', 'swarm-demo'), ['--agents', '4', '--duration', '4', '--speed', '10', '--quiet'], {
    env: { ...process.env, TRACE_COLLECTOR_URL: ingest, TRACE_SAMPLING_RATE: '1', TRACE_ADAPTIVE: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  swarm.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((r) => swarm.on('exit', r));
  t.after(() => swarm.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 1500)); // the swarm works, nobody listens
  const c = await startCollector(t, { db, ingest });
  assert.equal(await exited, 0);
  const stats = parseSwarmLine(out);
  assert.ok(stats.dropped > 0, 'events recorded while the collector was down are dropped and counted');
  await waitFor(() => sql(db, 'SELECT min(finished) AS f FROM producers')[0].f === 1, { what: 'the final batch' });
  const [row] = sql(db, `SELECT (SELECT sum(coalesce(count, 1)) FROM events) AS events,
                                (SELECT count(*) FROM snapshots) AS snapshots,
                                (SELECT sum(dropped_reported) FROM producers) AS dropped,
                                (SELECT sum(seq_gaps) FROM producers) AS gaps`);
  assert.equal(row.gaps, 0);
  assert.equal(row.dropped, stats.dropped, 'every drop was reported to the collector');
  assert.equal(row.events + row.snapshots, stats.sent, 'every event sent was stored');
  assert.equal(row.events + row.snapshots + row.dropped, stats.recorded, 'nothing lost uncounted');
  assert.equal(await c.stop(), 0);
});

test('malformed batches are rejected and counted while valid traffic flows', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db });
  const { execFileSync } = await import('node:child_process');
  const { BUILD } = await import('./harness.mjs');
  const out = execFileSync(join(BUILD, 'bin', 'wire-inject'), [c.ingest], { encoding: 'utf8' });
  const [, bad, good] = /bad=(\d+) good_events=(\d+)/.exec(out).map(Number);
  await waitFor(async () => (await getJson(`${c.url}/healthz`)).body.batchesRejected === bad, { what: `${bad} rejections` });
  await waitFor(() => sql(db, "SELECT count(*) AS n FROM events e JOIN traces t ON t.id = e.trace_id WHERE t.name = 'inject'")[0].n === good,
    { what: 'the valid batches on either side of the bad ones' });
  // the store was not touched by the bad ones, and the collector still works
  assert.deepEqual(sql(db, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
  const swarm = await runSwarm(c.ingest, ['--agents', '2', '--duration', '1', '--speed', '10']);
  await waitFor(() => sql(db, `SELECT sum(coalesce(e.count, 1)) AS n FROM events e JOIN traces t ON t.id = e.trace_id WHERE t.name = '${swarm.trace}'`)[0].n +
    sql(db, `SELECT count(*) AS n FROM snapshots s JOIN traces t ON t.id = s.trace_id WHERE t.name = '${swarm.trace}'`)[0].n === swarm.sent, { what: 'a normal swarm afterwards' });
  assert.match(c.stderr(), /rejected batch of \d+ bytes: bad magic/);
  assert.equal(await c.stop(), 0);
});
