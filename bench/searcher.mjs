// searcher.mjs — a viewer that searches while ingest runs: GET
// /api/traces/:id/events/search over one keep-alive connection, RATE
// searches a second (0: back to back), across the first ten bench traces,
// until the file STOP exists. Prints how many were answered, and their p50.
import { existsSync } from 'node:fs';

const [http, rateArg, stop] = process.argv.slice(2);
const rate = Number(rateArg);
const took = [];
for (let n = 0; !existsSync(stop); n++) {
  const t0 = performance.now();
  const r = await fetch(`http://${http}/api/traces/bench-0000${n % 10}/events/search?q=step%201`);
  await r.arrayBuffer();
  took.push(performance.now() - t0);
  const wait = rate > 0 ? 1000 / rate - (performance.now() - t0) : 0;
  if (wait > 0) await new Promise((res) => setTimeout(res, wait));
}
took.sort((a, b) => a - b);
console.log(`${took.length} ${(took[took.length >> 1] ?? 0).toFixed(1)}`);
