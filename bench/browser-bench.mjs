// Browser benchmark: the app's throughput against a hand-written JS fetch loop with the same
// in-flight limit on the same page origin, in headless Chromium, over HTTP/1.1 and HTTP/2 (TLS);
// the longest main-thread task during an app run (the first run in each of three fresh browsers);
// and the app's transfer size.
// Each configuration: one uncounted warm-up pair, then app and loop runs interleaved (A B A B),
// the median of each. Usage: node bench/browser-bench.mjs [--quick] [--instrumented]
// [--reps N] [--requests N] [--only h1-6,h2-50]   (needs dist/, or FLAK_DIST, and a flak
// binary: FLAK_BIN)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { launch, root } from '../tests/e2e/harness.mjs';

const quick = process.argv.includes('--quick');
const instrumented = process.argv.includes('--instrumented');
const flakBin = process.env.FLAK_BIN || path.join(root, 'target/release/flak');
const option = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const reps = Number(option('--reps') ?? (quick ? 3 : 5));
const requests = Number(option('--requests') ?? (quick ? 600 : 2000));
const warmup = 200;
// --only h1-6,h2-50: just those configurations (while tuning).
const only = option('--only')?.split(',');
const dist = process.env.FLAK_DIST || path.join(root, 'dist');

function start(args) {
  const child = spawn('taskset', ['-c', '0', flakBin, 'target', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Never leave a server behind, however this script ends.
  process.once('exit', () => child.kill('SIGKILL'));
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

// The throughput runs drive Chromium over a bare DevTools pipe that only navigates and
// evaluates. Playwright enables the Network domain on every page it controls, which makes the
// browser report every request to the driver: measured here, that instrumentation costs Chromium
// ~2 ms of CPU per fetch plus ~0.5 ms in Node, more than the fetch itself (~2.6 ms), and it
// hid most of whatever the page itself spends per request. Run with --instrumented to measure
// through Playwright instead (the numbers before 2026-11-23 were measured that way).
const chromeFlags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--ignore-certificate-errors'];

async function launchBare() {
  const dir = mkdtempSync(path.join(tmpdir(), 'flak-bench-'));
  const child = spawn(process.env.CHROMIUM || '/usr/bin/chromium',
    ['--headless', ...chromeFlags, '--remote-debugging-pipe', `--user-data-dir=${dir}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  const [toChrome, fromChrome] = [child.stdio[3], child.stdio[4]];
  let next = 0;
  let buffer = '';
  const pending = new Map();
  let exited = false;
  // Chromium gone (crashed, killed): fail what waits on it rather than hang or end silently.
  child.once('exit', (code, signal) => {
    exited = true;
    for (const waiter of pending.values()) waiter.reject(new Error(`Chromium exited (${signal ?? code}) during ${waiter.method}`));
    pending.clear();
  });
  fromChrome.on('data', (chunk) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\0')) >= 0) {
      const msg = JSON.parse(buffer.slice(0, end));
      buffer = buffer.slice(end + 1);
      const waiter = msg.id !== undefined && pending.get(msg.id);
      if (!waiter) continue;
      pending.delete(msg.id);
      if (msg.error) waiter.reject(new Error(`${waiter.method}: ${msg.error.message}`));
      else waiter.resolve(msg.result);
    }
  });
  const send = (method, params = {}, sessionId = undefined) => new Promise((resolve, reject) => {
    if (exited) return reject(new Error(`Chromium has exited: ${method}`));
    const id = ++next;
    pending.set(id, { resolve, reject, method });
    toChrome.write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
  });
  let targetInfos = [];
  for (let i = 0; i < 100 && !targetInfos.some((t) => t.type === 'page'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    ({ targetInfos } = await send('Target.getTargets'));
  }
  const { targetId } = targetInfos.find((t) => t.type === 'page');
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const evaluate = async (expression) => {
    const { result, exceptionDetails } = await send('Runtime.evaluate',
      { expression, awaitPromise: true, returnByValue: true }, sessionId);
    if (exceptionDetails) throw new Error(`in the page: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value;
  };
  return {
    send: (method, params) => send(method, params, sessionId),
    evaluate,
    goto: async (url) => {
      await send('Page.navigate', { url }, sessionId);
      // The app has loaded when its Start button is there.
      await evaluate(`new Promise((resolve, reject) => {
        const t0 = performance.now();
        const check = () => document.querySelector('[data-testid="start"]') ? resolve()
          : performance.now() - t0 > 30000 ? reject(new Error('the app did not load')) : setTimeout(check, 50);
        check();
      })`);
    },
    close: async () => {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
      // Its helpers may still be writing for a moment; a temp dir left behind is harmless.
      await new Promise((r) => setTimeout(r, 300));
      try { rmSync(dir, { recursive: true, force: true }); } catch {}
    },
  };
}

// The same for both: the app page loaded, then left alone for a moment (wasm compiled, first
// render and layout done), then the run. The app is started by a click, as a person would.
const settle = (page) => page.evaluate('new Promise((r) => setTimeout(r, 500))');

async function appRun(page, app, url, c, n) {
  await page.goto(`${app}?url=${encodeURIComponent(url)}&requests=${n}&concurrency=${c}&timeout=10s`);
  await settle(page);
  const { total, rps } = await page.evaluate(`new Promise((resolve) => {
    const status = document.querySelector('[data-testid="run-status"]');
    const read = () => ({
      total: Number(document.querySelector('[data-testid="stat-total"]').textContent),
      rps: Number(document.querySelector('[data-testid="stat-rps"]').textContent),
    });
    new MutationObserver(() => { if (status.textContent === 'done') resolve(read()); })
      .observe(status, { childList: true, characterData: true, subtree: true });
    document.querySelector('[data-testid="start"]').click();
  })`);
  if (total !== n) throw new Error(`app ran ${total} of ${n}`);
  return rps;
}

// The loop does what the app does per request, and no more: fetch with the same options
// (cors, no-store, no credentials), read the body to the end, count it.
const loopSource = `async ({ url, c, n }) => {
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
}`;

async function jsLoopRun(page, app, url, c, n) {
  await page.goto(app);
  await settle(page);
  return page.evaluate(`(${loopSource})(${JSON.stringify({ url, c, n })})`);
}

/** Playwright's page, shaped like launchBare's, for --instrumented. */
async function launchInstrumented() {
  const browser = await launch({ extraArgs: ['--ignore-certificate-errors'] });
  const page = await browser.context.newPage();
  return {
    evaluate: (expression) => page.evaluate(expression),
    goto: async (url) => {
      await page.goto(url);
      await page.getByTestId('start').waitFor();
    },
    close: () => browser.close(),
  };
}

// The longest main-thread task of one app run (50 in flight), the run's first in a fresh
// browser: the coldest it gets (code not yet optimised, first layout of the run view). The
// task that renders the finished run counts too. Through the bare pipe, like the throughput
// runs: Playwright's per-request instrumentation adds CPU to the browser process, which on two
// cores shows up as the renderer waiting for a core in the middle of a task.
async function longestTask(page, app, url) {
  await page.goto(`${app}?url=${encodeURIComponent(url)}&requests=${requests}&concurrency=50`);
  return page.evaluate(`new Promise((resolve) => {
    const long = [];
    const runStart = performance.now();
    new PerformanceObserver((list) => list.getEntries().forEach((e) => {
      if (e.startTime >= runStart) long.push(e.duration);
    })).observe({ type: 'longtask' });
    const status = document.querySelector('[data-testid="run-status"]');
    // Entries arrive after their task: give the last one time to.
    new MutationObserver(() => {
      if (status.textContent === 'done') setTimeout(() => resolve({ count: long.length, max: Math.max(0, ...long) }), 200);
    }).observe(status, { childList: true, characterData: true, subtree: true });
    document.querySelector('[data-testid="start"]').click();
  })`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const plain = await start(['--listen', '127.0.0.1:0', '--threads', '1', '--app', dist, '--app-listen', '127.0.0.1:0']);
const tls = await start(['--listen', '127.0.0.1:0', '--threads', '1', '--tls']);
const bare = instrumented ? await launchInstrumented() : await launchBare();
const rows = [];
for (const [proto, url] of [['HTTP/1.1', plain.target], ['HTTP/2 (TLS)', tls.target]]) {
  for (const c of [6, 50]) {
    if (only && !only.includes(`${proto.startsWith('HTTP/2') ? 'h2' : 'h1'}-${c}`)) continue;
    // Not counted: connections (and TLS sessions) opened, code warm, for both alike.
    await appRun(bare, plain.app, url, c, warmup);
    await jsLoopRun(bare, plain.app, url, c, warmup);
    const app = [];
    const js = [];
    for (let i = 0; i < reps; i++) {
      app.push(await appRun(bare, plain.app, url, c, requests));
      js.push(await jsLoopRun(bare, plain.app, url, c, requests));
    }
    const ratios = app.map((a, i) => a / js[i]);
    rows.push({ proto, c, app: median(app), js: median(js), ratio: median(app) / median(js), runs: { app, js, ratios } });
    console.log(JSON.stringify(rows.at(-1)));
  }
}
await bare.close();
const longRuns = [];
for (let i = 0; i < 3; i++) {
  const fresh = instrumented ? await launchInstrumented() : await launchBare();
  longRuns.push(await longestTask(fresh, plain.app, plain.target));
  await fresh.close();
}
const long = {
  count: longRuns.reduce((n, r) => n + r.count, 0),
  max: Math.max(...longRuns.map((r) => r.max)),
  runs: longRuns.map((r) => r.max),
};
plain.stop();
tls.stop();

const size = (ext) => readdirSync(dist).filter((f) => f.endsWith(ext))
  .reduce((n, f) => n + gzipSync(readFileSync(path.join(dist, f)), { level: 9 }).length, 0);
const bundle = { wasm: size('.wasm'), js: size('.js'), css: size('.css') };
const result = { date: new Date().toISOString(), requests, reps, instrumented, rows, long, bundle };
const outFile = process.env.BROWSER_OUT || path.join(root, 'bench/out/browser.json');
mkdirSync(path.dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(result, null, 2));
console.log(JSON.stringify({ long, bundle }));
