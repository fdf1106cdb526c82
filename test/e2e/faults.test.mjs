// faults.test.mjs — faults injected into a running pipeline, with exact
// accounting afterwards: the collector stopped while agents keep working,
// the collector killed -9 in the middle of heavy ingest again and again,
// agents that abort, segfault or are killed -9, and agents without the
// right CURVE key. Real processes, real sockets, a real SQLite file.
//
// Quick by default (part of `make test`); test/stress/faults.sh runs the
// long versions through the same code with:
//   FAULTS_DOWN_S   seconds the collector stays down            (3)
//   FAULTS_KILLS    kill -9 / restart rounds of the collector   (5)
//   FAULTS_KILL_RATE  events/s of each of the two agents then  (20000; 0 = flat out)
//   FAULTS_REPORT   a file to append one JSON line of figures per test to
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { BUILD, startCollector, sql, getJson, tempDir, waitFor } from './harness.mjs';

const DOWN_S = Number(process.env.FAULTS_DOWN_S || 3);
const KILLS = Number(process.env.FAULTS_KILLS || 5);
const KILL_RATE = process.env.FAULTS_KILL_RATE || '20000'; // per agent; 0 = flat out
const BATCH = 100; // libtrace's max_events_per_batch (default)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function report(name, figures) {
  const line = JSON.stringify({ test: name, ...figures });
  console.log(`FIGURES ${line}`);
  if (process.env.FAULTS_REPORT) appendFileSync(process.env.FAULTS_REPORT, `${line}\n`);
}

/** test/tools/fault_producer.c as a child: numbered events, phases on stdin. */
function startProducer(t, ingest, args = [], env = {}) {
  const proc = spawn(join(BUILD, 'bin', 'fault-producer'), args, {
    env: { ...process.env, TRACE_COLLECTOR_URL: ingest, TRACE_SAMPLING_RATE: '1', TRACE_ADAPTIVE: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  const waiters = [];
  proc.stdout.on('data', (d) => {
    out += d;
    for (const w of waiters.splice(0)) if (!w()) waiters.push(w);
  });
  proc.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  t.after(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  const p = {
    proc, exited, out: () => out, err: () => err,
    /** resolves with the match once stdout has a line matching re */
    line(re, timeout = 20000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} from fault-producer in ${timeout} ms:\n${out}\n${err}`)), timeout);
        const check = () => { const m = re.exec(out); if (m) { clearTimeout(timer); resolve(m); return true; } return false; };
        if (!check()) waiters.push(check);
      });
    },
    send(cmd) { proc.stdin.write(`${cmd}\n`); },
    trace: async () => (await p.line(/^trace=(\S+)$/m))[1],
    /** "stop": trace_shutdown() in the producer; its phases and totals */
    async stop() {
      p.send('stop');
      const { code } = await exited;
      assert.equal(code, 0, `fault-producer exit ${code}:\n${err}`);
      return parseProducer(out);
    },
  };
  return p;
}

function parseProducer(out) {
  const phases = {};
  for (const m of out.matchAll(/^phase (\S+) calls=(\d+) p50_ns=(\d+) p99_ns=(\d+) max_ns=(\d+) rss_kb=(\d+) rss_max_kb=(\d+)$/gm))
    phases[m[1]] = { calls: +m[2], p50: +m[3], p99: +m[4], max: +m[5], rssKb: +m[6], rssMaxKb: +m[7] };
  const s = /^stats recorded=(\d+) sent=(\d+) dropped=(\d+) ring_full=(\d+) transport=(\d+) other=(\d+)$/m.exec(out);
  assert.ok(s, `no stats line:\n${out}`);
  return { phases, recorded: +s[1], sent: +s[2], dropped: +s[3], ringFull: +s[4], transport: +s[5], other: +s[6] };
}

/** What the database holds for one trace: events (merged repeats counted),
 * the fault-producer's sequence numbers, and the producers' loss counts. */
function stored(db, trace) {
  const [row] = sql(db, `SELECT
      (SELECT coalesce(sum(coalesce(e.count, 1)), 0) FROM events e JOIN traces t ON t.id = e.trace_id WHERE t.name = '${trace}') AS events,
      (SELECT count(*) FROM events e JOIN traces t ON t.id = e.trace_id JOIN event_types y ON y.id = e.type_id
        WHERE t.name = '${trace}' AND y.name = 'custom.fault') AS numbered,
      (SELECT coalesce(max(CAST(substr(e.message, 5) AS INTEGER)), 0) FROM events e JOIN traces t ON t.id = e.trace_id
        JOIN event_types y ON y.id = e.type_id WHERE t.name = '${trace}' AND y.name = 'custom.fault') AS maxSeq,
      (SELECT count(*) FROM events e JOIN traces t ON t.id = e.trace_id JOIN event_types y ON y.id = e.type_id
        WHERE t.name = '${trace}' AND y.name = 'system.crash') AS crashes,
      (SELECT coalesce(sum(p.dropped_reported), 0) FROM producers p JOIN traces t ON t.id = p.trace_id WHERE t.name = '${trace}') AS dropped,
      (SELECT coalesce(sum(p.seq_gaps), 0) FROM producers p JOIN traces t ON t.id = p.trace_id WHERE t.name = '${trace}') AS gaps,
      (SELECT coalesce(sum(p.lost_in_transit), 0) FROM producers p JOIN traces t ON t.id = p.trace_id WHERE t.name = '${trace}') AS lostInTransit,
      (SELECT coalesce(min(p.finished), 0) FROM producers p JOIN traces t ON t.id = p.trace_id WHERE t.name = '${trace}') AS finished,
      (SELECT status FROM traces WHERE name = '${trace}') AS status`);
  return row;
}

test(`collector down for ${DOWN_S} s while an agent works: hot path as fast, memory bounded, sent = stored + reported dropped`, async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'traces.db');
  let c = await startCollector(t, { db, ui: null });
  const ingest = c.ingest; // the restarted collector binds the same endpoint
  const p = startProducer(t, ingest, ['--rate', '2000']);
  const trace = await p.trace();
  await sleep(500); // past start-up (first ring, handshake)
  p.send('phase up');
  await sleep(2000);
  p.send('phase down');
  assert.equal(await c.stop(), 0);
  await sleep(DOWN_S * 1000);
  c = await startCollector(t, { db, ui: null, ingest });
  p.send('phase up_again');
  await sleep(2000);
  const r = await p.stop();
  await waitFor(() => stored(db, trace).finished === 1, { what: 'the final batch' });
  const s = stored(db, trace);

  const { up, down, up_again: again } = r.phases;
  assert.ok(up && down && again, `three phases:\n${p.out()}`);
  assert.ok(down.calls >= DOWN_S * 1000, `the agent kept recording while the collector was down (${down.calls})`);
  assert.ok(r.transport > 0, 'events recorded while nobody listened were dropped, and counted');
  // the accounting: every event is stored or was reported dropped, exactly
  assert.equal(s.dropped, r.dropped, 'every drop libtrace counted reached the collector');
  // a batch on the wire when the collector stopped is lost with it: the
  // collector counts its events from libtrace's own count of sent events
  assert.equal(s.events + s.lostInTransit, r.sent, 'every event libtrace sent is stored or counted lost in transit');
  assert.ok(s.lostInTransit === 0 || s.gaps > 0);
  assert.equal(s.events + s.dropped + s.lostInTransit, r.recorded, 'recorded = stored + reported dropped (+ counted lost in transit)');
  // the hot path does not notice: no blocking, no growth
  // (two phases with the collector up are the control: this machine is
  // shared. A call that waited on the network would take milliseconds;
  // the margin is for scheduling noise, not for that.)
  const upP99 = Math.max(up.p99, again.p99);
  assert.ok(down.p99 <= 3 * upP99 + 1000, `p99 while down ${down.p99} ns vs up ${up.p99} / ${again.p99} ns`);
  assert.ok(down.rssMaxKb <= up.rssKb + 2048, `RSS while down ${down.rssMaxKb} KB vs ${up.rssKb} KB before`);
  assert.ok(again.rssMaxKb <= up.rssKb + 2048, `RSS after ${again.rssMaxKb} KB vs ${up.rssKb} KB before`);
  assert.equal(await c.stop(), 0);
  report('collector-down', {
    downSeconds: DOWN_S, recorded: r.recorded, sent: r.sent, stored: s.events, reportedDropped: s.dropped,
    lostInTransit: s.lostInTransit, lostUncounted: r.recorded - s.events - s.dropped - s.lostInTransit, missingBatches: s.gaps,
    p50UpNs: up.p50, p99UpNs: up.p99, p50DownNs: down.p50, p99DownNs: down.p99, p99AfterNs: again.p99,
    rssUpKb: up.rssKb, rssMaxDownKb: down.rssMaxKb, rssMaxAfterKb: again.rssMaxKb,
  });
});

test(`collector killed -9 during heavy ingest, ${KILLS} times: the database stays intact and keeps every committed row`, async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'traces.db');
  let c = await startCollector(t, { db, ui: null });
  const ingest = c.ingest;
  // two busy agents: the writer commits all the time
  const agents = [startProducer(t, ingest, ['--rate', KILL_RATE]), startProducer(t, ingest, ['--rate', KILL_RATE])];
  const traces = await Promise.all(agents.map((a) => a.trace()));
  const rounds = [];
  let lastCount = 0;
  for (let round = 1; round <= KILLS; round++) {
    // let this collector commit a good deal more than the last one did
    const target = lastCount + 2000;
    await waitFor(() => sql(db, 'SELECT count(*) AS n FROM events')[0].n >= target, { timeout: 30000, what: `${target} events in round ${round}` });
    const [before] = sql(db, 'SELECT count(*) AS n, max(id) AS max FROM events');
    c.proc.kill('SIGKILL');
    await once(c.proc, 'exit');
    c = await startCollector(t, { db, ui: null, ingest });
    assert.deepEqual(sql(db, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }], `round ${round}: integrity`);
    const [kept] = sql(db, `SELECT count(*) AS n FROM events WHERE id <= ${before.max}`);
    assert.equal(kept.n, before.n, `round ${round}: every row committed before the kill is still there`);
    // the restarted collector serves what is there (and ingests on)
    const list = await getJson(`${c.url}/api/traces`);
    assert.equal(list.status, 200);
    const [now] = sql(db, 'SELECT count(*) AS n FROM events');
    const served = list.body.traces.filter((x) => traces.includes(x.id)).reduce((n, x) => n + x.eventCount, 0);
    assert.ok(served >= before.n, `round ${round}: REST serves ${served} ≥ ${before.n} events`);
    lastCount = now.n;
    rounds.push({ round, committedBeforeKill: before.n, afterRestart: kept.n });
  }
  // the collector checkpoints the WAL as it goes: the main file has the
  // rows before any clean stop (a killed collector leaves no growing WAL)
  await waitFor(() => statSync(db).size > 64 * 1024, { what: 'a WAL checkpoint into the main file' });
  const results = await Promise.all(agents.map((a) => a.stop()));
  await waitFor(() => traces.every((tr) => stored(db, tr).finished === 1), { what: 'the final batches' });
  // whatever the kills cost is counted: by libtrace (dropped), or by the
  // collector (sent by libtrace, never received: in a killed collector's buffers)
  let lostInKills = 0, missing = 0, recorded = 0, storedTotal = 0, droppedTotal = 0;
  for (const [i, tr] of traces.entries()) {
    const s = stored(db, tr);
    const r = results[i];
    recorded += r.recorded;
    storedTotal += s.events;
    droppedTotal += s.dropped;
    missing += s.gaps;
    lostInKills += s.lostInTransit;
    assert.equal(s.dropped, r.dropped, 'every drop libtrace counted reached the collector');
    assert.equal(s.events + s.lostInTransit, r.sent, 'sent = stored + lost in transit, counted by the collector');
    assert.equal(s.events + s.dropped + s.lostInTransit, r.recorded, 'nothing lost uncounted');
    assert.ok(s.lostInTransit === 0 || s.gaps > 0, 'events lost in transit went with missing batches');
  }
  assert.deepEqual(sql(db, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
  assert.equal(await c.stop(), 0);
  report('collector-kill9', { kills: KILLS, ratePerAgent: Number(KILL_RATE), recorded, stored: storedTotal, reportedDropped: droppedTotal,
    lostInTransit: lostInKills, lostUncounted: recorded - storedTotal - droppedTotal - lostInKills, missingBatches: missing, rounds: rounds.length,
    minCommittedAtKill: Math.min(...rounds.map((r) => r.committedBeforeKill)), committedRowsLost: 0 });
});

for (const how of ['abort', 'segv']) {
  test(`an agent that dies of ${how === 'abort' ? 'abort() (SIGABRT)' : 'a write to a read-only page (SIGSEGV)'} delivers its events and ends the trace in error`, async (t) => {
    const db = join(tempDir(t), 'traces.db');
    const c = await startCollector(t, { db, ui: null });
    const N = 3000;
    const p = startProducer(t, c.ingest, ['--rate', '5000', '--crash', how, '--after', String(N)]);
    const trace = await p.trace();
    const { code, signal } = await p.exited;
    assert.ok(code !== 0 || signal, `the agent died (${code}, ${signal})`);
    if (!process.env.ASAN_OPTIONS) assert.equal(signal, how === 'abort' ? 'SIGABRT' : 'SIGSEGV', 'of its own signal, re-raised');
    const s = await waitFor(() => { const x = stored(db, trace); return x.crashes === 1 && x; }, { what: 'the system.crash event' });
    assert.ok(s.numbered >= N - BATCH, `at least N − one batch stored (${s.numbered} of ${N})`);
    assert.equal(s.numbered, s.maxSeq, 'no hole: what is stored is events 1..M');
    assert.equal(s.status, 'error');
    const list = (await getJson(`${c.url}/api/traces?status=error`)).body.traces;
    const summary = list.find((x) => x.id === trace);
    assert.ok(summary && summary.status === 'error' && summary.endTime >= summary.startTime, 'REST lists the trace as ended in error');
    assert.match(c.stderr(), /crashed; trace status error/);
    assert.equal(await c.stop(), 0);
    report(`agent-${how}`, { recordedBeforeCrash: N, stored: s.numbered, lost: N - s.numbered, status: s.status });
  });
}

test('an agent killed -9 loses at most its last unflushed batch', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db, ui: null });
  const p = startProducer(t, c.ingest, ['--rate', '2000', '--progress', '10']);
  const trace = await p.trace();
  const m = await p.line(/^recorded (1[5-9]\d\d|[2-9]\d\d\d) sent (\d+)$/m);
  p.proc.kill('SIGKILL');
  await p.exited;
  // at the last line: N recorded, S of them (agent.created included)
  // handed to ZeroMQ; the rest was the unflushed batch and the ring
  const [reported, sentThen] = [+m[1], +m[2] - 1];
  await sleep(500);
  const s = stored(db, trace);
  assert.equal(s.numbered, s.maxSeq, 'no hole: what is stored is events 1..M');
  assert.ok(s.numbered >= sentThen, `every event that had left the agent is stored (${s.numbered} ≥ ${sentThen})`);
  // the unflushed part: the batch being filled (≤ 100 events) and what the
  // flusher had not yet taken from the ring (~10 ms of events), unless
  // this shared machine did not schedule the flusher
  const unflushed = reported - sentThen;
  if (unflushed > BATCH + 2000 * 0.05) console.log(`# a starved flusher: ${unflushed} events unflushed`);
  assert.equal(s.status, 'active', 'no crash marker from SIGKILL: the trace stays open');
  assert.equal(await c.stop(), 0);
  report('agent-kill9', { recordedAtLeast: reported, sentBeforeKill: sentThen, unflushedAtKill: unflushed, stored: s.numbered, lostAtMost: reported - s.numbered });
});

test('CURVE: an agent with the collector key delivers; without it or with a wrong one nothing is stored, and the collector stays up', async (t) => {
  const dir = tempDir(t);
  const keygen = () => {
    const out = execFileSync(join(BUILD, 'bin', 'trace-collector'), ['--curve-keygen'], { encoding: 'utf8' });
    return { pub: /^public-key (\S{40})$/m.exec(out)[1], sec: /^secret-key (\S{40})$/m.exec(out)[1], text: out };
  };
  const server = keygen(), client = keygen(), stranger = keygen();
  writeFileSync(join(dir, 'server.key'), server.text, { mode: 0o600 });
  writeFileSync(join(dir, 'clients'), `# agents allowed in\n${client.pub}\n`);
  const run = async (c, env) => {
    const p = startProducer(t, c.ingest, ['--rate', '2000'], env);
    const trace = await p.trace();
    await sleep(700);
    return { trace, ...(await p.stop()) };
  };
  const count = (db, trace) => sql(db, `SELECT count(*) AS n FROM traces WHERE name = '${trace}'`)[0].n;

  // any agent that knows the collector's public key
  const db1 = join(dir, 'open.db');
  const c1 = await startCollector(t, { db: db1, ui: null, extra: ['--curve-secret-key-file', join(dir, 'server.key')] });
  const good = await run(c1, { TRACE_CURVE_SERVER_KEY: server.pub });
  await waitFor(() => stored(db1, good.trace).finished === 1, { what: 'the keyed agent' });
  assert.equal(stored(db1, good.trace).events, good.sent);
  assert.equal(good.dropped, 0);
  const plain = await run(c1, {});
  const wrong = await run(c1, { TRACE_CURVE_SERVER_KEY: stranger.pub });
  for (const r of [plain, wrong]) {
    assert.equal(r.sent, 0, 'nothing left the agent');
    assert.equal(r.dropped, r.recorded, 'and it counted every event as dropped');
    assert.equal(count(db1, r.trace), 0, 'nothing stored');
  }
  assert.equal((await getJson(`${c1.url}/healthz`)).body.status, 'ok');
  assert.equal(await c1.stop(), 0);

  // only listed clients
  const db2 = join(dir, 'listed.db');
  const c2 = await startCollector(t, { db: db2, ui: null, extra: ['--curve-secret-key-file', join(dir, 'server.key'),
    '--curve-allowed-clients', join(dir, 'clients')] });
  const listed = await run(c2, { TRACE_CURVE_SERVER_KEY: server.pub, TRACE_CURVE_PUBLIC_KEY: client.pub, TRACE_CURVE_SECRET_KEY: client.sec });
  await waitFor(() => stored(db2, listed.trace).finished === 1, { what: 'the listed agent' });
  assert.equal(stored(db2, listed.trace).events, listed.sent);
  const unlisted = await run(c2, { TRACE_CURVE_SERVER_KEY: server.pub, TRACE_CURVE_PUBLIC_KEY: stranger.pub, TRACE_CURVE_SECRET_KEY: stranger.sec });
  const ephemeral = await run(c2, { TRACE_CURVE_SERVER_KEY: server.pub });
  for (const r of [unlisted, ephemeral]) {
    assert.equal(r.sent, 0);
    assert.equal(count(db2, r.trace), 0, 'an unlisted key stores nothing');
  }
  assert.match(c2.stderr(), new RegExp(`refused a CURVE client whose key is not allowed \\(${stranger.pub.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; refusal #\\d+\\)`));
  assert.equal((await getJson(`${c2.url}/healthz`)).body.status, 'ok');
  assert.equal(await c2.stop(), 0);

  // a bad key file is refused at start, with a reason
  writeFileSync(join(dir, 'bad.key'), 'secret-key tooshort\n');
  const bad = spawn(join(BUILD, 'bin', 'trace-collector'), ['--db', join(dir, 'x.db'), '--listen', '127.0.0.1:0', '--ingest', 'tcp://127.0.0.1:*', '--curve-secret-key-file', join(dir, 'bad.key')]);
  let berr = '';
  bad.stderr.on('data', (d) => { berr += d; });
  const [code] = await once(bad, 'exit');
  assert.equal(code, 2);
  assert.match(berr, /no 40-character Z85 secret key/);
  report('curve', { keyedStored: good.sent, plainRefusedStored: 0, wrongKeyStored: 0, listedStored: listed.sent, unlistedStored: 0 });
});

test('a database made before lost-in-transit accounting gets its columns and keeps its rows', async (t) => {
  const db = join(tempDir(t), 'old.db');
  // the producers table as it was before received / lost_in_transit
  execFileSync('sqlite3', [db, `CREATE TABLE producers (id INTEGER PRIMARY KEY, trace_id INTEGER NOT NULL,
    first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_seq INTEGER NOT NULL,
    batches INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0,
    dropped_reported INTEGER NOT NULL DEFAULT 0, seq_gaps INTEGER NOT NULL DEFAULT 0,
    finished INTEGER NOT NULL DEFAULT 0) STRICT;
    INSERT INTO producers(id, trace_id, first_seen, last_seen, last_seq, events) VALUES (7, 99, 1, 1, 3, 42);`]);
  const c = await startCollector(t, { db, ui: null });
  const p = startProducer(t, c.ingest, ['--rate', '2000']);
  const trace = await p.trace();
  await sleep(500);
  const r = await p.stop();
  await waitFor(() => stored(db, trace).finished === 1, { what: 'the final batch' });
  const s = stored(db, trace);
  assert.equal(s.events + s.dropped + s.lostInTransit, r.recorded);
  assert.deepEqual(sql(db, 'SELECT events, received, lost_in_transit FROM producers WHERE id = 7'), [{ events: 42, received: 0, lost_in_transit: 0 }]);
  assert.equal(await c.stop(), 0);
});
