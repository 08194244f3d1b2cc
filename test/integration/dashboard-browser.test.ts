/**
 * The dashboard in a real browser (Debian's chromium through playwright-core), served by the
 * dashboard's own HTTP handler on loopback from a state the test sets: it shows the apply set,
 * 1,000 objects with their state, drift and plan, the sync history, the routes with weights and
 * servers and the proxy replicas; a change in the state reaches the open page by server-sent
 * events and rewrites only the rows that changed; filters hide rows; actions are refused without
 * the token and carried out with it. Screenshots are taken on every run, into a temporary
 * directory; with SC_UPDATE_SCREENSHOTS=1 into docs/images/ (docs/dashboard.md), the only way the
 * test writes into the tree (DEVELOPERS.md).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { dashboardHandler, type DashboardHandler } from '../../src/dashboard/server.js';
import type { DashboardAction, DashboardState } from '../../src/dashboard/state.js';
import { realClock } from '../../src/queue/clock.js';
import { launchBrowser } from '../helpers/browser.js';
import { fixtureState, withFailures } from '../helpers/dashboard-fixture.js';
import { screenshotDir } from '../helpers/screenshots.js';

const shots = screenshotDir();
const images = shots.dir;
const token = 'dashboard-test-token-5f0c';

interface Served {
  url: string;
  set(s: DashboardState): void;
  actions: { action: DashboardAction; set: string }[];
  handler: DashboardHandler;
  close(): Promise<void>;
}

async function serve(initial: DashboardState, withToken: boolean): Promise<Served> {
  let current = initial;
  const actions: Served['actions'] = [];
  const handler = dashboardHandler({
    state: async () => current,
    act: async (action, set) => {
      actions.push({ action, set });
      return `${action} of "${set}" requested`;
    },
    token: withToken ? token : '',
    pollMs: 100,
    clock: realClock,
  });
  const server: Server = createServer((req, res) => {
    void handler.handle(req, res).then((done) => {
      if (!done) res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/dashboard/`,
    set: (s) => (current = s),
    actions,
    handler,
    close: async () => {
      handler.close();
      await new Promise((r) => server.close(r));
    },
  };
}

async function open(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.dashboardTimings?.firstRender != null);
  assert.deepEqual(errors, [], 'the page runs without a script error');
  return page;
}

const cellTexts = (page: Page, selector: string) =>
  page.$$eval(selector, (rows) => rows.map((r) => (r as HTMLElement).innerText.replace(/\s+/g, ' ').trim()));

describe('the dashboard in a browser', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    shots.done();
  });

  it('shows the apply set, every object with state, drift and plan, syncs, routes and proxy replicas', async () => {
    const served = await serve(fixtureState({ objects: 1000 }), false);
    try {
      const page = await open(browser, served.url);
      assert.equal(await page.locator('#objects-count').innerText(), '1000');
      assert.equal(await page.locator('#objects tbody tr').count(), 1000);
      const card = await page.locator('.card[data-set="shop"]').innerText();
      assert.match(card, /shop\s+Degraded/);
      assert.match(card, /9f2c1e4b7a0d/);
      assert.match(card, /976 ready, 8 progressing, 16 failing, 19 drifted/);
      // Read-only: no action buttons, no token box.
      assert.equal(await page.locator('button[data-action]').count(), 0);
      assert.equal(await page.locator('#token-box').isVisible(), false);
      // Objects that need a look come first.
      const first = await cellTexts(page, '#objects-attention tr');
      assert.equal(first.length, 24);
      assert.equal((await cellTexts(page, '#objects tbody tr:first-child'))[0], first[0]);
      assert.ok(
        first.every((r) => !/ Ready /.test(r)),
        `not-Ready objects first: ${first.join(' | ')}`,
      );
      const stalled = await page.locator('#objects tbody tr', { hasText: 'Service/team0/app-0007' }).innerText();
      assert.match(stalled, /Stalled/);
      assert.match(stalled, /manifest unknown/);
      assert.match(stalled, /not retried until the manifest or the object changes/);
      const drifted = await page.locator('#objects tbody tr', { hasText: 'Secret/team4/app-0011' }).innerText();
      assert.match(drifted, /spec\.env\.LOG_LEVEL, spec\.replicas/);
      assert.match(drifted, /drifted/);
      // History: newest first, with commit, message, duration and error.
      const history = await cellTexts(page, '#history-body tr');
      assert.equal(history.length, 4);
      assert.match(history[0], /webhook 999999990000.*web 2\.1 with the new checkout 8\.2 s success/);
      assert.match(history[1], /31\.0 s failed Service\/shop\/web: update out of sequence/);
      assert.match(history[2], /invalid manifests\/shop\/web\.yaml:14:7/);
      // Routes: weights as shares, servers, the broken route.
      const routes = await cellTexts(page, '#routes-body tr');
      assert.match(routes[0], /shop\/route-0 shop\.example\.com\/ shop_web 90 \(90%\) 2\/3 up 10\.213\.5\.10:8080 up/);
      assert.match(routes[1], /shop_web-canary 10 \(10%\) 0\/1 up 10\.213\.5\.20:8080 mixed/);
      // Health as the proxies see it: the server both readable replicas mark down, and each replica's view.
      // Rollouts: phase, step, weight and the last judgement, canary against stable.
      const rollouts = await cellTexts(page, '#rollouts-body tr');
      assert.equal(rollouts.length, 2, rollouts.join(' | '));
      assert.match(
        rollouts[0],
        /^shop_api shop\/api · canary · c0ffee123456 rolled-back 2\/4 0% not judged yet step 2\/4 \(25%\) failed: error-rate/,
      );
      assert.match(
        rollouts[1],
        /^shop_web shop\/route-0 · canary · 9f2c1e4b7a0d progressing 1\/4 10% inconclusive canary 212 req, errors 0\.47%, p50 22 ms, p99 88 ms stable 1904 req, errors 0\.11%, p50 20 ms, p99 80 ms baseline 600 req, errors 0\.10%, p50 16 ms, p99 61 ms stable p50 1\.24x its baseline \(a shared delay of 3\.9 ms removed\) step 1\/4/,
      );
      assert.equal(
        await page.locator('#rollouts-body tr[data-service="shop_web"] .window[data-side="canary"]').count(),
        1,
      );
      const down = page.locator('#routes-body .server[data-health="down"]');
      assert.equal(await down.count(), 1);
      assert.match(await down.innerText(), /10\.213\.5\.12:8080\s+down/);
      assert.match(
        (await down.getAttribute('title'))!,
        /m2p7z8: DOWN, weight 1\nq3k9x1: DOWN, weight 1\nv8r4c6: not reported/,
      );
      assert.ok(routes.some((r) => /shop\/admin broken service shop_admin is not on the network/.test(r)));
      // Proxy replicas: which hold the current table.
      const replicas = await cellTexts(page, '#replicas-body tr');
      assert.deepEqual(
        replicas.map((r) => /current table|behind/.exec(r)?.[0]),
        ['current table', 'current table', 'behind'],
      );
      assert.match(replicas[2], /117 \/ 118 behind no answer within 5000 ms view not read no answer within 5000 ms/);
      await page.screenshot({ path: join(images, 'dashboard-overview.png') });
      await page.locator('#routes').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(images, 'dashboard-routes.png') });
      await page.close();
    } finally {
      await served.close();
    }
  });

  it('updates live by server-sent events, rewriting only the rows that changed', async () => {
    const base = fixtureState({ objects: 1000 });
    const served = await serve(base, false);
    try {
      const page = await open(browser, served.url);
      assert.equal(await page.evaluate(() => window.dashboardTimings.lastRowsWritten), 1000);
      const target = base.apps[0].document.objects[500].id;
      served.set(withFailures(base, [500], 'task exited with code 137 (out of memory)'));
      await page.waitForFunction(() => window.dashboardTimings.updates >= 2);
      assert.equal(await page.evaluate(() => window.dashboardTimings.lastRowsWritten), 1);
      const row = await page.locator('#objects tbody tr', { hasText: target }).innerText();
      assert.match(row, /Failed/);
      assert.match(row, /out of memory/);
      assert.match(await page.locator('.card').innerText(), /975 ready/);
      // The failed object moved up among those that need a look.
      const firstIds = await cellTexts(page, '#objects-attention tr');
      assert.ok(firstIds.some((r) => r.includes(target)));
      assert.equal(served.handler.listeners, 1);
      await page.close();
    } finally {
      await served.close();
    }
  });

  it('filters objects by text and by phase without asking the server', async () => {
    const served = await serve(fixtureState({ objects: 1000 }), false);
    try {
      const page = await open(browser, served.url);
      await page.selectOption('#phase', 'not-ready');
      assert.equal(await page.locator('#objects-shown').innerText(), '24');
      await page.selectOption('#phase', '');
      await page.fill('#filter', 'team3/app-00');
      const shown = Number(await page.locator('#objects-shown').innerText());
      assert.equal(shown, await page.locator('#objects tbody tr:visible').count());
      assert.ok(shown > 0 && shown < 100, `shown ${shown}`);
      await page.selectOption('#phase', 'not-ready');
      await page.fill('#filter', '');
      await page.screenshot({ path: join(images, 'dashboard-not-ready.png') });
      await page.close();
    } finally {
      await served.close();
    }
  });

  it('asks for the token before an action, refuses a wrong one and carries out the right one', async () => {
    const served = await serve(fixtureState({ objects: 40, actions: true }), true);
    try {
      const page = await open(browser, served.url);
      assert.equal(await page.locator('#token-box').isVisible(), true);
      await page.click('button[data-action="suspend"][data-set="shop"]');
      await page.locator('#action-result', { hasText: 'Type the dashboard token first' }).waitFor();
      await page.fill('#token', 'not-the-token');
      await page.click('button[data-action="suspend"][data-set="shop"]');
      await page.locator('#action-result', { hasText: 'suspend refused: a valid Bearer token is required' }).waitFor();
      assert.deepEqual(served.actions, []);
      await page.fill('#token', token);
      await page.click('button[data-action="suspend"][data-set="shop"]');
      await page.locator('#action-result', { hasText: 'suspend of "shop" requested' }).waitFor();
      served.set(fixtureState({ objects: 40, actions: true, suspended: true }));
      await page.locator('button[data-action="resume"]').waitFor();
      assert.match(await page.locator('.card').innerText(), /Suspended[\s\S]*database migration/);
      await page.click('button[data-action="sync"][data-set="shop"]');
      await page.locator('#action-result', { hasText: 'sync of "shop" requested' }).waitFor();
      assert.deepEqual(served.actions, [
        { action: 'suspend', set: 'shop' },
        { action: 'sync', set: 'shop' },
      ]);
      await page.screenshot({
        path: join(images, 'dashboard-actions.png'),
        clip: { x: 0, y: 0, width: 1400, height: 420 },
      });
      await page.close();
    } finally {
      await served.close();
    }
  });

  it('refuses actions over HTTP without a configured token, and serves only its own files', async () => {
    const readOnly = await serve(fixtureState({ objects: 3 }), false);
    try {
      const base = readOnly.url;
      const post = await fetch(`${base}api/actions/sync?set=shop`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(post.status, 403);
      assert.match(await post.text(), /actions are disabled/);
      assert.equal((await fetch(`${base}../etc/passwd`)).status, 404);
      assert.equal((await fetch(`${base}server.js`)).status, 404);
      assert.equal((await fetch(`${base}api/actions/sync?set=shop`)).status, 405);
      const state = (await (await fetch(`${base}api/state`)).json()) as DashboardState;
      assert.equal(state.apps[0].document.objects.length, 3);
    } finally {
      await readOnly.close();
    }
    const withToken = await serve(fixtureState({ objects: 3, actions: true }), true);
    try {
      const url = `${withToken.url}api/actions/reboot?set=shop`;
      assert.equal((await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status, 404);
      const noSet = await fetch(`${withToken.url}api/actions/sync`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(noSet.status, 400);
      assert.deepEqual(withToken.actions, []);
    } finally {
      await withToken.close();
    }
  });
});
