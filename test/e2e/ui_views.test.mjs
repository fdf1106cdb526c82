// ui_views.test.mjs — the trace list, agent graph, agent details, live mode
// and linked views in a real headless Chromium, against a real collector
// fed by the real example swarm (loopback, free ports, temp dirs).
//
// One page is driven through the whole story, step by step, because each
// step needs what the previous one produced (a finished trace, a running
// swarm, a selection). SCREENSHOTS=1 writes docs/graph.png,
// docs/details.png and docs/trace-list.png from this run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { startCollector, tempDir, BUILD, ROOT, runSwarm, parseSwarmLine, sql, waitFor } from './harness.mjs';
import { launchChromium, watchedPage } from './browser.mjs';

const SWARM_ENV = { TRACE_SAMPLING_RATE: '1', TRACE_ADAPTIVE: '0' };

/** Start swarm-demo in the background; resolves its stats when it exits. */
function startSwarm(t, ingest, args) {
  const proc = spawn(join(BUILD, 'bin', 'swarm-demo'), ['--quiet', ...args], {
    env: { ...process.env, TRACE_COLLECTOR_URL: ingest, ...SWARM_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  const done = once(proc, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`swarm-demo exited ${code}:\n${err}`);
    return parseSwarmLine(out, err);
  });
  t.after(() => { if (proc.exitCode === null) proc.kill('SIGKILL'); });
  return { proc, done };
}

const query = (page) => new URL(page.url()).searchParams;
const totalEvents = async (page) => Number((await page.locator('[data-testid="total-events"]').innerText()).replace(/\D/g, ''));

test('trace list, agent graph, details, live mode and linked views', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'traces.db');
  const c = await startCollector(t, { db });
  const shots = process.env.SCREENSHOTS ? join(ROOT, 'docs') : join(dir, 'shots');
  mkdirSync(shots, { recursive: true });

  // A finished ring swarm, so the list has history before the page opens.
  const ring = await runSwarm(c.ingest, ['--agents', '5', '--duration', '2', '--speed', '5', '--topology', 'ring']);
  const mesh = await runSwarm(c.ingest, ['--agents', '5', '--duration', '1', '--speed', '5', '--topology', 'mesh']);
  const tree = await runSwarm(c.ingest, ['--agents', '10', '--duration', '2', '--speed', '5', '--topology', 'hierarchical']);

  const browser = await launchChromium(t);
  const { page, problems } = await watchedPage(browser, { width: 1440, height: 900 });

  // Every /ws connection goes through this proxy so the test can cut it
  // (and refuse reconnects for a while) to check the catch-up.
  const ws = { blocked: false, urls: [], open: [] };
  await page.routeWebSocket(/\/ws(\?|$)/, (route) => {
    ws.urls.push(route.url());
    if (ws.blocked) { route.close(); return; }
    const server = route.connectToServer();
    ws.open.push({ route, server });
  });

  await page.goto(c.url + '/');
  await page.locator('[data-testid="ws-status"]', { hasText: 'live' }).waitFor({ timeout: 10000 });
  const rows = page.locator('[data-testid="trace-row"]');

  await t.test('the trace list loads, with counts and error badges', async () => {
    const row = page.locator(`[data-testid="trace-row"][data-trace-id="${ring.trace}"]`);
    await row.waitFor({ timeout: 10000 });
    const [dbRow] = sql(db, `SELECT count(*) AS n, sum(level = 3) AS errors FROM events e JOIN traces t ON t.id = e.trace_id WHERE t.name = '${ring.trace}'`);
    assert.equal(await row.locator('[data-testid="event-count"]').innerText(), dbRow.n.toLocaleString('en-US'));
    assert.equal(await row.locator('[data-testid="agent-count"]').innerText(), '5');
    assert.equal(await row.locator('[data-testid="error-badge"]').count(), dbRow.errors > 0 ? 1 : 0);
  });

  await t.test('search and the status filter narrow the list', async () => {
    const search = page.locator('[data-testid="trace-search"]');
    await search.fill(ring.trace.slice(-6).toUpperCase()); // case-insensitive
    await waitFor(async () => (await rows.count()) === 1, { what: 'one row for the search' });
    await search.fill('no-such-trace');
    await page.getByText('No trace matches the filters.').waitFor();
    assert.equal(await rows.count(), 0);
    await search.fill('');
    await page.locator('[data-testid="status-filter"]').selectOption('active');
    await waitFor(async () => (await rows.count()) === 0, { what: 'no active trace yet' });
    await page.locator('[data-testid="status-filter"]').selectOption('completed');
    await waitFor(async () => (await rows.count()) === 3, { what: 'the completed traces' });
    await page.locator('[data-testid="status-filter"]').selectOption('all');
  });

  // A live star swarm: "follow latest" (on by default) opens it as it starts.
  const startTotal = await totalEvents(page);
  const star = startSwarm(t, c.ingest, ['--agents', '6', '--duration', '20', '--speed', '2', '--topology', 'star']);
  let liveTrace;

  await t.test('follow latest opens the running trace and the graph draws its agents and links', async () => {
    const activeRow = page.locator('[data-testid="trace-row"][data-status="active"]');
    await activeRow.waitFor({ timeout: 10000 });
    liveTrace = await activeRow.getAttribute('data-trace-id');
    await waitFor(() => query(page).get('trace') === liveTrace, { what: 'the URL to follow the new trace' });
    const nodes = page.locator('[data-testid="graph-node"]');
    await waitFor(async () => (await nodes.count()) === 6, { timeout: 15000, what: '6 graph nodes' });
    const agents = (await nodes.evaluateAll((ns) => ns.map((n) => n.getAttribute('data-agent')))).sort();
    assert.deepEqual(agents, sql(db, `SELECT a.name FROM agents a JOIN traces t ON t.id = a.trace_id WHERE t.name = '${liveTrace}' ORDER BY a.name`).map((r) => r.name));
    await waitFor(async () => (await page.locator('[data-testid="graph-link"][data-type="communication"]').count()) >= 2, { timeout: 15000, what: 'communication links' });
    assert.ok(await page.locator('[data-testid="graph-link"][data-type="dependency"]').count() >= 5, 'spawn links');
    await page.locator('[data-testid="topology"][data-topology="star"]').waitFor({ timeout: 10000 });
    // status colours follow live events: someone is working
    await waitFor(async () => (await page.locator('[data-testid="graph-node"][data-status="busy"]').count()) > 0, { what: 'a busy agent' });
    // latency on hover
    // a curved path's box centre is off the stroke: send the event to the path itself
    await page.locator('[data-testid="graph-link"][data-type="communication"]').first().dispatchEvent('mousemove');
    await page.locator('[data-testid="link-tooltip"]', { hasText: 'communication' }).waitFor({ timeout: 5000 });
    await page.locator('[data-testid="graph-link"][data-type="communication"]').first().dispatchEvent('mouseleave');
    await waitFor(async () => (await page.locator('[data-testid="link-tooltip"]').count()) === 0, { what: 'tooltip gone' });
  });

  await t.test('live events appear while the swarm runs', async () => {
    await waitFor(async () => (await totalEvents(page)) > startTotal + 50, { what: 'live events counted' });
    const first = await page.locator('[data-testid="feed-event"]').first().getAttribute('data-seq');
    await waitFor(async () => (await page.locator('[data-testid="feed-event"]').first().getAttribute('data-seq')) !== first, { what: 'a newer event on top' });
  });

  await page.waitForTimeout(800); // let the layout settle for the picture
  await page.locator('[data-testid="agent-graph"]').screenshot({ path: join(shots, 'graph.png') });

  await t.test('pause stops updates, resume catches up', async () => {
    await page.locator('[data-testid="pause-toggle"]').click();
    const frozen = await totalEvents(page);
    const frozenTop = await page.locator('[data-testid="feed-event"]').first().getAttribute('data-seq');
    await page.locator('[data-testid="held-count"]').waitFor();
    await waitFor(async () => /^[1-9][\d,]* held$/.test(await page.locator('[data-testid="held-count"]').innerText()), { what: 'events held' });
    await page.waitForTimeout(700);
    assert.equal(await totalEvents(page), frozen, 'no update while paused');
    assert.equal(await page.locator('[data-testid="feed-event"]').first().getAttribute('data-seq'), frozenTop);
    await page.locator('[data-testid="pause-toggle"]').click();
    await waitFor(async () => (await totalEvents(page)) > frozen, { what: 'held events applied' });
    assert.equal(await page.locator('[data-testid="held-count"]').count(), 0);
  });

  await t.test('clicking a node opens agent details and puts agent= in the URL', async () => {
    const node = page.locator('[data-testid="graph-node"][data-agent="coordinator"]');
    // Playwright clicks only an element whose box holds still for two
    // frames: a graph that re-animates sizes on every live event keeps the
    // busiest node moving for as long as the swarm runs.
    await node.click({ timeout: 8000 }); // 12–16 s when it did
    const details = page.locator('[data-testid="agent-details"][data-agent="coordinator"]');
    await details.waitFor();
    assert.equal(query(page).get('agent'), 'coordinator');
    assert.equal(query(page).get('trace'), liveTrace);
    await waitFor(async () => (await details.locator('[data-testid="message-out"]').count()) > 0, { what: 'messages out' });
    await waitFor(async () => (await details.locator('[data-testid="message-in"]').count()) > 0, { what: 'messages in' });
    assert.ok((await details.locator('[data-testid="agent-event"]').count()) > 0);
    assert.match(await details.locator('[data-testid="agent-metrics"]').innerText(), /events\s+[1-9]/);
    assert.match(await node.getAttribute('class'), /\bselected\b/);
    await page.waitForTimeout(600);
    await page.screenshot({ path: join(shots, 'details.png') });
  });

  await t.test('selecting an event selects it in every view', async () => {
    // the live feed moves under the cursor: pin the row by its seq
    const seq = await page.locator('[data-testid="feed-event"]').nth(2).getAttribute('data-seq');
    const ev = page.locator(`[data-testid="feed-event"][data-seq="${seq}"]`);
    const agent = await ev.getAttribute('data-agent');
    await ev.click();
    await waitFor(() => query(page).get('event') === seq, { what: 'event= in the URL' });
    assert.equal(query(page).get('agent'), agent);
    assert.ok(Number(query(page).get('t')) > 1e15, 't= is a µs timestamp');
    assert.match(await ev.getAttribute('class'), /\bselected\b/);
    assert.match(await page.locator(`[data-testid="graph-node"][data-agent="${agent}"]`).getAttribute('class'), /\bselected\b/);
    await page.locator(`[data-testid="agent-details"][data-agent="${agent}"]`).waitFor();
  });

  const stats = await star.done;
  assert.equal(stats.trace, liveTrace);

  await t.test('after the swarm, the page saw every event exactly once (no gap)', async () => {
    // Everything committed for the live trace came over the stream after load.
    const [{ n }] = sql(db, `SELECT count(*) AS n FROM events e JOIN traces t ON t.id = e.trace_id WHERE t.name = '${liveTrace}'`);
    await waitFor(async () => (await totalEvents(page)) - startTotal === n, { timeout: 15000, what: `${n} live events counted` });
  });

  await t.test('reloading the URL restores trace, agent and event', async () => {
    const agent = page.locator('[data-testid="graph-node"][data-agent="tester-1"]');
    // a second click on the selected agent deselects it; the event picked
    // above may have been tester-1's
    if (query(page).get('agent') !== 'tester-1') await agent.click();
    await page.locator('[data-testid="agent-details"][data-agent="tester-1"]').waitFor();
    const before = page.url();
    await page.reload();
    assert.equal(page.url(), before);
    await page.locator('[data-testid="agent-details"][data-agent="tester-1"]').waitFor({ timeout: 10000 });
    await waitFor(async () => /\bselected\b/.test((await page.locator('[data-testid="graph-node"][data-agent="tester-1"]').getAttribute('class')) ?? ''), { what: 'restored node selection' });
    assert.match(await page.locator(`[data-testid="trace-row"][data-trace-id="${liveTrace}"]`).getAttribute('class'), /\bselected\b/);
    assert.equal(await page.locator('[data-testid="follow-toggle"]').getAttribute('aria-pressed'), 'false', 'a shared link does not jump away');
    // Back to the first trace: the graph redraws as the ring it is.
    await page.locator(`[data-testid="trace-row"][data-trace-id="${ring.trace}"]`).click();
    await page.locator('[data-testid="topology"][data-topology="ring"]').waitFor({ timeout: 10000 });
    await waitFor(async () => (await page.locator('[data-testid="graph-node"]').count()) === 5, { what: 'the ring agents' });
    assert.equal(query(page).get('agent'), null, 'a new trace clears the agent');
    await page.locator('[data-testid="trace-list"]').screenshot({ path: join(shots, 'trace-list.png') });
    await page.goBack();
    await waitFor(() => query(page).get('trace') === liveTrace, { what: 'Back returns to the previous trace' });
  });

  await t.test('after a reconnect the page catches up with ?since= and shows no gap', async () => {
    const before = await totalEvents(page);
    const seqBefore = Number((await page.locator('[data-testid="status-bar"]').innerText()).match(/seq (\d+)/)?.[1] ?? 0);
    ws.blocked = true;
    for (const { route, server } of ws.open.splice(0)) { server.close(); route.close(); }
    await page.locator('[data-testid="ws-status"]', { hasText: 'reconnecting' }).waitFor({ timeout: 5000 });
    // events committed while the page is cut off
    const late = await runSwarm(c.ingest, ['--agents', '3', '--duration', '1', '--speed', '5', '--topology', 'ring']);
    const [{ n }] = sql(db, `SELECT count(*) AS n FROM events e JOIN traces t ON t.id = e.trace_id WHERE t.name = '${late.trace}'`);
    ws.blocked = false;
    await page.locator('[data-testid="ws-status"]', { hasText: 'live' }).waitFor({ timeout: 20000 });
    assert.match(ws.urls.at(-1), /[?&]since=\d+/, 'reconnected with since=');
    assert.ok(Number(new URL(ws.urls.at(-1)).searchParams.get('since')) >= seqBefore);
    await waitFor(async () => (await totalEvents(page)) === before + n, { timeout: 15000, what: `the ${n} events of the gap, once each` });
    await page.waitForTimeout(500);
    assert.equal(await totalEvents(page), before + n, 'no duplicate after the catch-up');
    await page.locator(`[data-testid="trace-row"][data-trace-id="${late.trace}"]`).waitFor();
  });

  await t.test('each topology is drawn as its shape', async () => {
    const read = () => page.locator('[data-testid="graph-node"]').evaluateAll((ns) => Object.fromEntries(ns.map((n) => {
      const r = n.querySelector('circle.body').getBoundingClientRect();
      return [n.getAttribute('data-agent'), { x: r.x + r.width / 2, y: r.y + r.height / 2 }];
    })));
    /** Node centres in page pixels, once the layout has stopped moving. */
    const centres = async () => {
      let prev = await read();
      return waitFor(async () => {
        const cur = await read();
        const moved = Math.max(...Object.keys(cur).map((id) => Math.hypot(cur[id].x - (prev[id]?.x ?? 1e9), cur[id].y - (prev[id]?.y ?? 1e9))));
        prev = cur;
        return moved < 0.5 && cur;
      }, { timeout: 10000, interval: 400, what: 'the layout to settle' });
    };
    const show = async (trace, topology, agents) => {
      await page.locator(`[data-testid="trace-row"][data-trace-id="${trace}"]`).click();
      await page.locator(`[data-testid="topology"][data-topology="${topology}"]`).waitFor({ timeout: 10000 });
      await waitFor(async () => (await page.locator('[data-testid="graph-node"]').count()) === agents, { what: `${agents} ${topology} agents` });
      const pos = await centres();
      await page.locator('[data-testid="agent-graph"]').screenshot({ path: join(shots, `topology-${topology}.png`) });
      return pos;
    };
    const spread = (pts) => {
      const cx = pts.reduce((s, p) => s + p.x, 0) / pts.length;
      const cy = pts.reduce((s, p) => s + p.y, 0) / pts.length;
      const d = pts.map((p) => Math.hypot(p.x - cx, p.y - cy));
      const mean = d.reduce((s, x) => s + x, 0) / d.length;
      return { cx, cy, mean, dev: Math.max(...d.map((x) => Math.abs(x - mean))) };
    };

    // ring and mesh: every agent on one circle
    for (const [trace, topology, agents] of [[ring.trace, 'ring', 5], [mesh.trace, 'mesh', 5]]) {
      const { mean, dev } = spread(Object.values(await show(trace, topology, agents)));
      assert.ok(dev < mean * 0.2, `${topology}: agents on a circle (radius ${mean.toFixed(0)}, off by ${dev.toFixed(0)})`);
    }
    // star: the coordinator in the middle of the others
    const star = await show(liveTrace, 'star', 6);
    const rim = spread(Object.entries(star).filter(([id]) => id !== 'coordinator').map(([, p]) => p));
    assert.ok(Math.hypot(star.coordinator.x - rim.cx, star.coordinator.y - rim.cy) < rim.mean * 0.25, 'star: hub in the centre');
    assert.ok(rim.dev < rim.mean * 0.2, 'star: spokes on a circle');
    // hierarchical: the coordinator above everyone it spawned
    const levels = await show(tree.trace, 'hierarchical', 10);
    for (const [id, p] of Object.entries(levels)) if (id !== 'coordinator') assert.ok(p.y > levels.coordinator.y + 40, `${id} below the coordinator`);
  });

  assert.deepEqual(problems, [], 'no console errors, warnings or failed requests');
  assert.equal(await c.stop(), 0);
});
