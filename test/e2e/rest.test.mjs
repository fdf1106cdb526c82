// rest.test.mjs — the read side of the REST API against a real collector
// fed by the example swarm: filters, search, ranges, snapshots (checksum
// verified on the way out), the agent graph, metrics; and the 400/404
// answers for bad parameters and unknown ids. Compared with SQLite itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startCollector, runSwarm, sql, getJson, tempDir, waitFor } from './harness.mjs';

test('REST read endpoints answer from the store, with filters and errors', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db });
  const swarm = await runSwarm(c.ingest, ['--agents', '5', '--duration', '3', '--speed', '10', '--seed', '11', '--topology', 'mesh']);
  await waitFor(() => sql(db, "SELECT count(*) AS n FROM traces WHERE status = 'completed'")[0].n === 1, { what: 'trace completed' });
  const T = `${c.url}/api/traces/${encodeURIComponent(swarm.trace)}`;
  const count = (where) => sql(db, `SELECT count(*) AS n FROM events e JOIN agents a ON a.id = e.agent_id JOIN event_types ty ON ty.id = e.type_id WHERE ${where}`)[0].n;

  // traces: filters
  assert.equal((await getJson(`${c.url}/api/traces?status=completed`)).body.total, 1);
  assert.equal((await getJson(`${c.url}/api/traces?status=active`)).body.total, 0);
  assert.equal((await getJson(`${c.url}/api/traces?session=${encodeURIComponent(swarm.trace)}`)).body.total, 1);
  assert.equal((await getJson(`${c.url}/api/traces?session=nope`)).body.total, 0);
  assert.equal((await getJson(`${c.url}/api/traces?from=4102444800000000`)).body.total, 0);
  assert.equal((await getJson(`${c.url}/api/traces?status=bogus`)).status, 400);
  // lastSeq: the newest committed event seq, whatever the filter (the UI opens /ws?since= it)
  const [{ maxSeq }] = sql(db, 'SELECT max(id) AS maxSeq FROM events');
  assert.equal((await getJson(`${c.url}/api/traces`)).body.lastSeq, maxSeq);
  assert.equal((await getJson(`${c.url}/api/traces?status=active`)).body.lastSeq, maxSeq);

  // events: agent, type (exact and prefix), level, parent
  const byAgent = await getJson(`${T}/events?agent=coordinator&limit=10000`);
  assert.equal(byAgent.status, 200);
  assert.equal(byAgent.body.events.length, count("a.name = 'coordinator'"));
  assert.equal(byAgent.body.total, byAgent.body.events.length);
  assert.ok(byAgent.body.events.every((e) => e.agentId === 'coordinator'));
  const tasks = await getJson(`${T}/events?type=task.*&limit=10000`);
  assert.equal(tasks.body.events.length, count("ty.name LIKE 'task.%'"));
  assert.ok(tasks.body.events.every((e) => e.eventType.startsWith('task.')));
  const exact = await getJson(`${T}/events?type=task.started&limit=10000`);
  assert.ok(exact.body.events.length > 0 && exact.body.events.every((e) => e.eventType === 'task.started'));
  const warn = await getJson(`${T}/events?level=warn&limit=10000`);
  assert.equal(warn.body.events.length, count('e.level >= 2'));
  const span = exact.body.events[0].spanId;
  const children = await getJson(`${T}/events?parent=${span}&limit=10000`);
  assert.ok(children.body.events.every((e) => e.parentId === span));
  assert.equal(children.body.events.length, sql(db, `SELECT count(*) AS n FROM events WHERE parent_id = ${BigInt.asIntN(64, BigInt('0x' + span))}`)[0].n);

  // search within the trace; range by time
  const found = await getJson(`${T}/events/search?q=${encodeURIComponent('msgId')}&limit=1000`);
  assert.ok(found.body.events.length > 0);
  assert.ok(found.body.events.every((e) => JSON.stringify(e.metadata).includes('msgId') || (e.message || '').includes('msgId')));
  const [bounds] = sql(db, 'SELECT min(ts) AS lo, max(ts) AS hi FROM events');
  const mid = Math.floor((bounds.lo + bounds.hi) / 2);
  const range = await getJson(`${T}/events/range?from=${bounds.lo}&to=${mid}&limit=10000`);
  assert.equal(range.body.events.length, sql(db, `SELECT count(*) AS n FROM events WHERE ts BETWEEN ${bounds.lo} AND ${mid}`)[0].n);
  assert.ok(range.body.events.every((e) => e.timestamp >= bounds.lo && e.timestamp <= mid));

  // snapshots: list, then one, decompressed and checked
  const snaps = await getJson(`${T}/snapshots?agent=coordinator`);
  assert.equal(snaps.status, 200);
  assert.ok(snaps.body.snapshots.length > 0);
  assert.ok(snaps.body.snapshots.every((s) => s.agentId === 'coordinator'));
  // paging: from (inclusive) continues a list cut by limit
  const all = (await getJson(`${T}/snapshots?limit=10000`)).body.snapshots;
  assert.ok(all.length > 4);
  const firstPage = (await getJson(`${T}/snapshots?limit=3`)).body.snapshots;
  assert.deepEqual(firstPage.map((x) => x.id), all.slice(0, 3).map((x) => x.id));
  const next = (await getJson(`${T}/snapshots?limit=10000&from=${firstPage[2].timestamp}`)).body.snapshots;
  assert.ok(next.every((x) => x.timestamp >= firstPage[2].timestamp));
  assert.deepEqual(next.map((x) => x.id), all.filter((x) => x.timestamp >= firstPage[2].timestamp).map((x) => x.id));
  const one = await getJson(`${c.url}/api/snapshots/${snaps.body.snapshots[0].id}`);
  assert.equal(one.status, 200);
  assert.equal(typeof one.body.state, 'object');
  assert.equal(one.body.checksum, snaps.body.snapshots[0].checksum);

  // graph: every agent a node; links typed, messages paired with latency
  const graph = await getJson(`${T}/graph`);
  assert.equal(graph.status, 200);
  assert.equal(graph.body.nodes.length, 5);
  assert.ok(graph.body.nodes.every((n) => ['active', 'idle', 'busy', 'error'].includes(n.status)));
  // the swarm has ended: every agent's last lifecycle event was agent.stopped
  assert.ok(graph.body.nodes.every((n) => n.stopped === true && n.status === 'idle'), JSON.stringify(graph.body.nodes.map((n) => [n.id, n.status, n.stopped])));
  assert.ok(graph.body.nodes.some((n) => n.type === 'coordinator'));
  const comm = graph.body.links.filter((l) => l.type === 'communication');
  assert.ok(comm.length > 0);
  assert.ok(comm.every((l) => l.messageCount >= 1 && (l.latency === null || l.latency >= 0)));
  const sent = sql(db, "SELECT count(*) AS n FROM events e JOIN event_types ty ON ty.id = e.type_id WHERE ty.name = 'message.sent'")[0].n;
  assert.equal(comm.reduce((n, l) => n + l.messageCount, 0), sent, 'every message.sent is on a link');
  assert.ok(graph.body.links.some((l) => l.type === 'dependency' && l.source === 'coordinator'));
  assert.ok(graph.body.links.some((l) => l.type === 'coordination'));

  // metrics
  const over = await getJson(`${c.url}/api/metrics/overhead?trace=${encodeURIComponent(swarm.trace)}`);
  assert.equal(over.status, 200);
  assert.ok(over.body.reports >= 1);
  assert.equal(over.body.eventsRecorded, swarm.recorded);
  assert.ok(over.body.latest.length >= 1);
  const storage = await getJson(`${c.url}/api/metrics/storage`);
  assert.equal(storage.status, 200);
  assert.equal(storage.body.rows.events, sql(db, 'SELECT count(*) AS n FROM events')[0].n);
  assert.ok(storage.body.dbBytes > 0 && storage.body.bytesPerEvent > 0);

  // bad parameters and unknown ids
  for (const [path, status] of [
    [`${T}/events?level=loud`, 400], [`${T}/events?parent=xyz`, 400], [`${T}/events/search`, 400],
    [`${T}/events/range?from=5`, 400], [`${T}/events/range?from=9&to=1`, 400],
    [`${c.url}/api/snapshots/abc`, 400], [`${c.url}/api/snapshots/999999`, 404],
    [`${c.url}/api/traces/nope/graph`, 404], [`${c.url}/api/traces/nope/snapshots`, 404],
    [`${c.url}/api/traces/nope/events/search?q=x`, 404],
    [`${T}/events?agent=${encodeURIComponent("x' OR '1'='1")}`, 200],
  ]) {
    const r = await getJson(path);
    assert.equal(r.status, status, path);
    if (status !== 200) assert.equal(r.body.error.status, status);
    else assert.equal(r.body.events.length, 0, 'an injection string is just a value');
  }
  assert.equal(await c.stop(), 0);
});

test('events/columns: every event of a trace as columns, the same as the paged list', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db });
  const swarm = await runSwarm(c.ingest, ['--agents', '4', '--duration', '2', '--speed', '10', '--seed', '5']);
  await waitFor(() => sql(db, "SELECT count(*) AS n FROM traces WHERE status = 'completed'")[0].n === 1, { what: 'trace completed' });
  const T = `${c.url}/api/traces/${encodeURIComponent(swarm.trace)}`;
  const cols = await getJson(`${T}/events/columns`);
  assert.equal(cols.status, 200);
  const b = cols.body;
  const rows = (await getJson(`${T}/events?limit=10000`)).body.events;
  assert.ok(rows.length > 100);
  assert.equal(b.traceId, swarm.trace);
  assert.equal(b.count, rows.length);
  assert.equal(b.total, rows.length);
  for (const k of ['seq', 'ts', 'agent', 'type', 'level', 'kind', 'span', 'parent', 'duration', 'msg']) {
    assert.equal(b[k].length, b.count, `column ${k}`);
  }
  const kinds = { event: 0, span_begin: 1, span_end: 2 };
  const levels = { debug: 0, info: 1, warn: 2, error: 3 };
  // span ids and msgIds become dense numbers: one number per id, both ways
  const spanNo = new Map(), noSpan = new Map(), msgNo = new Map();
  const same = (map, back, key, n, what) => {
    if (key === null || key === undefined) return assert.equal(n, -1, `${what}: none is -1`);
    assert.ok(n >= 0, `${what}: numbered`);
    if (!map.has(key)) map.set(key, n);
    assert.equal(map.get(key), n, `${what} ${key}: one number`);
    if (back) {
      if (!back.has(n)) back.set(n, key);
      assert.equal(back.get(n), key, `${what} ${n}: one id`);
    }
  };
  rows.forEach((e, i) => {
    const got = { seq: b.seq[i], ts: b.ts[i], agent: b.agents[b.agent[i]], type: b.types[b.type[i]], level: b.level[i], kind: b.kind[i], duration: b.duration[i] };
    assert.deepEqual(got, {
      seq: e.seq, ts: e.timestamp, agent: e.agentId, type: e.eventType, level: levels[e.level], kind: kinds[e.kind], duration: e.duration,
    }, `event ${e.seq}`);
    same(spanNo, noSpan, e.spanId, b.span[i], 'span');
    same(spanNo, noSpan, e.parentId, b.parent[i], 'parent');
    same(msgNo, null, e.eventType.startsWith('message.') ? e.metadata.msgId : null, b.msg[i], 'msg');
  });
  assert.equal(b.spanCount, noSpan.size);
  assert.equal(b.msgCount, msgNo.size);
  assert.ok(b.msgCount > 0 && b.spanCount > 0, 'messages and spans are numbered');
  assert.deepEqual([...b.agents].sort(), sql(db, 'SELECT name FROM agents ORDER BY name').map((r) => r.name));

  // a time window and a limit
  const mid = rows[Math.floor(rows.length / 2)].timestamp;
  const half = (await getJson(`${T}/events/columns?from=${mid}`)).body;
  assert.equal(half.count, rows.filter((e) => e.timestamp >= mid).length);
  assert.ok(half.ts.every((ts) => ts >= mid));
  const firstTen = (await getJson(`${T}/events/columns?to=${mid}&limit=10`)).body;
  assert.deepEqual(firstTen.seq, rows.slice(0, 10).map((e) => e.seq));

  for (const [path, status] of [
    [`${T}/events/columns?from=9&to=1`, 400], [`${T}/events/columns?limit=0`, 400],
    [`${T}/events/columns?limit=1000001`, 400], [`${T}/events/columns?from=abc`, 400],
    [`${c.url}/api/traces/nope/events/columns`, 404],
  ]) {
    const r = await getJson(path);
    assert.equal(r.status, status, path);
    assert.equal(r.body.error.status, status);
  }
  assert.equal(await c.stop(), 0);
});

test('REST changes: add a snapshot, stop a trace, delete a trace', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db });
  const swarm = await runSwarm(c.ingest, ['--agents', '3', '--duration', '1', '--speed', '10', '--seed', '5']);
  const T = `${c.url}/api/traces/${encodeURIComponent(swarm.trace)}`;
  const send = (method, url, body) => fetch(url, {
    method, headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

  // a snapshot posted over REST reads back the same, checksum and all
  const state = { status: 'busy', currentTask: 't-9', memory: { k: 'v' } };
  const made = await send('POST', `${T}/snapshots`, { agentId: 'reviewer-9', stateType: 'agent_state', state, timestamp: 1795000000000000 });
  assert.equal(made.status, 201);
  assert.equal(made.body.agentId, 'reviewer-9');
  const back = await getJson(`${c.url}/api/snapshots/${made.body.id}`);
  assert.deepEqual(back.body.state, state);
  assert.equal(back.body.checksum, made.body.checksum);
  assert.equal(back.body.timestamp, 1795000000000000);
  for (const [body, why] of [['{not json', 'JSON'], [{ stateType: 'x', state: 1 }, 'agentId'],
    [{ agentId: 'a', state: 1 }, 'stateType'], [{ agentId: 'a', stateType: 'x' }, 'state'],
    [{ agentId: 'a', stateType: 'x', state: 1, timestamp: -5 }, 'timestamp']]) {
    const r = await send('POST', `${T}/snapshots`, body);
    assert.equal(r.status, 400, why);
    assert.match(r.body.error.message, new RegExp(why));
  }
  assert.equal((await send('POST', `${c.url}/api/traces/nope/snapshots`, { agentId: 'a', stateType: 'x', state: 1 })).status, 404);
  assert.equal((await send('POST', `${T}/snapshots`, 'x'.repeat(1100000))).status, 400);

  // stop: an active trace becomes completed (this one has completed already: still 200)
  assert.equal((await send('POST', `${T}/stop`)).status, 200);
  assert.equal((await getJson(T)).body.status, 'completed');
  assert.equal((await send('POST', `${c.url}/api/traces/nope/stop`)).status, 404);
  assert.equal((await send('PUT', T, {})).status, 405);

  // delete: gone from the API and from every table
  assert.equal((await send('DELETE', T)).status, 200);
  assert.equal((await getJson(T)).status, 404);
  const [left] = sql(db, `SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM snapshots) +
                                 (SELECT count(*) FROM agents) + (SELECT count(*) FROM traces) AS n`);
  assert.equal(left.n, 0);
  assert.equal((await send('DELETE', T)).status, 404);

  // the writer's caches forgot the trace: a new run of the same name is stored whole
  const again = await runSwarm(c.ingest, ['--agents', '3', '--duration', '1', '--speed', '10'], { TRACE_ID: swarm.trace });
  await waitFor(() => sql(db, 'SELECT min(finished) AS f, count(*) AS n FROM producers')[0].f === 1, { what: 'second run stored' });
  const [row] = sql(db, 'SELECT agent_count AS agents FROM traces');
  assert.equal(row.agents, 3);
  const health = await getJson(`${c.url}/healthz`);
  assert.equal(health.body.storeErrors, 0);
  assert.ok(again.sent > 0);
  assert.equal(await c.stop(), 0);
});

test('retention: debug events, then whole completed traces, go when their time is up', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db, extra: ['--retain-debug', '1s', '--retain-completed', '5s', '--retain-snapshots', '0', '--retention-every', '1s'] });
  const swarm = await runSwarm(c.ingest, ['--agents', '3', '--duration', '1', '--speed', '10']);
  await waitFor(() => sql(db, "SELECT count(*) AS n FROM traces WHERE status = 'completed'")[0].n === 1, { what: 'completed' });
  const before = sql(db, 'SELECT count(*) AS n, sum(level = 0) AS debug FROM events')[0];
  assert.ok(before.debug > 0, 'the swarm records debug events');
  await waitFor(() => sql(db, 'SELECT count(*) AS n FROM events WHERE level = 0')[0].n === 0, { what: 'debug events removed' });
  const mid = sql(db, 'SELECT count(*) AS n FROM events')[0].n;
  assert.equal(mid, before.n - before.debug, 'only the debug events went');
  assert.equal((await getJson(`${c.url}/api/traces/${swarm.trace}`)).body.eventCount, mid, 'the trace count follows');
  assert.ok(sql(db, 'SELECT count(*) AS n FROM snapshots')[0].n > 0, 'snapshots kept (0 = forever)');
  await waitFor(() => sql(db, 'SELECT count(*) AS n FROM traces')[0].n === 0, { timeout: 15000, what: 'the completed trace removed' });
  assert.equal(sql(db, 'SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM snapshots) + (SELECT count(*) FROM agents) AS n')[0].n, 0);
  assert.ok((await getJson(`${c.url}/healthz`)).body.retentionDeleted > 0);
  assert.equal(await c.stop(), 0);
});

test('bad retention settings are refused at start-up with a clear message', async () => {
  const { spawnSync } = await import('node:child_process');
  const { BUILD } = await import('./harness.mjs');
  const r = spawnSync(join(BUILD, 'bin', 'trace-collector'), ['--retain-debug', 'soon', '--listen', '127.0.0.1:0'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--retain-debug 'soon' is not a duration/);
  const l = spawnSync(join(BUILD, 'bin', 'trace-collector'), ['--log-level', 'loud', '--listen', '127.0.0.1:0'], { encoding: 'utf8' });
  assert.equal(l.status, 2);
  assert.match(l.stderr, /--log-level must be error, warn, info or debug/);
});

test('--log-level error keeps warnings out of the log, not out of the counters', async (t) => {
  const c = await startCollector(t, { db: join(tempDir(t), 'traces.db'), extra: ['--log-level', 'error'] });
  const { execFileSync } = await import('node:child_process');
  const { BUILD } = await import('./harness.mjs');
  const out = execFileSync(join(BUILD, 'bin', 'wire-inject'), [c.ingest], { encoding: 'utf8' });
  const bad = Number(/bad=(\d+)/.exec(out)[1]);
  await waitFor(async () => (await getJson(`${c.url}/healthz`)).body.batchesRejected === bad, { what: 'rejections counted' });
  assert.equal(await c.stop(), 0);
  assert.doesNotMatch(c.stderr(), /rejected batch|info/);
});
