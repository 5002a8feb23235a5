// End-to-end test of `flak --ui`: the real CLI runs against the real `flak target` and serves
// the app built into it; headless Chromium opens the printed address while the run goes and
// must show totals before the run ends, and at the end exactly the results file's numbers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { flakBin, launch, startTarget } from './harness.mjs';

const env = {};
before(async () => {
  env.srv = await startTarget({ app: false });
  env.browser = await launch();
});
after(async () => {
  await env.browser?.close();
  env.srv?.stop();
});

/** Starts `flak ARGS`; resolves with the address `--ui` printed and a promise of the exit. */
function flakWithUi(args) {
  const child = spawn(flakBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  process.once('exit', () => child.kill('SIGKILL'));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no --ui address: ${err}`)), 15000);
    child.stderr.on('data', (chunk) => {
      err += chunk;
      const m = err.match(/watch it in the browser at (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], exited, child });
      }
    });
  });
}

const stat = async (page, id) => Number(await page.getByTestId(id).textContent());

test('a CLI run with --ui is watched live and ends with exactly its results file', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flak-ui-'));
  const file = path.join(dir, 'run.json');
  await env.srv.reset();
  const run = await flakWithUi(['-z', '6s', '-c', '4', '--ui', '-o', file, `${env.srv.target}delay/5`]);
  let done = false;
  run.exited.then(() => { done = true; });
  const page = await env.browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(run.url);
  await page.getByText('the flak run that served this page, live').waitFor({ timeout: 10000 });
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=stat-total]')?.textContent) > 0);
  const seen = await stat(page, 'stat-total');
  const server = (await env.srv.stats()).requests;
  assert.ok(!done, 'the page showed the run before it ended');
  assert.ok(seen > 0 && seen <= server, `the page showed ${seen} with the server at ${server}`);

  assert.equal(await run.exited, 0);
  await page.getByText('the flak run that served this page, finished').waitFor({ timeout: 10000 });
  const results = JSON.parse(readFileSync(file, 'utf8'));
  for (const [id, key] of [['stat-total', 'total'], ['stat-succeeded', 'succeeded'], ['stat-failed', 'failed'], ['stat-cancelled', 'cancelled']]) {
    assert.equal(await stat(page, id), results[key], id);
  }
  assert.equal(results.total, (await env.srv.stats()).requests, 'the file counts what the server saw');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a page opened late catches up, and closing it costs the run nothing', async () => {
  const run = await flakWithUi(['-z', '3s', '-c', '2', '--ui', `${env.srv.target}delay/5`]);
  await new Promise((r) => setTimeout(r, 1500));
  const page = await env.browser.context.newPage();
  await page.goto(run.url);
  // The first message is the run so far, not its first second.
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=stat-total]')?.textContent) > 100);
  await page.close();
  const started = Date.now();
  assert.equal(await run.exited, 0);
  assert.ok(Date.now() - started < 4000, 'the run did not wait for the closed page');
});
