// End-to-end tests of sharing results (issue 19): `flak report` on a real run's results file,
// opened from file:// with every request recorded; `?results=URL` served by `flak target` and by
// a plain server with and without CORS, and refused for a file that is not results or is too
// big; the app's "Export HTML" against what `flak report` writes for the same results.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { dist, flakBin, openApp, stat, useTargetAndBrowser } from './harness.mjs';

const env = useTargetAndBrowser();
const dir = mkdtempSync(path.join(tmpdir(), 'flak-share-'));
let results;
let resultsText;

/** A real run of the real binary against the real target; its results file. */
before(async () => {
  results = path.join(dir, 'run.json');
  // The harness's own `before` starts the target; root hooks need not wait for one another.
  for (let i = 0; i < 300 && !env.srv; i++) await new Promise((r) => setTimeout(r, 50));
  execFileSync(flakBin, ['-n', '240', '-c', '4', '-o', results, '--output', 'json',
    `${env.srv.target}status/503`], { stdio: 'ignore', timeout: 60000 });
  execFileSync(flakBin, ['-n', '123', '-c', '4', '-o', `${results}.ok`, '--output', 'json',
    `${env.srv.target}delay/1`], { stdio: 'ignore', timeout: 60000 });
  // Two runs merged: some succeeded, some failed, so the totals tell the files apart.
  execFileSync(flakBin, ['merge', results, `${results}.ok`, '-o', results], { stdio: 'ignore' });
  resultsText = readFileSync(results, 'utf8');
});

/** The page's headline numbers. */
async function totals(page) {
  const ids = ['stat-total', 'stat-succeeded', 'stat-failed', 'stat-cancelled'];
  return Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await stat(page, id)])));
}

const fileTotals = () => {
  const r = JSON.parse(resultsText);
  return { 'stat-total': r.total, 'stat-succeeded': r.succeeded, 'stat-failed': r.failed, 'stat-cancelled': r.cancelled };
};

/** Opens an HTML report from disk, recording every request the page makes. */
async function openReport(file) {
  const page = await env.browser.context.newPage();
  const requests = [];
  const errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`file://${file}`);
  await page.getByTestId('stat-total').waitFor({ timeout: 30000 });
  return { page, requests, errors };
}

/** The report with its inline results taken out: the app part both front ends write. */
const appPart = (html) => html.replace(/(<script type="application\/json" id="flak-results">)[^<]*(<\/script>)/, '$1$2');
const inlineResults = (html) => html.match(/<script type="application\/json" id="flak-results">([^<]*)<\/script>/)[1];

test('flak report writes one HTML file that opens from file:// with no request and shows the run', async () => {
  const html = path.join(dir, 'report.html');
  execFileSync(flakBin, ['report', results, '-o', html]);
  const text = readFileSync(html, 'utf8');
  assert.match(text, /connect-src 'none'/);
  const { page, requests, errors } = await openReport(html);
  assert.deepEqual(await totals(page), fileTotals());
  assert.ok(fileTotals()['stat-failed'] === 240 && fileTotals()['stat-succeeded'] === 123);
  // The read-only view: no form to start a run from.
  assert.equal(await page.getByTestId('start').count(), 0);
  await page.waitForTimeout(500);
  assert.deepEqual(requests, [`file://${html}`], 'no request beyond the file itself');
  assert.deepEqual(errors, []);
  // Enforced, not hoped: the page's own policy refuses a fetch to a server that would answer.
  await env.srv.reset();
  const refused = await page.evaluate(async (url) => {
    const violated = new Promise((r) => document.addEventListener('securitypolicyviolation', (e) => r(e.violatedDirective)));
    const fetched = await fetch(url).then(() => 'fetched', () => 'refused');
    return [fetched, await violated];
  }, `${env.srv.target}status/200`);
  assert.deepEqual(refused, ['refused', 'connect-src']);
  assert.equal((await env.srv.stats()).requests, 0, 'the target saw nothing');
  await page.close();
});

test('flak report on a corrupt or missing file exits 2 with one line', () => {
  const bad = path.join(dir, 'corrupt.json');
  writeFileSync(bad, resultsText.replace(/"succeeded": *\d+/, '"succeeded": 7'));
  for (const file of [bad, path.join(dir, 'missing.json')]) {
    const out = spawnSync(flakBin, ['report', file, '-o', path.join(dir, 'never.html')], { encoding: 'utf8' });
    assert.equal(out.status, 2, out.stderr);
    assert.equal(out.stderr.trim().split('\n').length, 1, out.stderr);
    assert.match(out.stderr, new RegExp(`^flak: .*${path.basename(file)}`));
  }
});

test('Export HTML downloads the report flak report writes for the same results', async () => {
  const cli = readFileSync(path.join(dir, 'report.html'), 'utf8');
  const { page, errors } = await openApp(env);
  await page.getByTestId('import').setInputFiles([results]);
  await page.getByText('Showing 1 imported file(s)').waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByText('Export HTML').click()]);
  assert.match(download.suggestedFilename(), /^flak-.*\.html$/);
  const exported = readFileSync(await download.path(), 'utf8');
  assert.equal(appPart(exported), appPart(cli), 'the same app, the same page around the results');
  // The results inside are the browser's own export of the same run; `flak report` on them
  // writes exactly the file the app did.
  const again = path.join(dir, 'from-app.json');
  writeFileSync(again, inlineResults(exported));
  const rewritten = path.join(dir, 'from-app.html');
  execFileSync(flakBin, ['report', again, '-o', rewritten]);
  assert.equal(readFileSync(rewritten, 'utf8'), exported);
  const exportedFile = path.join(dir, 'exported.html');
  writeFileSync(exportedFile, exported);
  const opened = await openReport(exportedFile);
  assert.deepEqual(await totals(opened.page), fileTotals());
  assert.deepEqual(opened.requests, [`file://${exportedFile}`]);
  assert.deepEqual([...errors, ...opened.errors], []);
  await opened.page.close();
  await page.close();
});

/** A plain server for cross-origin `?results=`: /cors/… allows any origin, /plain/… does not. */
let plain;
let plainUrl;
before(async () => {
  plain = http.createServer((req, res) => {
    const cors = req.url.startsWith('/cors/');
    if (cors) res.setHeader('access-control-allow-origin', '*');
    const name = req.url.replace(/^\/(cors|plain)\//, '');
    if (name === 'results.json') {
      res.setHeader('content-type', 'application/json');
      return res.end(resultsText);
    }
    if (name === 'declared') {
      // A 500 MB file by its Content-Length; the little that is sent is never read.
      res.setHeader('content-length', '500000000');
      res.write(Buffer.alloc(1 << 16, 0x20));
      const end = setTimeout(() => res.destroy(), 20000);
      return res.on('close', () => clearTimeout(end));
    }
    if (name === 'endless') {
      // No Content-Length: only counting the bytes as they come stops it. Bounded anyway.
      let sent = 0;
      const chunk = Buffer.alloc(1 << 20, 0x20);
      const more = () => {
        while (sent < 300 * (1 << 20)) {
          sent += chunk.length;
          if (!res.write(chunk)) return res.once('drain', more);
        }
        res.end();
      };
      res.on('close', () => { sent = Infinity; });
      return more();
    }
    res.statusCode = 404;
    res.end('not found\n');
  });
  await new Promise((r) => plain.listen(0, '127.0.0.1', r));
  plainUrl = `http://127.0.0.1:${plain.address().port}/`;
});
after(() => plain?.close());

/** Opens the app with `?results=URL` and waits for the import to end one way or the other. */
async function openByUrl(url, appEnv = env) {
  const { page, errors } = await openApp(appEnv, `?results=${encodeURIComponent(url)}`);
  await page.locator('[data-testid=stat-total], [data-testid=import-error]').first().waitFor({ timeout: 60000 });
  return { page, errors };
}

test('?results=URL opens a results file: same origin, and cross-origin with CORS', async () => {
  // Same origin: a copy of the app with the results file beside it, served by `flak target`.
  const site = path.join(dir, 'site');
  cpSync(dist, site, { recursive: true });
  writeFileSync(path.join(site, 'run.json'), resultsText);
  const served = await startSite(site);
  const sameOrigin = { browser: env.browser, srv: served };
  try {
    for (const url of ['run.json', `${served.app}run.json`]) {
      const { page, errors } = await openByUrl(url, sameOrigin);
      assert.deepEqual(await totals(page), fileTotals(), url);
      assert.match(await page.locator('.status-text').textContent(), /run\.json/);
      assert.deepEqual(errors, []);
      await page.close();
    }
  } finally {
    served.stop();
  }
  const { page, errors } = await openByUrl(`${plainUrl}cors/results.json`);
  assert.deepEqual(await totals(page), fileTotals());
  assert.deepEqual(errors, []);
  await page.close();
});

/** `flak target --app DIR` for a folder of our own. */
async function startSite(site) {
  const child = spawn(flakBin, ['target', '--listen', '127.0.0.1:0', '--threads', '1', '--app', site,
    '--app-listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`flak target did not start: ${out}`)), 15000);
    child.stdout.on('data', (c) => {
      out += c;
      const app = out.match(/flak app on (http:\/\/[^/\s]+\/)/);
      if (app) {
        clearTimeout(timer);
        resolve({ app: app[1], stop: () => child.kill('SIGKILL') });
      }
    });
  });
}

test('?results=URL refuses, with one message and nothing drawn: no CORS, not results, too big', async () => {
  const cases = [
    [`${plainUrl}plain/results.json`, /CORS/],
    [`${env.srv.target}`, /not a flak results file/],
    [`${plainUrl}cors/missing.json`, /answered 404/],
    // 500 MB declared by Content-Length: refused before a byte of the body is read.
    [`${plainUrl}cors/declared`, /it is 500000000 bytes, over the 100000000 bytes a results file may be$/],
    // No Content-Length: refused by counting as the bytes arrive.
    [`${plainUrl}cors/endless`, /it is over the 100000000 bytes a results file may be \(counted as it arrived\)$/],
  ];
  for (const [url, expected] of cases) {
    const { page, errors } = await openByUrl(url);
    const message = page.getByTestId('import-error');
    assert.equal(await message.count(), 1, url);
    const text = await message.textContent();
    assert.match(text, expected, url);
    assert.ok(text.startsWith(url), text);
    assert.equal(await page.getByTestId('stat-total').count(), 0, `${url}: nothing drawn`);
    assert.deepEqual(errors, [], url);
    await page.close();
  }
});

test('flak target --app with no folder serves the app built into the binary', async () => {
  const child = spawn(flakBin, ['target', '--listen', '127.0.0.1:0', '--threads', '1', '--app',
    '--app-listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const app = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`flak target did not start: ${out}`)), 15000);
      child.stdout.on('data', (c) => {
        out += c;
        const m = out.match(/flak app on (http:\/\/[^/\s]+\/)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const index = await fetch(app);
    assert.equal(index.headers.get('cross-origin-embedder-policy'), 'require-corp');
    const html = await index.text();
    assert.equal(html, readFileSync(path.join(dist, 'index.html'), 'utf8'));
    const wasm = html.match(/href="\.\/([^"]+\.wasm)"/)[1];
    const bytes = Buffer.from(await (await fetch(`${app}${wasm}`)).arrayBuffer());
    assert.ok(bytes.equals(readFileSync(path.join(dist, wasm))), 'the same wasm as dist/');
    assert.equal((await fetch(`${app}../Cargo.toml`)).status, 404);
  } finally {
    child.kill('SIGKILL');
  }
});
