// End-to-end test of a capacity report in the built app (dist/): `flak capacity -o FILE` run by
// the real CLI against the real `flak target`, the file dropped on the page, and the chart,
// SLO lines and conclusion checked against the file; a file that is neither keeps its message.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { flakBin, openApp, useTargetAndBrowser } from './harness.mjs';

const env = useTargetAndBrowser();

/** Drops a file on the import area, as a person dragging it from their file manager. */
async function drop(page, name, text) {
  await page.evaluate(([n, t]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([t], n, { type: 'application/json' }));
    const zone = document.querySelector('section.import');
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, [name, text]);
}

test('a dropped capacity report charts one point per step, the SLO lines, and the report\'s conclusion', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flak-capacity-'));
  const file = path.join(dir, 'capacity.json');
  // 4 slots of 20 ms: about 200 req/s, so the search breaks p99 somewhere in 50–400 req/s (at
  // 400 req/s a second's queue waits ~1 s). The SLO leaves room above the 20 ms a step at
  // 50 req/s takes, so a busy machine still meets it there.
  const run = spawnSync(flakBin, [
    'capacity', '--slo', 'p99<250ms', '--slo', 'errors<1%', '--step', '1s', '--start-rate', '50',
    '--max-rate', '400', '-o', file, `${env.srv.target}queue?slots=4&ms=20`,
  ], { encoding: 'utf8', timeout: 120000 });
  assert.equal(run.status, 0, run.stderr);
  const text = readFileSync(file, 'utf8');
  const report = JSON.parse(text);
  assert.equal(report.format, 'flak-capacity');
  assert.ok(report.steps.length >= 2, `${report.steps.length} steps`);

  const { page, errors } = await openApp(env);
  await drop(page, 'capacity.json', text);
  const conclusion = page.getByTestId('capacity-conclusion');
  await conclusion.waitFor({ timeout: 15000 });
  assert.equal(await conclusion.textContent(), report.conclusion);

  const chart = page.getByTestId('chart-capacity');
  const points = chart.getByTestId('capacity-point');
  assert.equal(await points.count(), report.steps.length);
  assert.equal(await chart.getByTestId('capacity-error-point').count(), report.steps.length);
  // Each point carries its step's rate and verdict, in the order the search ran them.
  for (let i = 0; i < report.steps.length; i++) {
    const p = points.nth(i);
    assert.equal(Number(await p.getAttribute('data-rate')), report.steps[i].asked, `step ${i + 1}`);
    assert.equal(await p.getAttribute('data-verdict'), report.steps[i].verdict, `step ${i + 1}`);
  }
  // The search both met and broke the p99 SLO, so both kinds of marker are on the chart.
  const verdicts = report.steps.map((s) => s.verdict);
  assert.ok(verdicts.includes('met') && verdicts.includes('broke'), verdicts.join(' '));

  const lines = chart.getByTestId('slo-line');
  assert.equal(await lines.count(), 2);
  assert.deepEqual(
    [await lines.nth(0).getAttribute('data-slo'), await lines.nth(0).getAttribute('data-value')],
    ['p99<250ms', '250'],
  );
  assert.deepEqual(
    [await lines.nth(1).getAttribute('data-slo'), await lines.nth(1).getAttribute('data-value')],
    ['errors<1%', '1'],
  );
  // The p99 line sits between the met points (below it) and the broke points (above it).
  const yOf = async (loc) => Number(await loc.locator('line').getAttribute('y1'));
  const sloY = await yOf(lines.nth(0));
  for (let i = 0; i < report.steps.length; i++) {
    const s = report.steps[i];
    if (s.p99_ms == null) continue;
    const cy = await points.nth(i).evaluate((g) => g.getBBox().y + g.getBBox().height / 2);
    if (s.p99_ms < 250) assert.ok(cy > sloY, `step ${i + 1} p99 ${s.p99_ms} drawn at ${cy}, line at ${sloY}`);
    if (s.p99_ms > 250) assert.ok(cy < sloY, `step ${i + 1} p99 ${s.p99_ms} drawn at ${cy}, line at ${sloY}`);
  }
  assert.equal(await page.getByTestId('capacity-step').count(), report.steps.length);
  assert.deepEqual(errors, []);

  // A file that is neither a results file nor a capacity report keeps today's message.
  const other = path.join(dir, 'other.json');
  writeFileSync(other, JSON.stringify({ format: 'something-else' }));
  await page.getByTestId('import').setInputFiles([other]);
  const message = page.getByTestId('import-error');
  await message.waitFor({ timeout: 15000 });
  assert.match(await message.textContent(), /^other\.json: /);
  assert.doesNotMatch(await message.textContent(), /capacity/);

  // A capacity report from a newer flak is refused as one, in one line.
  const newer = path.join(dir, 'newer.json');
  writeFileSync(newer, JSON.stringify({ ...report, version: 2 }));
  await page.getByTestId('import').setInputFiles([newer]);
  await message.filter({ hasText: 'newer.json' }).waitFor({ timeout: 15000 });
  assert.match(await message.textContent(), /version 2 is not supported/);
  await page.close();
});
