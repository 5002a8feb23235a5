// End-to-end tests of how the built app runs on the page's event loop: what Resource Timing
// says about the requests.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launch, startTarget, stat } from './harness.mjs';

let srv;
let browser;

before(async () => {
  srv = await startTarget();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  srv?.stop();
});

async function runToDone(page) {
  await page.getByTestId('start').click();
  await page.getByTestId('run-status').filter({ hasText: /^done$/ }).waitFor({ timeout: 90000 });
}

test('the honesty panel has the protocol and per-phase means over every request', async () => {
  const page = await browser.context.newPage();
  await page.goto(`${srv.app}?url=${encodeURIComponent(srv.target)}&requests=300&concurrency=6`);
  await page.getByTestId('run-status').waitFor();
  await runToDone(page);
  assert.equal(await stat(page, 'stat-total'), 300);
  // flak target sends Timing-Allow-Origin, so every entry has its phases.
  const phases = await page.getByTestId('phases').textContent();
  const over = Number(phases.match(/over (\d+) requests/)[1]);
  assert.equal(over, 300, phases);
  for (const phase of ['queueing', 'connect', 'time to first byte', 'download']) {
    assert.match(phases, new RegExp(`${phase} \\d+\\.\\d\\d ms`));
  }
  assert.match(await page.locator('.honesty').textContent(), /Protocol the browser used: http\/1\.1\./);
  // The page's own files before the run are not the target's requests, and the entries are
  // consumed: nothing piles up in the browser's buffer.
  assert.ok(await page.evaluate(() => performance.getEntriesByType('resource').length) < 50);
  await page.close();
});
