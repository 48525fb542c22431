#!/usr/bin/env node
// dashboard_story: dmq's dashboard (/ui/) in a real browser - Debian's Chromium, headless,
// driven by playwright-core - through an operator's story, for tests/e2e/dashboard_test.cc:
//
//   node dashboard_story.js CONFIG_FILE
//
// CONFIG_FILE holds {"url": "http://127.0.0.1:PORT", "chromium": "/usr/bin/chromium",
// "mode": "story" | "ip", "token": "...", "request_id": "...", "msg_id": "...",
// "consumer": "dgfa", "scheduled": n, "screenshots": "" | DIR}.
//
// mode "story": the page asks for a token (dmq answers 403 without one); with it, the
// overview lists the consumer; its page lists the message among its failed ones, pauses and
// resumes it, and lists its n scheduled messages; the search box finds the message by its
// request_id; its page shows the consumer's last error (HTTP 500), its attempt history and
// the request_id as text (it holds markup); Retry replays it and the page shows it
// delivered (done); then Replay all replays the rest of the failed list as a job (at 2/s)
// whose progress the page shows until it is done. With "screenshots", the
// overview, the consumer page and the message page are saved there as PNGs.
// mode "ip": a caller allowed by its address sees the overview without being asked for a
// token.
//
// Every wait is bounded. Any error in the page (an exception, a console error such as a
// Content-Security-Policy refusal) fails the story. Prints "step: ..." lines, then "OK", or
// "FAIL: why" and exits 1.
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const T = 20000; // ms: the bound of each wait
const problems = [];

function step(text) {
  console.log(`step: ${text}`);
}

function expect(cond, why) {
  if (!cond) throw new Error(why);
}

async function shot(page, name) {
  if (!cfg.screenshots) return;
  fs.mkdirSync(cfg.screenshots, { recursive: true });
  // Every part of the page drawn, and no caret.
  await page.waitForFunction(() => !document.querySelector('main').textContent.includes('Loading'), null, { timeout: T });
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  // The page down to its content's end, at most one screen.
  const height = await page.evaluate(() => Math.ceil(document.querySelector('main').getBoundingClientRect().bottom) + 8);
  const view = page.viewportSize();
  await page.screenshot({ path: path.join(cfg.screenshots, `${name}.png`), clip: { x: 0, y: 0, width: view.width, height: Math.min(view.height, height) } });
  step(`screenshot ${name}.png`);
}

async function story(page) {
  const base = cfg.url;
  const consumer = cfg.consumer;
  const sel = (s) => page.locator(s);
  const row = `#consumers-table tr[data-consumer="${consumer}"]`;

  step('GET /ui redirects to /ui/ and the page asks for a token');
  const resp = await page.goto(`${base}/ui`);
  expect(new URL(page.url()).pathname === '/ui/', `/ui led to ${page.url()}, not /ui/`);
  expect(resp.headers()['content-security-policy']?.includes("default-src 'self'"),
    `no CSP default-src 'self' on /ui/: ${resp.headers()['content-security-policy']}`);
  await sel('#token-dialog[open]').waitFor({ timeout: T });
  const why = await sel('#token-why').textContent();
  expect(/not allowed/.test(why), `the token dialog does not say why: "${why}"`);

  step('enter the token: the overview lists the consumer');
  await sel('#token-input').fill(cfg.token);
  await sel('#token-save').click();
  await sel(`#overview tr[data-consumer="${consumer}"]`).waitFor({ timeout: T });
  expect((await sel('#token-button').textContent()).includes('set'), 'the token button does not say the token is set');
  expect(await page.evaluate(() => sessionStorage.getItem('dmq.token')) === cfg.token, 'the token is not in sessionStorage');
  const failedCell = await sel(`#overview tr[data-consumer="${consumer}"] td:nth-child(6)`).textContent();
  expect(Number(failedCell.replace(/,/g, '')) >= 1, `the overview shows ${failedCell} failed for ${consumer}`);
  // The dispatchers report every 2 s: the failed attempts of the last minute show as a rate.
  await page.waitForFunction((s) => Number(document.querySelector(s)?.textContent) > 0,
    `#overview tr[data-consumer="${consumer}"] td:nth-child(10)`, { timeout: T });
  await shot(page, 'dashboard-overview');

  step('the consumer page lists the failed message');
  await page.goto(`${base}/ui/#/consumer/${encodeURIComponent(consumer)}?tab=failed`);
  await sel(`#failed-rows tr[data-id="${cfg.msg_id}"]`).waitFor({ timeout: T });
  const ridCell = await sel(`#failed-rows tr[data-id="${cfg.msg_id}"] td.rid`).textContent();
  expect(ridCell === cfg.request_id, `the failed list shows request_id "${ridCell}", not "${cfg.request_id}"`);
  await sel('#pause-toggle:not([disabled])').waitFor({ timeout: T }); // its figures are in
  expect((await sel('#pause-toggle').textContent()) === 'Pause', 'the consumer is not shown running');

  step('pause and resume the consumer');
  await sel('#pause-toggle').click();
  await page.waitForFunction(() => document.querySelector('#pause-toggle')?.textContent === 'Resume', null, { timeout: T });
  await sel('#pause-toggle').click();
  await page.waitForFunction(() => document.querySelector('#pause-toggle')?.textContent === 'Pause', null, { timeout: T });

  step('its scheduled queue, soonest first');
  await sel('nav.tabs a[data-tab="scheduled"]').click();
  await sel('#scheduled-rows tr').first().waitFor({ timeout: T });
  const due = await sel('#scheduled-rows tr time').evaluateAll((ts) => ts.map((t) => Date.parse(t.getAttribute('datetime'))));
  expect(due.length === cfg.scheduled, `the scheduled tab lists ${due.length} messages, not ${cfg.scheduled}`);
  expect(due.every((t, i) => i === 0 || due[i - 1] <= t), 'the scheduled messages are not soonest first');

  step('search by request_id finds the message');
  await sel('#search-q').fill(cfg.request_id);
  await sel('#search-q').press('Enter');
  const hit = sel(`#search-results tr[data-id="${cfg.msg_id}"] a`);
  await hit.waitFor({ timeout: T });
  expect((await sel('#search-results tbody tr').count()) === 1, 'the search found more than the one message');

  step('open it: its last error is shown, its request_id as text');
  await hit.click();
  await sel(`${row} .last-error`).waitFor({ timeout: T });
  const lastError = await sel(`${row} .last-error`).textContent();
  expect(lastError.includes('HTTP 500'), `the last error reads "${lastError}", not HTTP 500`);
  expect((await sel(`${row} td.status`).textContent()) === 'failure', 'the status is not failure');
  expect((await sel('#msg-request-id').textContent()) === cfg.request_id, 'the request_id is not shown as it is');
  expect((await sel('#msg-request-id *').count()) === 0, 'the request_id became markup');
  expect((await sel('#msg-params img').count()) === 0, 'the params became markup');
  expect(!(await page.evaluate(() => window.__dmq_xss)), 'markup from the message ran in the page');

  step('its attempt history lists the failed attempts');
  await sel(`${row} button.history`).click();
  const hist = sel(`tr[data-history="${consumer}"] table.history tbody tr`);
  await hist.first().waitFor({ timeout: T });
  expect((await hist.count()) >= 2, `the history holds ${await hist.count()} attempts`);
  await shot(page, 'dashboard-message');

  step('retry: the page shows it delivered');
  await sel(`${row} button.retry`).click();
  await page.waitForFunction((s) => document.querySelector(s)?.textContent === 'done',
    `${row} td.status`, { timeout: T });
  const attempts = await sel(`${row} td:nth-child(3)`).textContent();
  expect(attempts === '1', `after the retry, attempts reads ${attempts}, not 1`);
  await shot(page, 'dashboard-message-done');

  step('replay the rest of the failed list as a job, and watch its progress');
  await page.goto(`${base}/ui/#/consumer/${encodeURIComponent(consumer)}?tab=failed`);
  await sel('#failed-rows tr').first().waitFor({ timeout: T });
  const left = await sel('#failed-rows tr').count();
  expect((await sel(`#failed-rows tr[data-id="${cfg.msg_id}"]`).count()) === 0, 'the delivered message is still in the failed list');
  await sel('.bulk input[type=number]').fill('2');
  await sel('#replay-job').click();
  const job = sel('.jobs-list tr[data-job]').first();
  await job.waitFor({ timeout: T });
  await shot(page, 'dashboard-consumer');
  await page.waitForFunction(() => /\bdone\b/.test(document.querySelector('.jobs-list tr[data-job] td:nth-child(3)')?.textContent || ''),
    null, { timeout: T });
  const progress = await job.locator('.progress').textContent();
  expect(progress.includes(`${left} / ${left}`), `the job's progress reads "${progress}", not ${left} / ${left}`);
}

async function ipOnly(page) {
  step('a caller allowed by address: the overview, no token asked');
  await page.goto(`${cfg.url}/ui/`);
  await page.locator(`#overview tr[data-consumer="${cfg.consumer}"]`).waitFor({ timeout: T });
  expect((await page.locator('#token-dialog[open]').count()) === 0, 'the page asked for a token');
}

(async () => {
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: cfg.chromium,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
      timeout: T,
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 860 }, timezoneId: 'UTC' });
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('dialog', (d) => d.accept());
    if (cfg.mode === 'ip') await ipOnly(page);
    else await story(page);
    // The 403 that asked for the token is the one error the browser logs by design.
    const real = problems.filter((p) => !/status of 403/.test(p));
    if (real.length) throw new Error(real.join('\n'));
    console.log('OK');
  } catch (e) {
    console.log(`FAIL: ${e.message}`);
    if (problems.length) console.log(problems.join('\n'));
    process.exitCode = 1;
  } finally {
    if (browser) await browser.close();
  }
})();
