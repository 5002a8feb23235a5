// Browser benchmark: the app's throughput against a hand-written JS fetch loop with the same
// in-flight limit on the same page origin, in headless Chromium, over HTTP/1.1 and HTTP/2 (TLS);
// the longest main-thread task during an app run; and the app's transfer size.
// Usage: node bench/browser-bench.mjs [--quick]   (needs dist/ and a flak binary: FLAK_BIN)
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { launch, root } from '../tests/e2e/harness.mjs';

const quick = process.argv.includes('--quick');
const flakBin = process.env.FLAK_BIN || path.join(root, 'target/release/flak');
const reps = quick ? 1 : 3;
const requests = quick ? 600 : 2000;

function start(args) {
  const child = spawn('taskset', ['-c', '0', flakBin, 'target', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const t = out.match(/listening on (https?:\/\/\S+\/)/);
      const a = out.match(/flak app on (http:\/\/[^/\s]+\/)/);
      if (t && (!args.includes('--app') || a)) resolve({ target: t[1], app: a && a[1], stop: () => child.kill('SIGKILL') });
    });
    setTimeout(() => reject(new Error(`no address: ${out}`)), 15000);
  });
}

async function appRun(page, app, url, c) {
  await page.goto(`${app}?url=${encodeURIComponent(url)}&requests=${requests}&concurrency=${c}&timeout=30s&autostart=1`);
  await page.getByTestId('run-status').filter({ hasText: /^done$/ }).waitFor({ timeout: 300000 });
  const total = Number(await page.getByTestId('stat-total').textContent());
  if (total !== requests) throw new Error(`app ran ${total} of ${requests}`);
  return Number(await page.getByTestId('stat-rps').textContent());
}

async function jsLoopRun(page, app, url, c) {
  await page.goto(`${app}`);
  return page.evaluate(async ({ url, c, n }) => {
    let next = 0;
    let done = 0;
    const t0 = performance.now();
    async function worker() {
      while (next < n) {
        next++;
        const r = await fetch(url, { cache: 'no-store', credentials: 'omit' });
        await r.arrayBuffer();
        done++;
      }
    }
    await Promise.all(Array.from({ length: c }, worker));
    return done / ((performance.now() - t0) / 1000);
  }, { url, c, n: requests });
}

async function longestTask(page, app, url) {
  await page.goto(`${app}?url=${encodeURIComponent(url)}&requests=${requests}&concurrency=50`);
  await page.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => {
      // Only tasks during the run: loading and compiling the app is not the run's doing.
      if (window.__runStart !== undefined && e.startTime >= window.__runStart) window.__long.push(e.duration);
    })).observe({ type: 'longtask', buffered: true });
  });
  await page.evaluate(() => { window.__runStart = performance.now(); });
  await page.getByTestId('start').click();
  await page.getByTestId('run-status').filter({ hasText: /^done$/ }).waitFor({ timeout: 300000 });
  return page.evaluate(() => ({ count: window.__long.length, max: Math.max(0, ...window.__long) }));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const plain = await start(['--listen', '127.0.0.1:0', '--threads', '1', '--app', path.join(root, 'dist'), '--app-listen', '127.0.0.1:0']);
const tls = await start(['--listen', '127.0.0.1:0', '--threads', '1', '--tls']);
const browser = await launch({ extraArgs: ['--ignore-certificate-errors'] });
const page = await browser.context.newPage();
const rows = [];
for (const [proto, url] of [['HTTP/1.1', plain.target], ['HTTP/2 (TLS)', tls.target]]) {
  for (const c of [6, 50]) {
    const app = [];
    const js = [];
    for (let i = 0; i < reps; i++) {
      app.push(await appRun(page, plain.app, url, c));
      js.push(await jsLoopRun(page, plain.app, url, c));
    }
    rows.push({ proto, c, app: median(app), js: median(js), ratio: median(app) / median(js) });
    console.log(JSON.stringify(rows.at(-1)));
  }
}
const long = await longestTask(page, plain.app, plain.target);
await browser.close();
plain.stop();
tls.stop();

const dist = path.join(root, 'dist');
const size = (ext) => readdirSync(dist).filter((f) => f.endsWith(ext))
  .reduce((n, f) => n + gzipSync(readFileSync(path.join(dist, f)), { level: 9 }).length, 0);
const bundle = { wasm: size('.wasm'), js: size('.js'), css: size('.css') };
const result = { date: new Date().toISOString(), requests, reps, rows, long, bundle };
const outFile = process.env.BROWSER_OUT || path.join(root, 'bench/out/browser.json');
mkdirSync(path.dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(result, null, 2));
console.log(JSON.stringify({ long, bundle }));
