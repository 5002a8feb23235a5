// End-to-end tests of a journey in the built app (dist/) in headless Chromium, against the real
// `flak target`'s journey endpoints: a person opens a scenario file and a CSV of users, runs it,
// and reads the per-step table; and a scenario that uses a value nothing extracts is refused
// beside its input before anything is sent.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { openApp, root, stat, useTargetAndBrowser, waitForStatus } from './harness.mjs';

const shots = path.join(root, 'target/e2e');
mkdirSync(shots, { recursive: true });

const env = useTargetAndBrowser();

/** login (a token per call, and an x-session header) → me → the user's own resource, named by
 * what a regex read from the login's answer. */
function scenario(target) {
  const auth = ['Authorization: Bearer {var:token}'];
  return {
    name: 'login and read',
    data: 'users.csv',
    step: [
      {
        name: 'login', method: 'POST', url: `${target}login`,
        headers: ['Content-Type: application/json'], body: '{"user": "{data:user}"}',
        // `regex:` runs on the browser's RegExp: the user read back from the body is the one
        // the last step asks for, so a wrong value would be refused (forbidden).
        extract: { token: 'json:/token', session: 'header:x-session', who: 'regex:"user":"([^"]+)"' },
        check: { status: [200] },
      },
      { name: 'me', url: `${target}me`, headers: auth, check: { status: [200] } },
      { name: 'user', url: `${target}users/{var:who}`, headers: auth, check: { status: [200] } },
    ],
  };
}

const file = (name, text, mimeType) => ({ name, mimeType, buffer: Buffer.from(text) });

/** Opens the Scenario part of the form and turns it on. */
async function openScenario(page) {
  await page.getByText('Scenario: steps that log in', { exact: false }).click();
  await page.getByLabel('Run this scenario', { exact: false }).check();
}

/** Opens the login → me → user scenario as a file and waits for the editor to show it. */
async function openLoginScenario(page) {
  await page.getByTestId('scenario-file')
    .setInputFiles(file('login.json', JSON.stringify(scenario(env.srv.target)), 'application/json'));
  await page.waitForFunction(() => document.getElementById('scenario-text')?.value.includes('"login"'));
}

/** Clicks Start on a form with bad input: the run stays idle and the server sees nothing.
 * Returns the server's counters. */
async function startIsRefused(page) {
  await page.getByTestId('start').click();
  // A moment for anything that would have been sent.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await page.getByTestId('run-status').textContent(), 'idle');
  const server = await env.srv.stats();
  assert.equal(server.requests, 0, 'the server saw nothing');
  return server;
}

/** The per-step table's rows, by step name: every numeric column. */
async function steps(page) {
  const rows = {};
  for (const row of await page.getByTestId('step').all()) {
    const cell = async (id) => Number(await row.getByTestId(id).textContent());
    rows[await row.getByTestId('step-name').textContent()] = {
      issued: await cell('step-issued'),
      ok: await cell('step-ok'),
      failed: await cell('step-failed'),
      skipped: await cell('step-skipped'),
      checks: await cell('step-checks'),
      extracts: await cell('step-extracts'),
      first: await row.getByTestId('step-first-failure').textContent(),
    };
  }
  return rows;
}

test('a scenario file and a CSV of users run as journeys, and each step counts what the server saw', async () => {
  const n = 60;
  const users = 25;
  await env.srv.reset();
  const { page, errors } = await openApp(env);
  await openScenario(page);
  await openLoginScenario(page);
  const csv = `user\n${Array.from({ length: users }, (_, i) => `user${i + 1}`).join('\n')}\n`;
  await page.getByTestId('data-file').setInputFiles(file('users.csv', csv, 'text/csv'));
  await page.getByTestId('data-loaded').filter({ hasText: `users.csv: ${users} rows, columns user` }).waitFor();
  await page.getByLabel('In-flight limit', { exact: true }).fill('4');
  await page.getByLabel('Requests', { exact: true }).fill(String(n));
  await page.getByTestId('start').click();
  await waitForStatus(page, 'done');

  const server = (await env.srv.stats()).journey;
  const rows = await steps(page);
  await page.screenshot({ path: path.join(shots, 'journey-done.png'), fullPage: true });
  assert.deepEqual(Object.keys(rows), ['login', 'me', 'user'], JSON.stringify(rows));
  for (const [name, r] of Object.entries(rows)) {
    assert.equal(r.issued, n, `${name}: every iteration reached it (${JSON.stringify(r)})`);
    assert.equal(r.ok, n, `${name}: ${JSON.stringify(r)}`);
    assert.equal(r.failed + r.skipped + r.checks + r.extracts, 0, `${name}: ${JSON.stringify(r)}`);
  }
  assert.equal(server.login, rows.login.issued, 'the server saw each login the page counted');
  assert.equal(server.me, rows.me.issued);
  assert.equal(server.users_get, rows.user.issued);
  assert.equal(server.unauthorized, 0, 'every request carried the token of its own iteration');
  assert.equal(server.forbidden, 0, 'each user read only their own resource');
  assert.equal(server.distinct_users, users, 'sequential order went through every row');
  // The iterations are the headline numbers; the chart shows the steps.
  assert.equal(await stat(page, 'stat-total'), n);
  assert.equal(await stat(page, 'stat-succeeded'), n);
  assert.ok(await page.getByTestId('chart-members').isVisible(), 'the per-step chart is drawn');
  assert.match(await page.getByTestId('chart-members').textContent(), /Journey steps/);
  // The address bar carries the scenario (it is small), never the data.
  const link = new URL(page.url());
  assert.equal(JSON.parse(link.searchParams.get('scenario')).step.length, 3);
  assert.ok(!page.url().includes('user1'), 'no data row in the link');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a {var:…} that no step extracts is refused beside the scenario, and nothing is sent', async () => {
  await env.srv.reset();
  const { page, errors } = await openApp(env);
  await openScenario(page);
  const bad = {
    step: [
      { name: 'login', method: 'POST', url: `${env.srv.target}login`, body: '{"user": "u1"}', check: { status: [200] } },
      { name: 'me', url: `${env.srv.target}me`, headers: ['Authorization: Bearer {var:x}'] },
    ],
  };
  await page.getByTestId('scenario-file').setInputFiles(file('bad.json', JSON.stringify(bad), 'application/json'));
  const message = page.getByTestId('scenario-error');
  await message.waitFor();
  const text = await message.textContent();
  assert.match(text, /^Scenario: step "me", headers: .*\{var:x\}/, text);
  const server = await startIsRefused(page);
  await message.waitFor();
  assert.equal(server.journey.login, 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a ragged data file is refused beside it, and a scenario too large for a link says so', async () => {
  await env.srv.reset();
  const { page, errors } = await openApp(env);
  await openScenario(page);
  await openLoginScenario(page);
  // Row 3 has one cell where the header has two.
  await page.getByTestId('data-file').setInputFiles(file('users.csv', 'user,team\nu1,a\nu2\n', 'text/csv'));
  const dataError = page.getByTestId('data-error');
  await dataError.waitFor();
  assert.match(await dataError.textContent(), /users\.csv.*line 3/, await dataError.textContent());
  await startIsRefused(page);

  // Sixty steps with long URLs: more than a link carries. Copying the permalink says so and
  // names what to share instead.
  const long = {
    step: Array.from({ length: 60 }, (_, i) => ({
      name: `step${i}`, url: `${env.srv.target}items/${'x'.repeat(60)}${i}`,
    })),
  };
  await page.getByTestId('scenario-file').setInputFiles(file('long.json', JSON.stringify(long), 'application/json'));
  await page.waitForFunction(() => document.getElementById('scenario-text')?.value.includes('step59'));
  await page.getByRole('button', { name: 'Copy permalink' }).click();
  const formError = page.getByTestId('form-error');
  await formError.waitFor();
  assert.match(await formError.textContent(), /Permalink: the scenario is \d+ characters in a link, more than the 4000/);
  assert.ok(!page.url().includes('step59'), 'the address bar does not carry it either');
  assert.deepEqual(errors, []);
  await page.close();
});
