// browser.mjs — headless Debian Chromium for the end-to-end tests, and a
// page that records every console error or warning, page error and failed
// request, so each test can assert that there were none. (A module, not a
// test file: importing a *.test.mjs would run its tests.)
import { chromium } from 'playwright-core';

export async function launchChromium(t) {
  // playwright gives each launch a fresh temporary profile of its own
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t.after(() => browser.close());
  return browser;
}

/** A new page of that size, and the list its problems are pushed to. */
export async function watchedPage(browser, viewport) {
  const page = await browser.newPage({ viewport });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // a request the UI aborts itself (a newer load replaced it) is not a failure
  page.on('requestfailed', (r) => { if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`requestfailed: ${r.url()}`); });
  return { page, problems };
}
