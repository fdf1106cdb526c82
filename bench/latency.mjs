// latency.mjs — time from trace_event() to a WebSocket client, at a steady
// rate: a real collector, bench-latency_producer emitting RATE events/s
// through libtrace, and a WebSocket client here comparing each event's
// timestamp (taken by libtrace at the call) with the wall clock at arrival.
// Prints p50/p99/max in milliseconds as a Markdown row: for the steady
// state, after a first second of warm-up (the WebSocket client's JIT, the
// first trace's rows), and the p99 of the whole run, warm-up included.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from '../test/node_modules/ws/index.js';

const root = resolve(import.meta.dirname, '..');
const rate = Number(process.argv[2] || 100000), seconds = Number(process.argv[3] || 5);
const warmupS = Number(process.env.LATENCY_WARMUP_S ?? 1);
const dir = mkdtempSync(join(tmpdir(), 'latency-'));
const collector = spawn(join(root, 'build/bin/trace-collector'),
  ['--listen', '127.0.0.1:0', '--ingest', 'tcp://127.0.0.1:*', '--db', join(dir, 'l.db'), '--quiet'],
  { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
const ready = await new Promise((res) => collector.stdout.on('data', (d) => {
  out += d;
  const m = /http=(\S+) ingest=(\S+)/.exec(out);
  if (m) res({ http: m[1], ingest: m[2] });
}));
const ws = new WebSocket(`ws://${ready.http}/ws`);
await once(ws, 'open');
const lat = [];
const wallUs = () => (performance.timeOrigin + performance.now()) * 1000;
ws.on('message', (data) => {
  const now = wallUs();
  const m = JSON.parse(String(data));
  if (m.type !== 'trace_event') return;
  for (const e of m.payload.events) if (e.eventType === 'custom.tick') lat.push([e.timestamp, (now - e.timestamp) / 1000]);
});
const producer = spawn(join(root, 'build/bin/bench-latency_producer'), [String(rate), String(seconds + warmupS)],
  { env: { ...process.env, TRACE_COLLECTOR_URL: ready.ingest }, stdio: ['ignore', 'pipe', 'inherit'] });
let pout = '';
producer.stdout.on('data', (d) => { pout += d; });
await once(producer, 'exit');
const sent = Number(/sent=(\d+)/.exec(pout)?.[1] || 0);
const deadline = Date.now() + 20000;
while (lat.length < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
ws.close();
collector.kill('SIGINT');
await once(collector, 'exit');
rmSync(dir, { recursive: true, force: true });
const first = lat.reduce((m, [t]) => Math.min(m, t), Infinity);
const all = lat.map(([, l]) => l).sort((a, b) => a - b);
const steady = lat.filter(([t]) => t >= first + warmupS * 1e6).map(([, l]) => l).sort((a, b) => a - b);
const q = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))];
console.log(`| ${rate} events/s for ${seconds} s after ${warmupS} s of warm-up | ${sent} sent, ${lat.length} received | ` +
  `${q(steady, 0.5).toFixed(1)} ms | ${q(steady, 0.99).toFixed(1)} ms | ${steady[steady.length - 1].toFixed(1)} ms | ` +
  `${q(all, 0.99).toFixed(1)} ms |`);
