// Browser benchmark: the app's throughput against a hand-written JS fetch loop with the same
// in-flight limit on the same page origin, run in a Web Worker (as the app's load is) and on the
// page, in headless Chromium, over HTTP/1.1 and HTTP/2 (TLS); the app's page-measured latency
// against Resource Timing's for the same requests (read in the worker through the DevTools
// protocol), in the worker and on the main thread; what a 200 ms busy loop in the page does to a
// paced run's latency; the longest main-thread task during an app run (the first run in each of
// three fresh browsers); and the app's transfer size.
// Each throughput configuration: one uncounted warm-up of each, then app and loops interleaved
// (A B C A B C), the median of each. Usage: node bench/browser-bench.mjs [--quick]
// [--instrumented] [--reps N] [--requests N] [--only h1-6,h2-50]
// [--skip-throughput] [--skip-latency] [--skip-busy] [--skip-long] [--cpu] [--profile h1-6]
// (needs dist/, or FLAK_DIST, and a flak binary: FLAK_BIN).
// node bench/browser-bench.mjs --hidden MINUTES: a paced run (50 req/s) in a hidden tab of a
// headed Chromium under Xvfb (another tab in front), the server's count sampled every 10 s.
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
      if (t && (!args.includes('--app') || a)) resolve({ target: t[1], app: a && a[1], pid: child.pid, stop: () => child.kill('SIGKILL') });
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

async function launchBare({ headed = false, flags = chromeFlags } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'flak-bench-'));
  const child = spawn(process.env.CHROMIUM || '/usr/bin/chromium',
    [...(headed ? [] : ['--headless']), ...flags, '--remote-debugging-pipe', `--user-data-dir=${dir}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  const [toChrome, fromChrome] = [child.stdio[3], child.stdio[4]];
  let next = 0;
  let buffer = '';
  const pending = new Map();
  const listeners = [];
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
      if (msg.method) for (const l of listeners) l(msg);
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
    pid: child.pid,
    send: (method, params) => send(method, params, sessionId),
    sendTo: send,
    on: (l) => listeners.push(l),
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

async function appRun(page, app, url, c, n, around = (f) => f()) {
  await page.goto(`${app}?url=${encodeURIComponent(url)}&requests=${n}&concurrency=${c}&timeout=10s`);
  await settle(page);
  const { total, rps } = await around(() => page.evaluate(`new Promise((resolve) => {
    const status = document.querySelector('[data-testid="run-status"]');
    const read = () => ({
      total: Number(document.querySelector('[data-testid="stat-total"]').textContent),
      rps: Number(document.querySelector('[data-testid="stat-rps"]').textContent),
    });
    new MutationObserver(() => { if (status.textContent === 'done') resolve(read()); })
      .observe(status, { childList: true, characterData: true, subtree: true });
    document.querySelector('[data-testid="start"]').click();
  })`));
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

// The same loop in a dedicated worker started from the app's page (the CSP is bypassed for its
// blob: script): the fair reference for the app's engine, which runs in a worker too.
async function workerLoopRun(page, app, url, c, n, around = (f) => f()) {
  await page.goto(app);
  await settle(page);
  return around(() => page.evaluate(`new Promise((resolve, reject) => {
    const src = 'onmessage = async ({ data }) => postMessage(await (' + ${JSON.stringify(loopSource)} + ')(data));';
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
    w.onmessage = ({ data }) => { w.terminate(); resolve(data); };
    w.onerror = (e) => reject(new Error('the loop worker failed: ' + e.message));
    w.postMessage(${JSON.stringify({ url, c, n })});
  })`));
}

// The worker loop again, each request timed as the app times it (performance.now() before
// fetch() and after the body): the floor for the app's latency against Resource Timing's.
async function workerLoopLatency(page, url, c, n) {
  const timed = loopSource
    .replace('const r = await fetch', 'const t = performance.now(); const r = await fetch')
    .replace('await r.arrayBuffer();', 'await r.arrayBuffer(); lat.push(performance.now() - t);')
    .replace('let next = 0;', 'let next = 0; const lat = [];')
    .replace('return done / ((performance.now() - t0) / 1000);', 'lat.sort((a, b) => a - b); return lat[Math.floor(lat.length / 2)];');
  return page.evaluate(`new Promise((resolve, reject) => {
    const src = 'onmessage = async ({ data }) => postMessage(await (' + ${JSON.stringify(timed)} + ')(data));';
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
    w.onmessage = ({ data }) => { w.terminate(); resolve(data); };
    w.onerror = (e) => reject(new Error('the loop worker failed: ' + e.message));
    w.postMessage(${JSON.stringify({ url, c, n })});
  })`);
}

// Resource Timing of every request the app makes, wherever it makes them: a PerformanceObserver
// installed through the DevTools protocol in the page and in each worker before it runs, each
// entry's duration (startTime to responseEnd) reported through a binding.
async function watchResourceTiming(page, prefix) {
  const durations = [];
  const observe = `new PerformanceObserver((l) => { const d = [];
    for (const e of l.getEntries()) if (e.name.startsWith(${JSON.stringify(prefix)})) d.push(e.responseEnd - e.startTime);
    if (d.length) __flakBenchRT(JSON.stringify(d)); }).observe({ type: 'resource' })`;
  const install = async (sessionId) => {
    const send = sessionId ? (m, p) => page.sendTo(m, p, sessionId) : page.send;
    await send('Runtime.addBinding', { name: '__flakBenchRT' });
    await send('Runtime.evaluate', { expression: observe });
  };
  page.on((msg) => {
    if (msg.method === 'Runtime.bindingCalled' && msg.params.name === '__flakBenchRT') durations.push(...JSON.parse(msg.params.payload));
    if (msg.method === 'Target.attachedToTarget' && msg.params.targetInfo.type === 'worker') {
      const sid = msg.params.sessionId;
      install(sid).then(() => page.sendTo('Runtime.runIfWaitingForDebugger', {}, sid));
    }
  });
  await page.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true });
  return { durations, installPage: () => install(undefined) };
}

// The app's p50, p99 and mean (ms) of one run from the page's own numbers, with `during`
// evaluated in the page once the run is under way.
async function appLatency(page, query, during = '') {
  return page.evaluate(`new Promise((resolve) => {
    const status = document.querySelector('[data-testid="run-status"]');
    const num = (id) => Number(document.querySelector('[data-testid="' + id + '"]').textContent);
    const read = () => {
      const report = document.querySelector('[data-testid="report"]')?.textContent ?? '';
      const mean = Number(report.match(/Mean: ([0-9.]+) ms/)?.[1]);
      const max = Number(report.match(/Slowest: ([0-9.]+) ms/)?.[1]);
      const engine = document.querySelector('[data-testid="engine"]')?.textContent ?? '';
      return { total: num('stat-total'), failed: num('stat-failed'), p50: num('stat-p50'), p99: num('stat-p99'), mean, max,
        worker: engine.includes('Web Worker, off') };
    };
    new MutationObserver(() => { if (status.textContent === 'done') setTimeout(() => resolve(read()), 100); })
      .observe(status, { childList: true, characterData: true, subtree: true });
    document.querySelector('[data-testid="start"]').click();
    ${during}
  })`);
}

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

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

// --cpu: CPU time (user + system, from /proc) of each of Chromium's processes and of the
// server over a run, in ms: on a machine whose cores are all busy, the CPU a run spends per
// request, wherever it spends it, is what limits its rate. A process's time includes its
// threads that have ended (a worker's, after it is terminated).
const cpu = process.argv.includes('--cpu');
const tick = 1000 / 100; // USER_HZ
function cpuOf(pids) {
  const out = {};
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const type = cmd.match(/--type=([a-z-]+)/)?.[1] ?? (cmd.includes('chromium') ? 'browser' : 'server');
      const kind = type === 'utility' ? (cmd.includes('network') ? 'network' : 'utility') : type;
      out[kind] = (out[kind] ?? 0) + (Number(f[11]) + Number(f[12])) * tick;
    } catch {}
  }
  return out;
}
function treeOf(root) {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {}
  }
  const all = [];
  const walk = (p) => { all.push(p); for (const k of kids.get(p) ?? []) walk(k); };
  walk(root);
  return all;
}
/** Runs `f`, returning its result and the CPU ms per request each process spent meanwhile. */
async function withCpu(page, servers, n, f) {
  const pids = () => [...treeOf(page.pid), ...servers.map((s) => s.pid)];
  const before = cpuOf(pids());
  const result = await f();
  const after = cpuOf(pids());
  const per = {};
  for (const k of Object.keys(after)) per[k] = Math.round((1000 * ((after[k] ?? 0) - (before[k] ?? 0))) / n) / 1000;
  return { result, per };
}

// --hidden MINUTES: a paced run in a hidden tab, counted at the server every 10 s.
const hiddenMinutes = option('--hidden');
if (hiddenMinutes) {
  const srv = await start(['--listen', '127.0.0.1:0', '--threads', '1', '--app', dist, '--app-listen', '127.0.0.1:0']);
  // Headed under Xvfb, without the flags that switch background throttling off: a tab behind
  // another is hidden, and Chromium throttles it as it would a person's.
  const flags = chromeFlags.filter((f) => !/background-timer-throttling|renderer-backgrounding/.test(f));
  const page = await launchBare({ headed: true, flags });
  const rate = 50;
  const seconds = Number(hiddenMinutes) * 60;
  await page.goto(`${plain_app(srv)}?url=${encodeURIComponent(srv.target)}&duration=${seconds}s&rate=${rate}&concurrency=10`);
  await page.evaluate(`document.querySelector('[data-testid="start"]').click()`);
  // A new tab in the same window comes to the front: the app's tab is now a background tab.
  await page.sendTo('Target.createTarget', { url: 'about:blank' });
  const count = async () => (await (await fetch(`${srv.target}stats`)).json()).requests;
  const samples = [];
  let last = await count();
  const t0 = Date.now();
  for (let t = 10; t <= seconds; t += 10) {
    await new Promise((r) => setTimeout(r, t0 + t * 1000 - Date.now()));
    const now = await count();
    const hidden = await page.evaluate('document.hidden');
    samples.push({ t, rps: (now - last) / 10, hidden });
    console.log(JSON.stringify(samples.at(-1)));
    last = now;
  }
  const rates = samples.slice(0, -1).map((x) => x.rps); // the last window holds the run's end
  const result = { date: new Date().toISOString(), rate, seconds, min: Math.min(...rates), max: Math.max(...rates),
    hiddenThroughout: samples.every((x) => x.hidden), samples };
  await new Promise((r) => setTimeout(r, 3000));
  result.engine = await page.evaluate(`document.querySelector('[data-testid="engine"]')?.textContent`);
  result.lag = await page.evaluate(`document.querySelector('[data-testid="timer-lag"]')?.textContent`);
  await page.close();
  srv.stop();
  const outFile = process.env.BROWSER_OUT || path.join(root, 'bench/out/browser-hidden.json');
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify(result, null, 2));
  console.log(JSON.stringify({ rate, seconds, min: result.min, max: result.max, hiddenThroughout: result.hiddenThroughout, engine: result.engine, lag: result.lag }));
  process.exit(0);
}
function plain_app(srv) { return srv.app; }

// --profile h1-6 (or h2-50 …): a CPU profile of the app's worker in the middle of a long run
// (DevTools' sampling profiler on the worker's own session, 3 s from 1 s in), printed as the
// functions with the most self time and the most total time, and saved whole to
// bench/out/worker.cpuprofile (open it in Chromium's DevTools). Function names need a build
// whose wasm keeps its name section (wasm-opt -g).
const profileOf = option('--profile');
if (profileOf) {
  const [p, c] = profileOf.split('-');
  const srv = await start(['--listen', '127.0.0.1:0', '--threads', '1', '--app', dist, '--app-listen', '127.0.0.1:0']);
  const tlsSrv = p === 'h2' ? await start(['--listen', '127.0.0.1:0', '--threads', '1', '--tls']) : srv;
  const page = await launchBare();
  const workers = [];
  page.on((msg) => {
    if (msg.method === 'Target.attachedToTarget' && msg.params.targetInfo.type === 'worker') {
      const sid = msg.params.sessionId;
      workers.push(sid);
      page.sendTo('Runtime.runIfWaitingForDebugger', {}, sid);
    }
  });
  await page.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true });
  const n = Number(option('--requests') ?? 20000);
  await page.goto(`${srv.app}?url=${encodeURIComponent(tlsSrv.target)}&requests=${n}&concurrency=${c}&timeout=10s`);
  await settle(page);
  // The spare worker the page started for the run is the last one attached.
  const sid = workers.at(-1);
  // The page's main thread too: whatever it spends (snapshots, charts) is CPU the worker, the
  // browser's network service and the server share on a small machine.
  const sessions = { worker: sid, page: undefined };
  const to = (s, method, params = {}) => (s ? page.sendTo(method, params, s) : page.send(method, params));
  for (const s of Object.values(sessions)) {
    await to(s, 'Profiler.enable');
    await to(s, 'Profiler.setSamplingInterval', { interval: 100 });
  }
  await page.evaluate(`document.querySelector('[data-testid="start"]').click()`);
  await new Promise((r) => setTimeout(r, 1000));
  const before = Number(await page.evaluate(`document.querySelector('[data-testid="stat-total"]').textContent`));
  for (const s of Object.values(sessions)) await to(s, 'Profiler.start');
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, Number(option('--seconds') ?? 3) * 1000));
  const profiles = {};
  for (const [k, s] of Object.entries(sessions)) profiles[k] = (await to(s, 'Profiler.stop')).profile;
  const seconds = (Date.now() - t0) / 1000;
  const after = Number(await page.evaluate(`document.querySelector('[data-testid="stat-total"]').textContent`));
  await page.close();
  srv.stop();
  if (tlsSrv !== srv) tlsSrv.stop();
  console.log(`profiled ${seconds.toFixed(1)} s; about ${after - before} requests finished meanwhile (the page's count, 4 updates a second)`);
  for (const [k, profile] of Object.entries(profiles)) {
    const outFile = path.join(root, `bench/out/${k}.cpuprofile`);
    mkdirSync(path.dirname(outFile), { recursive: true });
    writeFileSync(outFile, JSON.stringify(profile));
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const parent = new Map();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    const name = (node) => {
      const f = node.callFrame;
      const file = f.url ? f.url.split('/').pop().replace(/-[0-9a-f]{16}/, '') : '';
      // Rust's crate hashes make names long and say nothing here.
      return `${f.functionName || '(anonymous)'} ${file}`.replace(/\[[0-9a-f]+\]/g, '').trim();
    };
    const self = new Map();
    const inclusive = new Map();
    let sampled = 0;
    profile.samples.forEach((id, i) => {
      const dt = profile.timeDeltas[i] / 1000;
      sampled += dt;
      const node = byId.get(id);
      self.set(name(node), (self.get(name(node)) ?? 0) + dt);
      const seen = new Set();
      for (let at = id; at !== undefined; at = parent.get(at)) {
        const key = name(byId.get(at));
        if (seen.has(key)) continue;
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
      }
    });
    const rows = Number(option('--rows') ?? 25);
    const top = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, rows)
      .map(([f, ms]) => `${ms.toFixed(0).padStart(7)} ms ${(100 * ms / sampled).toFixed(1).padStart(5)} %  ${f.slice(0, 160)}`).join('\n');
    console.log(`== ${k}: ${sampled.toFixed(0)} ms sampled\nself time:\n${top(self)}\ntotal time:\n${top(inclusive)}`);
  }
  process.exit(0);
}

const plain = await start(['--listen', '127.0.0.1:0', '--threads', '1', '--app', dist, '--app-listen', '127.0.0.1:0']);
const tls = await start(['--listen', '127.0.0.1:0', '--threads', '1', '--tls']);
const bare = instrumented ? await launchInstrumented() : await launchBare();
// The worker loop's blob: script is outside the app's CSP.
if (!instrumented) await bare.send('Page.setBypassCSP', { enabled: true });
const rows = [];
for (const [proto, url] of [['HTTP/1.1', plain.target], ['HTTP/2 (TLS)', tls.target]]) {
  for (const c of [6, 50]) {
    if (process.argv.includes('--skip-throughput')) continue;
    if (only && !only.includes(`${proto.startsWith('HTTP/2') ? 'h2' : 'h1'}-${c}`)) continue;
    // Not counted: connections (and TLS sessions) opened, code warm, for all alike.
    await appRun(bare, plain.app, url, c, warmup);
    await workerLoopRun(bare, plain.app, url, c, warmup);
    await jsLoopRun(bare, plain.app, url, c, warmup);
    const app = [];
    const worker = [];
    const js = [];
    const cpus = { app: [], worker: [] };
    // --cpu: each run's CPU per request by process (see withCpu).
    const around = (kind) => (cpu ? async (f) => {
      const { result, per } = await withCpu(bare, [plain, tls], requests, f);
      cpus[kind].push(per);
      return result;
    } : (f) => f());
    for (let i = 0; i < reps; i++) {
      app.push(await appRun(bare, plain.app, url, c, requests, around('app')));
      worker.push(await workerLoopRun(bare, plain.app, url, c, requests, around('worker')));
      if (!cpu) js.push(await jsLoopRun(bare, plain.app, url, c, requests));
    }
    // The median of each process's ms per request over the runs.
    const cpuMedians = (runs) => Object.fromEntries(Object.keys(runs[0] ?? {}).map((k) => [k, median(runs.map((r) => r[k] ?? 0))]));
    rows.push({ proto, c, app: median(app), workerLoop: median(worker), js: median(js),
      ratio: median(app) / median(worker), ratioPageLoop: median(app) / median(js), runs: { app, worker, js },
      ...(cpu ? { cpuPerRequestMs: { app: cpuMedians(cpus.app), workerLoop: cpuMedians(cpus.worker) } } : {}) });
    console.log(JSON.stringify(rows.at(-1)));
  }
}
await bare.close();

// Latency by the page's clock against Resource Timing for the same requests, charts updating
// live: the app in its worker, the app on the main thread (Worker switched off before the app
// loads), and the hand-written loop in a worker (the floor: what timing around fetch() in a
// worker costs by itself).
const latency = [];
const noWorker = async (page) => {
  await page.send('Page.enable');
  await page.send('Page.addScriptToEvaluateOnNewDocument', { source: 'window.Worker = undefined;' });
};
if (!instrumented && !process.argv.includes('--skip-latency')) {
  for (const [label, url, c] of [['HTTP/1.1 6', plain.target, 6], ['HTTP/2 50', tls.target, 50]]) {
    for (const engine of ['worker', 'main thread', 'worker loop']) {
      const page = await launchBare();
      if (engine === 'main thread') await noWorker(page);
      if (engine === 'worker loop') await page.send('Page.setBypassCSP', { enabled: true });
      const rt = await watchResourceTiming(page, url);
      const n = quick ? 600 : 2000;
      const target = `${url}jitter/2-30`;
      await page.goto(`${plain.app}?url=${encodeURIComponent(target)}&requests=${n}&concurrency=${c}&timeout=10s`);
      await settle(page);
      if (engine === 'main thread') await rt.installPage();
      let row;
      if (engine === 'worker loop') {
        // Warm: connections open, code compiled.
        await workerLoopLatency(page, target, c, Math.min(n, 200));
        rt.durations.length = 0;
        const loopP50 = await workerLoopLatency(page, target, c, n);
        await new Promise((r) => setTimeout(r, 200));
        row = { appP50: loopP50, worker: true };
      } else {
        await appLatency(page, '');
        rt.durations.length = 0;
        const m = await appLatency(page, '');
        row = { appP50: m.p50, appMean: m.mean, worker: m.worker };
      }
      const rtP50 = quantile(rt.durations, 0.5);
      row = { label, engine, requests: n, samples: rt.durations.length, ...row, rtP50, diffP50: row.appP50 - rtP50,
        rtMean: rt.durations.reduce((a, b) => a + b, 0) / rt.durations.length };
      latency.push(row);
      console.log(JSON.stringify(row));
      await page.close();
    }
  }
}

// A paced run (100 req/s, 10 ms answers, 600 requests) with and without a 200 ms busy loop in
// the page 2 s in, in the worker and on the main thread.
const busy = [];
if (!instrumented && !process.argv.includes('--skip-busy')) {
  const block = `setTimeout(() => { const t = performance.now(); while (performance.now() - t < 200); }, 2000);`;
  for (const engine of ['worker', 'main thread']) {
    const page = await launchBare();
    if (engine !== 'worker') await noWorker(page);
    const query = `?url=${encodeURIComponent(`${plain.target}delay/10`)}&requests=600&rate=100&concurrency=20&timeout=10s`;
    const runs = { quiet: [], blocked: [] };
    for (let i = 0; i < (quick ? 2 : 3); i++) {
      for (const kind of ['quiet', 'blocked']) {
        await page.goto(`${plain.app}${query}`);
        await settle(page);
        runs[kind].push(await appLatency(page, '', kind === 'blocked' ? block : ''));
      }
    }
    const med = (kind, k) => median(runs[kind].map((r) => r[k]));
    const row = { engine, p50: [med('quiet', 'p50'), med('blocked', 'p50')], p99: [med('quiet', 'p99'), med('blocked', 'p99')],
      max: [med('quiet', 'max'), med('blocked', 'max')], inWorker: runs.blocked.every((r) => r.worker), runs };
    busy.push(row);
    console.log(JSON.stringify({ engine, p50: row.p50, p99: row.p99, max: row.max, inWorker: row.inWorker }));
    await page.close();
  }
}

const longRuns = [];
for (let i = 0; i < (process.argv.includes('--skip-long') ? 0 : 3); i++) {
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
const result = { date: new Date().toISOString(), requests, reps, instrumented, rows, latency, busy, long, bundle };
const outFile = process.env.BROWSER_OUT || path.join(root, 'bench/out/browser.json');
mkdirSync(path.dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(result, null, 2));
console.log(JSON.stringify({ long, bundle }));
