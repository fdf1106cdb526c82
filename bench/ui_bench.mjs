// ui_bench.mjs — the timeline with a big trace, in headless Chromium: a real
// collector, bench-ui_trace recording exactly N events through libtrace,
// then the UI served by the collector. Measures
//   - first paint: from the click on the trace to the timeline's first frame
//     with all N events laid out (bulk fetch, parse, layout, draw);
//   - frames per second while panning (A/D held: one pan per frame), with
//     half of the trace on screen and with a tenth of it.
// Prints Markdown rows. Usage: node bench/ui_bench.mjs [N] [SECONDS_OF_PAN]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from '../test/node_modules/playwright-core/index.mjs';

const root = resolve(import.meta.dirname, '..');
const n = Number(process.argv[2] || 100000);
const panSeconds = Number(process.argv[3] || 3);
const dir = mkdtempSync(join(tmpdir(), 'ui-bench-'));
const collector = spawn(join(root, 'build/bin/trace-collector'),
  ['--listen', '127.0.0.1:0', '--ingest', 'tcp://127.0.0.1:*', '--db', join(dir, 'ui.db'), '--quiet',
    '--ui', join(root, 'viz-ui/dist')],
  { stdio: ['ignore', 'pipe', 'inherit'] });
let browser = null;
const cleanup = async () => {
  await browser?.close().catch(() => {});
  if (collector.exitCode === null) {
    collector.kill('SIGINT');
    await once(collector, 'exit');
  }
  rmSync(dir, { recursive: true, force: true });
};

try {
  let out = '';
  const ready = await new Promise((res) => collector.stdout.on('data', (d) => {
    out += d;
    const m = /http=(\S+) ingest=(\S+)/.exec(out);
    if (m) res({ http: m[1], ingest: m[2] });
  }));
  const url = `http://${ready.http}`;

  // the trace: N events over 10 s from 12 workers and a coordinator
  const prod = spawn(join(root, 'build/bin/bench-ui_trace'), [String(n), '12', '10'],
    { env: { ...process.env, TRACE_COLLECTOR_URL: ready.ingest }, stdio: ['ignore', 'pipe', 'inherit'] });
  let pout = '';
  prod.stdout.on('data', (d) => { pout += d; });
  const [code] = await once(prod, 'exit');
  const m = /trace=(\S+) events=(\d+)/.exec(pout);
  if (code !== 0 || !m) throw new Error(`bench-ui_trace failed: ${pout}`);
  const trace = m[1];
  for (let i = 0; ; i++) { // every event committed
    const s = await (await fetch(`${url}/api/traces/${trace}`)).json();
    if (s.eventCount === n) break;
    if (i > 300) throw new Error(`only ${s.eventCount} of ${n} events stored`);
    await new Promise((r) => setTimeout(r, 100));
  }

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    // no GPU here: software compositing, which on this kind of machine
    // composites a changed canvas much faster than GPU emulation does
    args: ['--no-sandbox', '--disable-gpu', '--disable-gpu-compositing', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(url + '/');
  const row = page.locator(`[data-testid="trace-row"][data-trace-id="${trace}"]`);
  await row.waitFor({ timeout: 15000 });

  // first paint: click, then the first animation frame after the timeline
  // reports its view (set by its first draw), then the frame after it
  const paint = await page.evaluate(async (id) => {
    const t0 = performance.now();
    document.querySelector(`[data-testid="trace-row"][data-trace-id="${id}"]`).click();
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    while (!document.querySelector('[data-testid="timeline"]')?.dataset.viewEnd) await frame();
    const drawn = performance.now();
    await frame();
    const fetchEntry = performance.getEntriesByType('resource').find((e) => e.name.includes('/events/columns'));
    return {
      firstPaint: drawn - t0,
      fetch: fetchEntry ? fetchEntry.responseEnd - fetchEntry.startTime : NaN,
      events: Number(document.querySelector('[data-testid="timeline-panel"]').dataset.events),
    };
  }, trace);
  if (paint.events !== n) throw new Error(`timeline shows ${paint.events} events, not ${n}`);

  // panning: one A or D key press per animation frame, reversing at the
  // ends, while counting frames and the longest one
  const pan = (zoomIns) => page.evaluate(async ({ zoomIns, seconds }) => {
    const el = document.querySelector('[data-testid="timeline"]');
    el.focus();
    const key = (k) => el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
    for (let i = 0; i < 40; i++) key('s');
    for (let i = 0; i < zoomIns; i++) key('w');
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    await frame();
    await frame();
    let dir = 'd', frames = 0, worst = 0, last = performance.now(), lastStart = el.dataset.viewStart;
    const start = last;
    while (last - start < seconds * 1000) {
      key(dir);
      await frame();
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
      frames++;
      if (el.dataset.viewStart === lastStart) dir = dir === 'd' ? 'a' : 'd'; // hit an end
      lastStart = el.dataset.viewStart;
    }
    const span = Number(el.dataset.viewEnd) - Number(el.dataset.viewStart);
    return { fps: frames / ((last - start) / 1000), worst, span };
  }, { zoomIns, seconds: panSeconds });

  const half = await pan(3); // 0.8^3: about half the trace on screen
  const tenth = await pan(10); // 0.8^10: about a tenth
  // time-travel: a jump of the cursor to the middle, until every agent's
  // state is rebuilt for that time (snapshot + replay, over REST)
  const jump = await page.evaluate(async () => {
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    const canvas = document.querySelector('[data-testid="timeline-canvas"]');
    const box = canvas.getBoundingClientRect();
    const t0 = performance.now();
    const at = (x) => ({ bubbles: true, clientX: box.left + x, clientY: box.top + 10, pointerId: 1, button: 0 });
    canvas.dispatchEvent(new PointerEvent('pointerdown', at(132 + (box.width - 132) / 2)));
    canvas.dispatchEvent(new PointerEvent('pointerup', at(132 + (box.width - 132) / 2)));
    const tt = document.querySelector('[data-testid="time-travel"]');
    const cursor = document.querySelector('[data-testid="time-cursor"]');
    while (!cursor.dataset.time || tt.dataset.stateAt !== cursor.dataset.time) await frame();
    return { ms: performance.now() - t0, agents: document.querySelectorAll('[data-testid="agent-state"]').length };
  });
  const total = 10_000_000;
  const row_ = (what, value, target) => console.log(`| ${what} | ${value} | ${target} |`);
  console.log('| what | measured | target |');
  console.log('|---|---:|---|');
  row_(`first paint, ${n.toLocaleString('en-US')} events (click -> timeline drawn)`, `${paint.firstPaint.toFixed(0)} ms`, '<= 2000 ms');
  row_('of which GET /events/columns (server + transfer)', `${paint.fetch.toFixed(0)} ms`, '');
  row_(`time-travel: cursor jump to mid-trace -> state of all ${jump.agents} agents shown`, `${jump.ms.toFixed(0)} ms`, '');
  row_(`panning, ${Math.round((half.span / total) * 100)} % of the trace visible`, `${half.fps.toFixed(1)} fps (worst frame ${half.worst.toFixed(0)} ms)`, '>= 30 fps');
  row_(`panning, ${Math.round((tenth.span / total) * 100)} % of the trace visible`, `${tenth.fps.toFixed(1)} fps (worst frame ${tenth.worst.toFixed(0)} ms)`, '>= 30 fps');
} finally {
  await cleanup();
}
