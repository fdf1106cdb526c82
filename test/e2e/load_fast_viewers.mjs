// load_fast_viewers.mjs — the load test's fast viewers (subscribed to
// everything), in a worker thread of their own. A real viewer is a
// browser with its own event loop; on the test's main thread these would
// queue behind the 995 narrow viewers' messages and time the test
// process, not the collector. Messages from the parent: {op: 'counts'}
// → {counts: [distinct seqs per viewer]}, {op: 'report'} → {latencies,
// stored} (histograms of ms, event timestamp to receive time and to the collector's
// publishing it: ingest and storage alone; each seq once per viewer),
// {op: 'close'}. Latencies travel as histograms (latency.mjs), so the
// worker's memory stays flat however long the run.
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { LatencyHistogram, SeqSet } from './latency.mjs';

const { url, n } = workerData;
const latencies = new LatencyHistogram();
const stored = new LatencyHistogram(); // event timestamp to the collector's publishing it (the message's timestamp)
const viewers = [];
let errors = 0;
for (let i = 0; i < n; i++) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const v = { ws, seqs: new SeqSet() };
  ws.on('message', (data) => {
    const now = Date.now() * 1000;
    const m = JSON.parse(String(data));
    if (m.type === 'error') errors++;
    if (m.type !== 'trace_event') return;
    for (const e of m.payload.events) {
      if (!v.seqs.add(e.seq)) continue;
      latencies.add((now - e.timestamp) / 1000);
      stored.add((m.timestamp - e.timestamp) / 1000);
    }
  });
  viewers.push(v);
}
Promise.all(viewers.map((v) => new Promise((res, rej) => { v.ws.once('open', res); v.ws.once('error', rej); })))
  .then(() => parentPort.postMessage({ open: true }), (e) => parentPort.postMessage({ failed: String(e) }));
parentPort.on('message', (m) => {
  if (m.op === 'counts') parentPort.postMessage({ counts: viewers.map((v) => v.seqs.size), errors });
  if (m.op === 'report') parentPort.postMessage({ latencies: latencies.summary(), stored: stored.summary() });
  if (m.op === 'close') {
    for (const v of viewers) v.ws.close();
    parentPort.close();
  }
});
