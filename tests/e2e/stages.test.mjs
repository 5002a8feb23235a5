// End-to-end tests of load stages in the built app (dist/): a rate curve run in headless
// Chromium against the real `flak target`, counted by both sides; the generator's account and
// the curve's charts; a bad stage row's message beside the editor; a CLI results file with
// stages charting the same.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { flakBin, root, stat, openApp, useTargetAndBrowser, waitForStatus } from './harness.mjs';

const env = useTargetAndBrowser();

test('a permalink with rate stages runs the curve: the page, the server and the curve all count 150', async () => {
  await env.srv.reset();
  // 0→50/s over 1 s, 50→100/s over 1 s, 100→0/s over 1 s: 25 + 75 + 50 = 150 requests.
  const query = `?url=${encodeURIComponent(env.srv.target)}&concurrency=6&stages=rate:1s:50,1s:100,1s:0&autostart=1`;
  const { page, errors } = await openApp(env, query);
  await waitForStatus(page, 'done', 30000);
  const server = await env.srv.stats();
  assert.equal(await stat(page, 'stat-total'), 150, 'the page sent what the curve asks');
  assert.equal(server.requests, 150, 'the target answered exactly what the page counted');
  assert.equal(await stat(page, 'stat-succeeded'), 150);
  // The server saw a ramp, not a burst: its busiest 100 ms holds far fewer than all 150.
  const arrivals = server.arrivals_per_100ms;
  assert.equal(arrivals.reduce((a, b) => a + b, 0), 150);
  assert.ok(Math.max(...arrivals) <= 30, `arrivals per 100 ms: ${arrivals}`);
  // The form shows the stages it ran, and the summary says what was asked and what went out.
  assert.equal(await page.getByLabel('Load shape').inputValue(), 'rate');
  assert.equal(await page.getByTestId('stage-row').count(), 3);
  assert.equal(await page.getByLabel('Stage 2 target (req/s)').inputValue(), '100');
  assert.match(await page.getByTestId('stages-line').textContent(),
    /rate stages 1s:50,1s:100,1s:0: 150 requests over 3s/);
  const generator = await page.getByTestId('generator-line').textContent();
  assert.match(generator, /^Generator: asked [\d.]+\/s \(150 requests\), achieved [\d.]+\/s; start lag p50 /);
  assert.match(generator, /held back by the in-flight limit: \d+$/);
  // The curve's charts: asked against sent, and in flight, with the three stage ends marked.
  for (const chart of ['chart-rate', 'chart-inflight']) {
    const svg = page.getByTestId(chart);
    assert.ok(await svg.isVisible(), `${chart} is drawn`);
    assert.equal(await svg.getByTestId('stage-mark').count(), 3, `${chart} marks each stage's end`);
  }
  const lines = await page.getByTestId('chart-rate').locator('polyline.series').count();
  assert.equal(lines, 2, 'asked and sent');
  assert.match(page.url(), /stages=rate%3A1s%3A50%2C1s%3A100%2C1s%3A0/);
  await page.screenshot({ path: path.join(root, 'target/e2e/stages-done.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a bad stage row shows the core\'s message beside the stages, and nothing is sent', async () => {
  await env.srv.reset();
  const { page, errors } = await openApp(env, `?url=${encodeURIComponent(env.srv.target)}`);
  await page.getByLabel('Load shape').selectOption('rate');
  assert.ok(await page.getByText('Stop after, Requests, Duration and Rate are not used').isVisible());
  await page.getByLabel('Stage 2 duration').fill('0s');
  await page.getByTestId('start').click();
  const message = page.getByTestId('stages').getByTestId('stages-error');
  await message.waitFor();
  assert.equal(await message.textContent(), 'Load stages: stage 2: a duration of zero');
  await page.getByLabel('Stage 2 duration').fill('1s');
  await page.getByLabel('Stage 1 target (req/s)').fill('lots');
  await page.getByTestId('start').click();
  await message.filter({ hasText: 'stage 1: target "lots" is not a number' }).waitFor();
  assert.equal(await page.getByTestId('form-error').count(), 0, 'the message sits by the stages, not below the form');
  assert.equal(await page.getByTestId('run-status').textContent(), 'idle');
  assert.equal((await env.srv.stats()).requests, 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a CLI results file with rate stages charts its curve and stage ends in the app', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flak-stages-'));
  const file = path.join(dir, 'stages.json');
  execFileSync(flakBin, ['--rate-stages', '1s:40,1s:0', '-c', '4', '-o', file, env.srv.target], { stdio: 'ignore' });
  const { page, errors } = await openApp(env);
  await page.getByTestId('import').setInputFiles([file]);
  await page.getByText('Showing 1 imported file(s)').waitFor();
  assert.equal(await stat(page, 'stat-total'), 40);
  assert.match(await page.getByTestId('stages-line').textContent(), /rate stages 1s:40,1s:0: 40 requests over 2s/);
  assert.match(await page.getByTestId('generator-line').textContent(), /\(40 requests\)/);
  for (const chart of ['chart-rate', 'chart-inflight']) {
    assert.equal(await page.getByTestId(chart).getByTestId('stage-mark').count(), 2, chart);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('a long task on the page during a run is named, and not blamed for late starts: the load is in a worker', async () => {
  await env.srv.reset();
  const query = `?url=${encodeURIComponent(env.srv.target)}&concurrency=6&stages=rate:1s:100,1s:100&autostart=1`;
  const { page, errors } = await openApp(env, query);
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=stat-total]')?.textContent) >= 20);
  // The page's own main thread is busy for 150 ms, in a task of the page's (a task run for
  // the automation protocol is not a long task). The load runs in a worker, so nothing waits
  // for it (tests/e2e/worker.test.mjs has the same on the page's own event loop).
  await page.evaluate(() => setTimeout(() => { const t = performance.now(); while (performance.now() - t < 150); }, 0));
  await waitForStatus(page, 'done', 30000);
  assert.equal(await stat(page, 'stat-total'), 150);
  assert.equal((await env.srv.stats()).requests, 150);
  assert.match(await page.getByTestId('engine').textContent(),
    /busy in \d+ task\(s\) over 50 ms \(the longest \d+ ms\) without touching the load/);
  const reasons = await page.getByTestId('generator-tab').allTextContents();
  assert.ok(!reasons.some((r) => /main thread was busy/.test(r)), `not a reason: ${JSON.stringify(reasons)}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('in-flight stages from a permalink: the limit ramps, the server never sees more, and counts agree', async () => {
  await env.srv.reset();
  const url = `${env.srv.target}delay/20`;
  const query = `?url=${encodeURIComponent(url)}&concurrency=50&stages=concurrency:1s:4,1s:4,1s:0&autostart=1`;
  const { page, errors } = await openApp(env, query);
  await waitForStatus(page, 'done', 30000);
  const server = await env.srv.stats();
  const [total, ok, failed, cancelled] = await Promise.all(
    ['stat-total', 'stat-succeeded', 'stat-failed', 'stat-cancelled'].map((id) => stat(page, id)));
  assert.equal(total, ok + failed + cancelled);
  assert.equal(server.requests, total, 'the target answered exactly what the page counted');
  assert.equal(failed, 0);
  // At most 4 at once, whatever the form's in-flight limit said: the stages set it.
  assert.ok(server.peak_in_flight <= 4, `peak in flight at the server: ${server.peak_in_flight}`);
  // 20 ms requests at up to 4 in flight over a 3 s curve whose mean is 2: roughly 2 × 3 s / 20 ms.
  assert.ok(total >= 150 && total <= 450, `total ${total}`);
  assert.match(await page.getByTestId('stages-line').textContent(), /in-flight stages 1s:4,1s:4,1s:0: peak 4 in flight over 3s/);
  const inflight = page.getByTestId('chart-inflight');
  assert.equal(await inflight.locator('polyline.series').count(), 2, 'the limit asked and the mean in flight');
  assert.equal(await inflight.getByTestId('stage-mark').count(), 3);
  assert.equal(await page.getByTestId('chart-rate').count(), 0, 'no rate was asked');
  assert.deepEqual(errors, []);
  await page.close();
});
