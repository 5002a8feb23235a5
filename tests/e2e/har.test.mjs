// End-to-end test of HAR import: headless Chromium records a HAR (Playwright's recordHar) of a
// page that makes fetch calls to the real `flak target` (a GET with a query, a POST with a JSON
// body, a request with an Authorization header, two at once); then `flak import har` and
// `flak --har` replay it. A recording server (via --connect-to) sees the same method, path,
// query and body for every recorded request; `flak target` counts the same paths and body
// bytes; the secret is a placeholder unless --keep-secrets.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { flakBin, root, startTarget } from './harness.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require(path.join(root, 'scripts/node/node_modules/playwright-core'));

const SECRET = 'Bearer e2e-secret-token';
const JSON_BODY = JSON.stringify({ name: 'flak', tags: ['a', 'b'], n: 3 });

// The page's script: each fetch waits for the one before, but the last two go out together.
const PAGE = `<!doctype html><title>har</title><script>
(async () => {
  await fetch('/delay/5?step=1&q=two%20words');
  await fetch('/upload?kind=json', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: ${JSON.stringify(JSON_BODY)} });
  await fetch('/?auth=1', { headers: { Authorization: '${SECRET}' } });
  await Promise.all([fetch('/delay/30?a=1'), fetch('/delay/30?b=2')]);
  document.title = 'done';
})();
</script>`;

/** A server on 127.0.0.1 that records every request: method, path and query, headers, body. */
function startRecorder() {
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, target: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.end('ok\n');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, seen, close: () => server.close() }));
  });
}

const env = {};
before(async () => {
  env.dir = mkdtempSync(path.join(tmpdir(), 'flak-har-'));
  env.srv = await startTarget({ app: false });
  env.recorder = await startRecorder();
  env.har = path.join(env.dir, 'recorded.har');
  // The page is served at the target's own origin (fulfilled by Playwright), so its fetches are
  // same-origin and the Authorization header needs no CORS preflight.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ recordHar: { path: env.har, content: 'embed' } });
  const page = await context.newPage();
  await page.route(`${env.srv.target}page.html`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: PAGE }));
  await env.srv.reset();
  await page.goto(`${env.srv.target}page.html`);
  await page.waitForFunction(() => document.title === 'done', null, { timeout: 15000 });
  await context.close(); // writes the HAR
  await browser.close();
});
after(() => {
  env.srv?.stop();
  env.recorder?.close();
  if (env.dir) rmSync(env.dir, { recursive: true, force: true });
});

/** The recorded fetches (not the page itself) as method, path+query and body. */
function recorded() {
  const har = JSON.parse(readFileSync(env.har, 'utf8'));
  return har.log.entries
    .filter((e) => !e.request.url.endsWith('/page.html'))
    .map((e) => {
      const url = new URL(e.request.url);
      return { method: e.request.method, target: url.pathname + url.search, body: e.request.postData?.text ?? '' };
    });
}

const key = (r) => `${r.method} ${r.target} ${r.body}`;
const exclude = ['--exclude', '/page\\.html$'];

test('the recording holds the page\'s five fetches, the POST body and the secret', () => {
  const requests = recorded();
  assert.deepEqual(requests.map(key).sort(), [
    'GET /?auth=1 ',
    'GET /delay/30?a=1 ',
    'GET /delay/30?b=2 ',
    'GET /delay/5?step=1&q=two%20words ',
    `POST /upload?kind=json ${JSON_BODY}`,
  ]);
  assert.match(readFileSync(env.har, 'utf8'), /e2e-secret-token/);
});

test('flak import har writes a journey with the secret as a placeholder, and says how to run it', () => {
  const out = spawnSync(flakBin, ['import', 'har', env.har, ...exclude], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const toml = out.stdout;
  assert.doesNotMatch(toml, /e2e-secret-token/);
  assert.match(toml, /\{data:authorization\}/);
  assert.match(toml, /\[\[step\.request\]\]/, 'the two fetches sent together are a fan-out group');
  assert.equal((toml.match(/^\[\[step\]\]$/gm) || []).length, 4, toml);
  assert.doesNotMatch(toml, /sec-ch-ua|:authority/i, 'browser-only headers are dropped');
  assert.match(out.stderr, /5 requests from .* as 4 steps \(1 fan-out group\)/);
  assert.match(out.stderr, /--data secrets\.csv with the header row authorization/);
  // Run as it stands, it is refused before anything is sent: one line, exit 2.
  const run = spawnSync(flakBin, ['--har', env.har, ...exclude, '-n', '1'], { encoding: 'utf8' });
  assert.equal(run.status, 2);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, /secrets/);
});

test('the imported scenario replays every recorded request with the same method, path, query and body', async () => {
  const scenario = path.join(env.dir, 'replay.toml');
  execFileSync(flakBin, ['import', 'har', env.har, ...exclude, '--keep-secrets', '--think', 'none', '-o', scenario], { stdio: 'pipe' });
  const targetPort = new URL(env.srv.target).port;
  env.recorder.seen.length = 0;
  // Not execFileSync: the recorder answers on this process's event loop.
  const { stdout } = await promisify(execFile)(flakBin, [
    '--scenario', scenario, '-n', '1', '-c', '1', '--output', 'json', '--no-progress',
    '--connect-to', `127.0.0.1:${targetPort}:127.0.0.1:${env.recorder.port}`,
  ], { encoding: 'utf8', timeout: 60000 });
  const report = JSON.parse(stdout);
  assert.equal(report.failed, 0);
  const seen = env.recorder.seen;
  assert.deepEqual(seen.map(key).sort(), recorded().map(key).sort());
  const auth = seen.find((r) => r.target === '/?auth=1');
  assert.equal(auth.headers.authorization, SECRET, 'kept with --keep-secrets');
  const post = seen.find((r) => r.method === 'POST');
  assert.equal(post.headers['content-type'], 'application/json');
});

test('flak --har runs the recording against flak target: its counts per path and body bytes match', async () => {
  await env.srv.reset();
  const out = spawnSync(flakBin, ['--har', env.har, ...exclude, '--keep-secrets', '-n', '3', '-c', '1', '--output', 'json', '--no-progress'], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const report = JSON.parse(out.stdout);
  assert.equal(report.failed, 0);
  const stats = await env.srv.stats();
  assert.deepEqual(stats.paths, { '/': 3, '/delay/30': 6, '/delay/5': 3, '/upload': 3 });
  assert.equal(stats.body_bytes, 3 * Buffer.byteLength(JSON_BODY));
});
