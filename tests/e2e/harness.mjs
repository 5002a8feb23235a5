// Shared setup for the end-to-end tests: the real `flak target` (serving the built dist/ with
// COOP/COEP) on free loopback ports, and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
const { chromium } = require(path.join(root, 'scripts/node/node_modules/playwright-core'));

export const flakBin = process.env.FLAK_BIN || path.join(root, 'target/debug/flak');
export const dist = path.join(root, 'dist');

/** Starts `flak target` (and the app server when `app` is true); resolves with their URLs. */
export function startTarget({ app = true } = {}) {
  const args = ['target', '--listen', '127.0.0.1:0', '--threads', '1'];
  if (app) args.push('--app', dist, '--app-listen', '127.0.0.1:0');
  const child = spawn(flakBin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`flak target did not start: ${out}`)), 15000);
    child.on('exit', (code) => reject(new Error(`flak target exited with ${code}: ${out}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const target = out.match(/listening on (http:\/\/\S+\/)/);
      const appUrl = out.match(/flak app on (http:\/\/[^/\s]+\/)/);
      if (target && (!app || appUrl)) {
        clearTimeout(timer);
        resolve({
          target: target[1],
          app: appUrl ? appUrl[1] : null,
          stop: () => child.kill('SIGKILL'),
          stats: async () => (await fetch(`${target[1]}stats`)).json(),
          reset: async () => fetch(`${target[1]}stats/reset`),
        });
      }
    });
  });
}

/**
 * For a test file: starts `flak target` (with the app) and headless Chromium before its tests
 * and stops both after them. Their handles are `srv` and `browser` on the returned object.
 */
export function useTargetAndBrowser() {
  const env = {};
  before(async () => {
    env.srv = await startTarget();
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    env.srv?.stop();
  });
  return env;
}

/**
 * Opens the app (with an optional `?query`) in a new page of `env`'s browser and waits for it to
 * be ready; `errors` collects the page's uncaught errors.
 */
export async function openApp(env, query = '') {
  const page = await env.browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${env.srv.app}${query}`);
  await page.getByTestId('run-status').waitFor();
  return { page, errors };
}

/** Launches headless Chromium with the flags this machine needs. */
export async function launch({ extraArgs = [] } = {}) {
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'flak-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...extraArgs,
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Reads a `data-testid` element's text as a number. */
export async function stat(page, id) {
  return Number(await page.getByTestId(id).textContent());
}

/** Waits until the app's run status reads exactly `status` ('done', 'idle', …). */
export async function waitForStatus(page, status, timeout = 90000) {
  await page.getByTestId('run-status').filter({ hasText: new RegExp(`^${status}$`) }).waitFor({ timeout });
}
