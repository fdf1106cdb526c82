// load.test.mjs — 1000 WebSocket viewers held open while ingest runs at
// 10 000 events/s: a few subscribed to everything, the rest to narrow
// filters (one agent, or errors only), and one that stops reading (its
// socket paused). Checks that every event is stored at the rate sent,
// that the collector's memory stays bounded, and that the fast clients
// get events within 100 ms (p99, event timestamp to receive time). The
// fast clients run in a worker thread of their own (load_fast_viewers.mjs),
// as a browser would: on the main thread they would wait behind the other
// 995 viewers' messages, timing this process rather than the collector
// (the main thread's event-loop delay is printed as loopDelay*).
//
// Quick by default (15 s, part of `make test`); STRESS=1 (or
// LOAD_SECONDS=N) runs it for minutes (`make stress`). LOAD_RATE and
// LOAD_CLIENTS change the rate and the number of connections. Figures
// are printed as diagnostics, and as one JSON line when LOAD_REPORT names
// a file. Runs the optimized build by default: this measures speed, and
// ASan would measure ASan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, appendFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { once } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import WebSocket from 'ws';
import { BUILD, tempDir, startCollector, sql, getJson, waitFor } from './harness.mjs';
import { LatencyHistogram, SeqSet } from './latency.mjs';

const STRESS = process.env.STRESS === '1';
const SECONDS = +(process.env.LOAD_SECONDS || (STRESS ? 300 : 15));
const RATE = +(process.env.LOAD_RATE || 10000);
const CLIENTS = +(process.env.LOAD_CLIENTS || 1000);
const FAST = 4;                      // subscribed to everything, reading
const RSS_LIMIT_MB = 512;            // see bench/RESULTS.md for the measured figure
// The issue's target for the fast clients' p99 (bench/RESULTS.md has the
// figures: 25-70 ms even with the machine busy). Asserted when the machine
// was quiet before the test, or always with LOAD_STRICT=1.
const P99_TARGET_MS = 100;
// Latency measures the machine as much as the collector: on a box whose
// cores are already busy with other work before the test starts, the
// figure is reported but not asserted.
const loadPerCore = () => +readFileSync('/proc/loadavg', 'utf8').split(' ')[0] / cpus().length;

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? +m[1] / 1024 : 0;
}

/** CPU seconds (user + system) a process used so far. */
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (+f[11] + +f[12]) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

function nofileLimit() {
  const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m ? +m[1] : Infinity;
}

/** A viewer that counts what it gets and, if `latencies` is given, how
 * late each event arrived (µs timestamps against the receive time). */
function viewer(url, latencies = null) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const v = { ws, events: 0, messages: 0, errors: 0, seqs: latencies ? new SeqSet() : null };
  ws.on('message', (data) => {
    const now = Date.now() * 1000;
    const m = JSON.parse(String(data));
    v.messages++;
    if (m.type === 'error') v.errors++;
    if (m.type !== 'trace_event') return;
    for (const e of m.payload.events) {
      v.events++;
      if (latencies && v.seqs.add(e.seq)) latencies.add((now - e.timestamp) / 1000);
    }
  });
  v.opened = new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
  return v;
}

/** The fast viewers, in their own thread (see load_fast_viewers.mjs);
 * ask(op) resolves with the worker's next answer. */
function fastViewers(url, n) {
  const worker = new Worker(new URL('./load_fast_viewers.mjs', import.meta.url), { workerData: { url, n } });
  const answers = [];
  worker.on('message', (m) => answers.shift()?.(m));
  const opened = new Promise((res, rej) => answers.push((m) => (m.open ? res() : rej(new Error(m.failed)))));
  const ask = (op) => new Promise((res) => { answers.push(res); worker.postMessage({ op }); });
  return { worker, opened, ask };
}

test(`load: ${CLIENTS} WebSocket clients, ${RATE} events/s for ${SECONDS} s, one stalled`, { timeout: (SECONDS + 120) * 1000 }, async (t) => {
  const busyBefore = loadPerCore();
  assert.ok(nofileLimit() >= CLIENTS + 200, `ulimit -n is ${nofileLimit()}: raise it to hold ${CLIENTS} connections`);
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db, ui: null, extra: ['--max-clients', String(CLIENTS)] });
  const base = `ws://${c.http}/ws`;
  const narrowLat = new LatencyHistogram();
  const narrow = [];
  const all = [];
  t.after(() => { for (const v of all) v.ws.terminate(); });
  const fast = fastViewers(base, FAST);
  t.after(() => fast.worker.terminate());
  await fast.opened;
  const stalled = viewer(base);
  all.push(stalled);
  for (let i = 0; all.length < CLIENTS - FAST; i++) {
    // half one agent each, half errors only; a few of them timed too
    const url = i % 2 ? `${base}?level=error` : `${base}?agent=agent-${i % 1000}`;
    const v = viewer(url, i < 20 ? narrowLat : null);
    narrow.push(v);
    all.push(v);
    if (all.length % 100 === 0) await Promise.all(all.slice(-100).map((x) => x.opened));
  }
  await Promise.all(all.map((x) => x.opened));
  await stalled.opened;
  stalled.ws._socket.pause(); // never reads again: the kernel buffers fill, then its queue
  const h0 = await getJson(`${c.url}/healthz`);
  assert.equal(h0.body.wsClients, CLIENTS);
  const rssIdle = rssMb(c.proc.pid);

  // ingest, sampling memory and the stored count meanwhile
  let rssMax = rssIdle;
  const stored = [];
  const sampler = setInterval(async () => {
    rssMax = Math.max(rssMax, rssMb(c.proc.pid));
    try { stored.push([Date.now(), (await getJson(`${c.url}/healthz`)).body.eventsStored]); } catch { /* next time */ }
  }, 500);
  t.after(() => clearInterval(sampler));
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const t0 = Date.now();
  const cpu0 = cpuSeconds(c.proc.pid), ours0 = process.cpuUsage();
  const flood = spawn(join(BUILD, 'bin', 'wire-flood'), ['load', c.ingest, String(RATE), String(SECONDS), 'load'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  flood.stdout.on('data', (d) => { out += d; });
  const [code] = await once(flood, 'exit');
  assert.equal(code, 0);
  const m = /sent=(\d+) seconds=([\d.]+)/.exec(out);
  const sent = +m[1], sendSeconds = +m[2];
  const collectorCpu = (cpuSeconds(c.proc.pid) - cpu0) / sendSeconds;
  const ours = process.cpuUsage(ours0);
  const clientCpu = (ours.user + ours.system) / 1e6 / sendSeconds;
  const storedNow = () => sql(db, 'SELECT count(*) AS n FROM events')[0].n;
  await waitFor(() => storedNow() === sent, { timeout: 30000, interval: 250, what: `all ${sent} events stored` })
    .catch(() => {}); // asserted below, with the figures printed first
  const total = storedNow();
  const storedAt = Date.now();
  const errorsSent = Math.floor((sent - 1) / 997) + 1;
  if (total === sent) {
    await waitFor(async () => (await fast.ask('counts')).counts.every((n) => n === total),
      { timeout: 30000, what: 'the fast clients have every event' }).catch(() => {});
    await waitFor(() => narrow.filter((_, i) => i % 2).every((v) => v.events === errorsSent),
      { timeout: 30000, what: 'every errors-only client has every error' }).catch(() => {});
  }
  clearInterval(sampler);
  rssMax = Math.max(rssMax, rssMb(c.proc.pid));
  const h = (await getJson(`${c.url}/healthz`)).body;

  // ingest rate over the run: stored events per second while the producer ran
  const during = stored.filter(([ts]) => ts <= t0 + sendSeconds * 1000);
  const storeRate = during.length > 1
    ? (during.at(-1)[1] - during[0][1]) / ((during.at(-1)[0] - during[0][0]) / 1000) : NaN;
  const report = await fast.ask('report');
  const fastLat = LatencyHistogram.from(report.latencies);
  const fastStored = LatencyHistogram.from(report.stored);
  const fastCounts = await fast.ask('counts');
  const fig = {
    clients: CLIENTS, fast: FAST, narrow: narrow.length, stalled: 1, rate: RATE, seconds: SECONDS,
    sent, stored: total, sendSeconds, sentRate: Math.round(sent / sendSeconds), storedRate: Math.round(storeRate),
    allStoredAfterMs: storedAt - t0 - Math.round(sendSeconds * 1000),
    collectorCpuCores: +collectorCpu.toFixed(2), clientsCpuCores: +clientCpu.toFixed(2),
    loadPerCoreBefore: +busyBefore.toFixed(2),
    loadAvg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    rssIdleMb: Math.round(rssIdle), rssMaxMb: Math.round(rssMax),
    fastP50Ms: +fastLat.percentile(0.5).toFixed(1), fastP99Ms: +fastLat.percentile(0.99).toFixed(1),
    fastP999Ms: +fastLat.percentile(0.999).toFixed(1), fastMaxMs: +fastLat.max.toFixed(1),
    // of which ingest and storage: event timestamp to the stream message's
    fastPublishedP50Ms: +fastStored.percentile(0.5).toFixed(1), fastPublishedP99Ms: +fastStored.percentile(0.99).toFixed(1),
    narrowP99Ms: +narrowLat.percentile(0.99).toFixed(1),
    loopDelayP99Ms: +(loopDelay.percentile(99) / 1e6).toFixed(1), loopDelayMaxMs: +(loopDelay.max / 1e6).toFixed(1),
    stalledGot: stalled.events,
    fastGot: fastCounts.counts, errorsOnlyGot: narrow[1]?.events, errorsSent,
    storedSamples: stored.map(([ts, n]) => [Math.round((ts - t0) / 100) / 10, n]),
  };
  t.diagnostic(`load figures: ${JSON.stringify(fig)}`);
  if (process.env.LOAD_REPORT) appendFileSync(process.env.LOAD_REPORT, `${JSON.stringify({ date: new Date().toISOString(), ...fig })}\n`);

  assert.equal(total, sent, 'every event sent is stored');
  for (const n of fastCounts.counts) assert.equal(n, total, 'a fast client has every event');
  assert.equal(fastCounts.errors, 0);
  for (const v of narrow.filter((_, i) => i % 2)) assert.equal(v.events, errorsSent, 'an errors-only client has every error');
  assert.ok(fig.sentRate >= RATE * 0.95, `the producer kept its rate (${fig.sentRate}/s): ingest never pushed back`);
  assert.ok(fig.allStoredAfterMs < 5000, `everything stored ${fig.allStoredAfterMs} ms after the producer ended`);
  assert.ok(fig.rssMaxMb < RSS_LIMIT_MB, `collector RSS ${fig.rssMaxMb} MB stays under ${RSS_LIMIT_MB} MB`);
  if (process.env.LOAD_STRICT === '1' || busyBefore <= 1)
    assert.ok(fig.fastP99Ms < P99_TARGET_MS, `fast clients p99 ${fig.fastP99Ms} ms < ${P99_TARGET_MS} ms`);
  else
    t.diagnostic(`latency not asserted: load ${busyBefore.toFixed(2)} per core before the test (other work on this machine)`);
  for (const v of all) assert.equal(v.errors, 0);
  const { body } = await getJson(`${c.url}/healthz`);
  assert.equal(body.status, 'ok');
  assert.equal(body.eventsStored, sent);
  for (const v of all) if (v !== stalled) v.ws.close();
  fast.worker.postMessage({ op: 'close' });
  stalled.ws.terminate();
  assert.equal(await c.stop(), 0, 'clean shutdown with the stalled client still attached');
});
