// browser.test.mjs — the UI in a real headless Chromium (Debian's, driven
// by playwright-core) against a real collector fed by the example swarm:
// the page loads from the collector, lists the trace, and shows events
// arriving live over the WebSocket, with no console error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { launchChromium, watchedPage } from './browser.mjs';
import { startCollector, tempDir, BUILD, ROOT, parseSwarmLine } from './harness.mjs';

test('the page loads, lists the trace and shows live events', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db });
  const browser = await launchChromium(t);
  const { page, problems } = await watchedPage(browser, { width: 1400, height: 900 });

  await page.goto(c.url + '/');
  assert.equal(await page.title(), 'Swarm Tracer');
  await page.locator('[data-testid="ws-status"]', { hasText: 'live' }).waitFor({ timeout: 10000 });

  // start the swarm only now: its events must arrive live
  const swarm = spawn(join(BUILD, 'bin', 'swarm-demo'), ['--agents', '5', '--duration', '4', '--speed', '3', '--quiet'], {
    env: { ...process.env, TRACE_COLLECTOR_URL: c.ingest, TRACE_SAMPLING_RATE: '1', TRACE_ADAPTIVE: '0' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  swarm.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((r) => swarm.on('exit', r));
  t.after(() => swarm.kill('SIGKILL'));

  await page.locator('[data-testid="feed-event"]').first().waitFor({ timeout: 10000 });
  const liveCount = await page.locator('[data-testid="feed-event"]').count();
  assert.ok(liveCount > 0, 'events appear while the swarm runs');
  assert.equal(await exited, 0);
  const { trace } = parseSwarmLine(out);
  const row = page.locator(`[data-testid="trace-row"][data-trace-id="${trace}"]`);
  await row.waitFor({ timeout: 10000 });
  assert.match(await row.innerText(), /completed|active/);
  await row.click();
  await page.locator('[data-testid="feed-event"][data-event-type="agent.stopped"]').first().waitFor({ timeout: 10000 });
  assert.ok(await page.locator('[data-testid="rate-chart"]').count() === 1);

  // SCREENSHOTS=1 refreshes the picture the README shows
  const shot = process.env.SCREENSHOTS ? join(ROOT, 'docs') : tempDir(t);
  mkdirSync(shot, { recursive: true });
  await page.screenshot({ path: join(shot, 'skeleton.png') });
  assert.deepEqual(problems, [], 'no console errors or failed requests');
  assert.equal(await c.stop(), 0);
});
