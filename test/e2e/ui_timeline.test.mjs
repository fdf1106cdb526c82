// ui_timeline.test.mjs — the timeline and time-travel in a real headless
// Chromium against a real collector fed by the real example swarm: the
// canvas draws a lane per agent, W/S/A/D move the visible range, moving the
// time cursor changes the reconstructed state (checked against the events
// themselves), the diff shows what changed between two times, play moves
// time, and nothing is logged to the console.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { startCollector, tempDir, runSwarm, getJson, waitFor, ROOT } from './harness.mjs';
import { launchChromium, watchedPage } from './browser.mjs';

const BG = [0x0f, 0x12, 0x16];

/** Pixels of the timeline canvas that are not the background colour. */
function paintedPixels(page) {
  return page.$eval('[data-testid="timeline-canvas"]', (c, bg) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.abs(d[i] - bg[0]) + Math.abs(d[i + 1] - bg[1]) + Math.abs(d[i + 2] - bg[2]) > 24) n++;
    }
    return n;
  }, BG);
}

async function viewRange(page) {
  const el = page.locator('[data-testid="timeline"]');
  return { start: Number(await el.getAttribute('data-view-start')), end: Number(await el.getAttribute('data-view-end')) };
}

/** Waits until the view attribute differs from `before`, and returns it. */
async function nextView(page, before) {
  return waitFor(async () => {
    const v = await viewRange(page);
    return v.start !== before.start || v.end !== before.end ? v : null;
  }, { what: 'the view to change', timeout: 5000 });
}

/** The view once it has stopped changing: the view attributes are published
 * at most every 100 ms, later still on a loaded machine. */
async function stableView(page) {
  let last = await viewRange(page);
  return waitFor(async () => {
    await page.waitForTimeout(300);
    const v = await viewRange(page);
    const same = v.start === last.start && v.end === last.end;
    last = v;
    return same ? v : null;
  }, { what: 'the view to settle', timeout: 10000 });
}

/** Sets the cursor by clicking the time axis at a fraction of the plot. */
async function clickAxis(page, fraction) {
  const box = await page.locator('[data-testid="timeline-canvas"]').boundingBox();
  const gutter = 132;
  const cursor = page.locator('[data-testid="time-cursor"]');
  const old = await cursor.getAttribute('data-time');
  await page.mouse.click(box.x + gutter + (box.width - gutter) * fraction, box.y + 10);
  return waitFor(async () => {
    const v = await cursor.getAttribute('data-time');
    return v && v !== old ? Number(v) : null;
  }, { what: 'the cursor time to change' });
}

/** Cards of the reconstructed state once they show time t. */
async function statesAt(page, t) {
  // the reconstruction is asynchronous: wait until the cards are for t
  await page.waitForFunction((want) => document.querySelector('[data-testid="time-travel"]')?.dataset.stateAt === String(want), t);
  return page.$$eval('[data-testid="agent-state"]', (els) => els.map((e) => ({
    agent: e.dataset.agent, status: e.dataset.status, done: e.dataset.done, failed: e.dataset.failed, task: e.dataset.task, text: e.innerText,
  })));
}

test('timeline draws, navigates with W/S/A/D, and time-travel reconstructs and diffs state', async (t) => {
  const db = join(tempDir(t), 'traces.db');
  const c = await startCollector(t, { db });
  const swarm = await runSwarm(c.ingest, ['--agents', '5', '--duration', '6', '--speed', '3', '--seed', '7']);
  assert.equal(swarm.dropped, 0);
  await waitFor(async () => (await getJson(`${c.url}/api/traces/${swarm.trace}`)).body.status === 'completed',
    { what: 'the trace to complete', timeout: 15000 });

  const browser = await launchChromium(t);
  const { page, problems } = await watchedPage(browser, { width: 1400, height: 1300 });

  await page.goto(c.url + '/');
  await page.locator(`[data-testid="trace-row"][data-trace-id="${swarm.trace}"]`).click();
  const tl = page.locator('[data-testid="timeline"]');
  await tl.waitFor({ timeout: 15000 });

  // a lane per agent, and the canvas really painted
  const detail = (await getJson(`${c.url}/api/traces/${swarm.trace}`)).body;
  assert.equal(Number(await tl.getAttribute('data-lanes')), detail.agents.length);
  assert.deepEqual((await tl.getAttribute('data-agents')).split(',').sort(), detail.agents.map((a) => a.id).sort());
  await page.waitForFunction(() => document.querySelector('[data-testid="timeline"]')?.dataset.viewEnd);
  const painted = await paintedPixels(page);
  assert.ok(painted > 20000, `the timeline canvas is drawn (${painted} painted pixels)`);
  assert.ok(await page.locator('[data-testid="minimap"]').isVisible());

  // keyboard navigation: W zooms in, S out, D pans later, A earlier
  await tl.focus();
  const full = await viewRange(page);
  await page.keyboard.press('w');
  const z1 = await nextView(page, full);
  assert.ok(z1.end - z1.start < full.end - full.start, 'W narrows the view');
  for (let i = 0; i < 4; i++) await page.keyboard.press('w');
  // 0.8^5 of the full width once the last press is published
  await waitFor(async () => {
    const v = await viewRange(page);
    return v.end - v.start < (full.end - full.start) * 0.35;
  }, { what: 'five W presses to zoom in', timeout: 5000 });
  const zoomed = await stableView(page); // nothing more is coming
  await page.keyboard.press('d');
  await nextView(page, zoomed);
  const right = await stableView(page);
  assert.ok(right.start > zoomed.start, 'D pans towards later');
  assert.ok(Math.abs((right.end - right.start) - (zoomed.end - zoomed.start)) <= 1, "panning keeps the width");
  await page.keyboard.press('a');
  await page.keyboard.press('a');
  await nextView(page, right);
  const left = await stableView(page);
  assert.ok(left.start < right.start, 'A pans towards earlier');
  await page.keyboard.press('s');
  const out = await nextView(page, left);
  assert.ok(out.end - out.start > left.end - left.start, 'S widens the view');
  // the mouse: the wheel zooms around the pointer, a drag pans
  const box = await page.locator('[data-testid="timeline-canvas"]').boundingBox();
  await page.mouse.move(box.x + 132 + (box.width - 132) / 2, box.y + 60);
  const beforeWheel = await stableView(page);
  await page.mouse.wheel(0, -300);
  const wheeled = await nextView(page, beforeWheel);
  assert.ok(wheeled.end - wheeled.start < beforeWheel.end - beforeWheel.start, 'wheel up zooms in');
  const beforeDrag = await stableView(page);
  await page.mouse.down();
  await page.mouse.move(box.x + 132 + (box.width - 132) / 2 + 200, box.y + 60, { steps: 5 });
  await page.mouse.up();
  const dragged = await nextView(page, beforeDrag);
  assert.ok(dragged.start < beforeDrag.start, 'dragging right shows earlier times');
  await tl.focus();
  for (let i = 0; i < 30; i++) await page.keyboard.press('s');
  await waitFor(async () => {
    const v = await viewRange(page);
    return v.start === full.start && v.end === full.end;
  }, { what: 'zoomed all the way out' });

  // time cursor: scrub to two times; the cards follow, and agree with the events
  const completed = (await getJson(`${c.url}/api/traces/${swarm.trace}/events?type=task.completed&limit=10000`)).body.events;
  const doneBy = (agent, at) => completed.filter((e) => e.agentId === agent && e.timestamp <= at).length;
  const t1 = await clickAxis(page, 0.25);
  const s1 = await statesAt(page, t1);
  assert.equal(s1.length, detail.agents.length, 'a card per agent');
  const t2 = await clickAxis(page, 0.9);
  assert.ok(t2 > t1);
  const s2 = await statesAt(page, t2);
  assert.notDeepEqual(s2.map((s) => s.text), s1.map((s) => s.text), 'the state shown changes with the time');
  for (const [at, states] of [[t1, s1], [t2, s2]]) {
    for (const s of states.filter((x) => x.agent !== 'coordinator')) {
      assert.equal(Number(s.done), doneBy(s.agent, at), `${s.agent}: tasks done at ${at}`);
    }
  }
  const workedMore = s2.some((s, i) => Number(s.done) > Number(s1[i].done));
  assert.ok(workedMore, 'some agent finished tasks between the two times');

  // diff: compare from t1, move to t2
  await clickAxis(page, 0.25);
  await page.locator('[data-testid="compare-button"]').click();
  const t2again = await clickAxis(page, 0.9);
  assert.equal(t2again, t2);
  const diff = page.locator('[data-testid="diff-view"]');
  await diff.waitFor();
  await page.locator('[data-testid="diff-row"]').first().waitFor({ timeout: 10000 });
  const rows = await page.$$eval('[data-testid="diff-row"]', (els) => els.map((e) => e.innerText));
  assert.ok(rows.some((r) => /\.tasksDone/.test(r)), `the diff shows tasksDone changing:\n${rows.join('\n')}`);

  // screenshots of a real run (SCREENSHOTS=1 writes them to docs/)
  const shot = process.env.SCREENSHOTS ? join(ROOT, 'docs') : tempDir(t);
  mkdirSync(shot, { recursive: true });
  await page.locator('[data-testid="time-travel"]').screenshot({ path: join(shot, 'time-travel.png') });
  await tl.focus();
  for (let i = 0; i < 3; i++) await page.keyboard.press('w');
  await page.waitForTimeout(200);
  await page.locator('[data-testid="timeline-panel"] >> [data-testid="timeline"]').screenshot({ path: join(shot, 'timeline.png') });

  // play moves time forward; the speed can be set to 100x
  await page.locator('[data-testid="speed-select"]').selectOption('100');
  await clickAxis(page, 0.05);
  const before = Number(await page.locator('[data-testid="time-cursor"]').getAttribute('data-time'));
  await page.locator('[data-testid="play-button"]').click();
  await waitFor(async () => Number(await page.locator('[data-testid="time-cursor"]').getAttribute('data-time')) > before + 1_000_000,
    { what: 'playback to advance the cursor', timeout: 5000 });
  await page.locator('[data-testid="play-button"]').click();

  // linked views: an agent picked in time-travel is the agent of the URL,
  // the details panel and the graph; the cursor time is in the URL, and a
  // reload of that URL puts the cursor and the reconstructed state back
  const worker = detail.agents.map((a) => a.id).find((id) => id !== 'coordinator');
  await page.locator(`[data-testid="agent-state"][data-agent="${worker}"]`).click();
  await waitFor(async () => new URL(page.url()).searchParams.get('agent') === worker,
    { what: 'agent= in the URL', timeout: 5000 });
  await page.locator(`[data-testid="agent-details"][data-agent="${worker}"]`).waitFor({ timeout: 10000 });
  await waitFor(async () => (await page.locator(`[data-testid="graph-node"][data-agent="${worker}"]`).getAttribute('class'))?.includes('selected'),
    { what: 'the graph to highlight the agent', timeout: 10000 });
  const tLinked = await clickAxis(page, 0.5);
  await waitFor(async () => Number(new URL(page.url()).searchParams.get('t')) === Math.round(tLinked),
    { what: 't= in the URL', timeout: 5000 });
  const shared = page.url();
  const stateThere = (await statesAt(page, tLinked)).find((x) => x.agent === worker);
  await page.goto(shared);
  await page.locator('[data-testid="timeline"]').waitFor({ timeout: 20000 });
  await waitFor(async () => Number(await page.locator('[data-testid="time-cursor"]').getAttribute('data-time')) === Math.round(tLinked),
    { what: 'the cursor restored from the URL', timeout: 10000 });
  const stateAgain = (await statesAt(page, tLinked)).find((x) => x.agent === worker);
  assert.deepEqual(stateAgain, stateThere, 'the same reconstructed state after a reload');
  await page.locator(`[data-testid="agent-details"][data-agent="${worker}"]`).waitFor({ timeout: 10000 });

  assert.deepEqual(problems, [], 'no console errors or warnings');
  assert.equal(await c.stop(), 0);
});
