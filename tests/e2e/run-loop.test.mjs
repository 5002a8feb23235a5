// End-to-end tests of how the built app runs on the page's event loop: what Resource Timing
// says about the requests, and how often a live run redraws the page.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { stat, useTargetAndBrowser, waitForStatus } from './harness.mjs';

const env = useTargetAndBrowser();

async function runToDone(page) {
  await page.getByTestId('start').click();
  await waitForStatus(page, 'done');
}

test('the honesty panel has the protocol and per-phase means over every request', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.srv.app}?url=${encodeURIComponent(env.srv.target)}&requests=300&concurrency=6`);
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

test('a live run moves its counters every tick and redraws its charts once a second', async () => {
  const page = await env.browser.context.newPage();
  await page.goto(`${env.srv.app}?url=${encodeURIComponent(env.srv.target)}&duration=4s&rate=200&concurrency=10`);
  await page.getByTestId('run-status').waitFor();
  // Count the changes the page makes to the counters and to the time charts while it runs.
  await page.evaluate(() => {
    window.__changes = { total: 0, charts: 0 };
    const seen = new Set();
    new MutationObserver((records) => {
      // A change inside an element, or the element put in anew (markup drawn as one piece).
      const touches = (r, sel) => {
        const node = r.target.nodeType === Node.TEXT_NODE ? r.target.parentElement : r.target;
        return Boolean(node?.closest(sel)) || [...r.addedNodes].some(
          (n) => n.nodeType === Node.ELEMENT_NODE && (n.matches(sel) || n.querySelector(sel)));
      };
      for (const r of records) {
        if (touches(r, '[data-testid="stat-total"]')) seen.add('total');
        if (touches(r, '#chart-throughput, #chart-latency, #chart-histogram')) seen.add('charts');
      }
      // One count per batch of mutations: one render.
      for (const k of seen) window.__changes[k] += 1;
      seen.clear();
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await runToDone(page);
  const changes = await page.evaluate(() => window.__changes);
  // 4 s at four ticks a second, and the final render.
  assert.ok(changes.total >= 12, `the total moved ${changes.total} times`);
  assert.ok(changes.charts >= 3 && changes.charts <= 7, `the charts were redrawn ${changes.charts} times`);
  await page.close();
});
