// The charts people read, and two runs compared, checked against results files the real CLI
// wrote against the real `flak target`: /delay/5, /delay/10 and /status/503.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { flakBin, openApp, useTargetAndBrowser } from './harness.mjs';

const env = useTargetAndBrowser();
const dir = mkdtempSync(path.join(tmpdir(), 'flak-charts-'));
const files = {};

/** A CLI run against `route` saved as `name`.json: 400 requests at 200/s (two seconds), or
 *  with `closed`, 1000 requests at in-flight 10 as fast as they go (as the CLI's compare test:
 *  the open model's queueing on this shared machine would blur the comparison). */
function run(name, route, { n = 400, closed = false } = {}) {
  const file = path.join(dir, `${name}.json`);
  const load = closed ? ['-n', '1000', '-c', '10'] : ['-n', String(n), '-c', '8', '-q', '200'];
  execFileSync(flakBin, [...load, '-o', file, `${env.srv.target}${route}`], { stdio: 'ignore', timeout: 30000 });
  files[name] = file;
}

/** The runs, made once, by the first test that needs them (the target starts first). */
function makeRuns() {
  if (!files.fast) {
    run('fast', 'delay/5');
    run('unavailable', 'status/503', { n: 100 });
    run('base', 'delay/5', { closed: true });
    run('slower', 'delay/10', { closed: true });
    run('again', 'delay/5', { closed: true });
  }
}

/** Opens the app and imports `names` (merged when several); returns the page. */
async function imported(...names) {
  const { page, errors } = await openApp(env);
  await page.getByTestId('import').setInputFiles(names.map((n) => files[n]));
  await page.getByTestId('chart-heatmap').locator('rect.cell').first().waitFor();
  return { page, errors };
}

/** Asserts tick labels are round: evenly spaced by a 1, 2 or 5 × 10^k step, each a multiple of it. */
function assertRound(values, what) {
  assert.ok(values.length >= 2, `${what}: ticks ${values}`);
  const step = values[1] - values[0];
  const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
  assert.ok([1, 2, 5].some((m) => Math.abs(m - mantissa) < 1e-6), `${what}: step ${step} in ${values}`);
  for (const [i, v] of values.entries()) {
    assert.ok(Math.abs(v - values[0] - i * step) < 1e-6 * step, `${what}: uneven ${values}`);
    assert.ok(Math.abs(v / step - Math.round(v / step)) < 1e-6, `${what}: ${v} is not a multiple of ${step}`);
  }
}

test('a results file shows its own percentiles on the nines axis, its count in the heatmap, round ticks and read-outs', async () => {
  makeRuns();
  const json = JSON.parse(readFileSync(files.fast, 'utf8'));
  const { page, errors } = await imported('fast');

  // Percentile plot: one mark per percentile of the file, at its value.
  const marks = await page.getByTestId('chart-percentiles').locator('circle.dot').evaluateAll((cs) =>
    cs.map((c) => ({ p: Number(c.dataset.p), ms: Number(c.dataset.ms), title: c.querySelector('title').textContent })));
  assert.deepEqual(marks.map(({ p, ms }) => ({ p, ms })), json.percentiles.map(({ p, ms }) => ({ p, ms })));
  const p50 = marks.find((m) => m.p === 50);
  assert.ok(p50.ms >= 5 && p50.ms < 10, `p50 ${p50.ms} ms of /delay/5`);
  assert.match(p50.title, new RegExp(`p50 = ${p50.ms} ms`), 'hover title with the exact value');
  const nines = await page.getByTestId('chart-percentiles').locator('text.tick.x').allTextContents();
  assert.deepEqual(nines.slice(0, 4), ['0%', '90%', '99%', '99.9%']);

  // Heatmap: every response in exactly one cell.
  const cells = await page.getByTestId('chart-heatmap').locator('rect.cell').evaluateAll((rs) => rs.map((r) => Number(r.dataset.count)));
  const responses = Object.values(json.status_codes).reduce((a, b) => a + b, 0);
  assert.equal(responses, 400);
  assert.equal(cells.reduce((a, b) => a + b, 0), responses);

  // Round ticks on both axes of every chart with an amount axis, and whole seconds on time axes.
  for (const id of ['chart-throughput', 'chart-latency', 'chart-percentiles', 'chart-heatmap', 'chart-outcomes-time']) {
    const chart = page.getByTestId(id);
    const ys = (await chart.locator('text.tick:not(.x)').allTextContents()).map(Number);
    assertRound(ys, `${id} y`);
    if (id !== 'chart-percentiles') {
      const xs = await chart.locator('text.tick.x').allTextContents();
      assert.ok(xs.every((t) => /^\d+ (s|min|h)$/.test(t)), `${id} x: ${xs}`);
      assertRound(xs.map((t) => Number(t.split(' ')[0])), `${id} x`);
    }
  }

  // Hover read-out: the pointer over the throughput chart names a second and its exact counts.
  const throughput = page.getByTestId('chart-throughput');
  await throughput.hover();
  const readout = await throughput.getByTestId('readout').textContent();
  assert.match(readout, /^\d+ s: req\/s \d+ · errors\/s 0 req\/s$/);
  assert.deepEqual(errors, []);
});

test('status classes per second add up to each second of the series, read with the keyboard', async () => {
  makeRuns();
  const merged = JSON.parse(execFileSync(flakBin, ['merge', files.fast, files.unavailable, '--output', 'json']).toString());
  const { page, errors } = await imported('fast', 'unavailable');
  const chart = page.getByTestId('chart-outcomes-time');
  const names = await chart.locator('polyline.series').evaluateAll((ps) => ps.map((p) => p.dataset.name));
  assert.deepEqual(names, ['2xx', '5xx']);
  await chart.focus();
  const start = Math.floor(merged.started_unix_us / 1e6);
  for (const [i, point] of merged.series.entries()) {
    await page.keyboard.press(i === 0 ? 'Home' : 'ArrowRight');
    const text = await chart.getByTestId('readout').textContent();
    const [, t, values] = text.match(/^(\d+) s: (.*) \/s$/);
    assert.equal(Number(t), point.t - start);
    const sum = [...values.matchAll(/(\dxx) (\d+)/g)].reduce((a, m) => a + Number(m[2]), 0);
    assert.equal(sum, point.count, `second ${t}: ${text}`);
    assert.equal(Number(values.match(/5xx (\d+)/)[1]), point.errors, `second ${t}: the 503s are its errors`);
  }
  assert.deepEqual(errors, []);
});

test('compare: 5 ms against 10 ms is a p50 change beyond noise, two runs of 5 ms are not', async () => {
  makeRuns();
  const { page, errors } = await openApp(env);
  const table = page.getByTestId('compare-table');
  const p50 = table.locator('tr[data-metric="p50 ms"]');

  await page.getByTestId('compare-base').setInputFiles(files.base);
  await page.getByTestId('compare-new').setInputFiles(files.slower);
  await table.waitFor();
  assert.equal(await p50.getAttribute('data-significant'), 'yes');
  const cells = await p50.locator('td').allTextContents();
  assert.ok(Number(cells[0]) >= 5 && Number(cells[0]) < 10 && Number(cells[1]) >= 10, `${cells}`);
  assert.match(await page.getByTestId('compare-verdict').textContent(), /changed beyond noise/);
  assert.match(await page.getByTestId('compare-method').textContent(), /Kolmogorov–Smirnov/);
  // Both runs overlaid on the percentile plot, each with its percentiles.
  const runs = page.getByTestId('chart-compare').locator('g.run');
  assert.equal(await runs.count(), 2);
  assert.equal(await runs.nth(1).locator('circle.dot').count(), 8);

  await page.getByTestId('compare-new').setInputFiles(files.again);
  await p50.filter({ has: page.locator('td', { hasText: /^no$/ }) }).waitFor();
  assert.equal(await p50.getAttribute('data-significant'), 'no');
  // (p90 of two runs on this shared machine may still move: the verdict is the CLI's, whatever it is.)
  const verdict = await page.getByTestId('compare-verdict').textContent();
  const cliText = execFileSync(flakBin, ['compare', files.base, files.again]).toString();
  assert.ok(cliText.includes(verdict), `${verdict} in\n${cliText}`);

  // The table is the CLI's: same rows, same verdict.
  const cli = JSON.parse(execFileSync(flakBin, ['compare', files.base, files.again, '--output', 'json']).toString());
  const metrics = await table.locator('tbody tr').evaluateAll((rs) => rs.map((r) => [r.dataset.metric, r.dataset.significant]));
  const flag = (s) => (s === true ? 'yes' : s === false ? 'no' : '–');
  assert.deepEqual(metrics, cli.rows.map((r) => [r.metric, flag(r.significant)]));

  // A file that is not a results file is named, and the comparison is withdrawn.
  await page.getByTestId('compare-new').setInputFiles({ name: 'junk.json', mimeType: 'application/json', buffer: Buffer.from('{"format": "k6"}') });
  await page.getByTestId('compare-error').waitFor();
  assert.match(await page.getByTestId('compare-error').textContent(), /^junk\.json: not a flak results file/);
  assert.equal(await table.count(), 0);
  assert.deepEqual(errors, []);
});
