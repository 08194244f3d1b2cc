/**
 * The dashboard against a real `controller run` on the real Swarm, in Debian's chromium: the
 * run's own page shows its apply set and objects as it converges; `controller dashboard`, a
 * separate process that reaches only the engine, shows the same apply set from the status the
 * leader wrote into the Swarm, and its Suspend and Resume (with the token) reach the run through
 * the Swarm's suspend record. Screenshots into a temporary directory, or docs/images/ with
 * SC_UPDATE_SCREENSHOTS=1 (DEVELOPERS.md, "Screenshots").
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { screenshotDir } from '../helpers/screenshots.js';
import { docker, ensureSwarm, eventually, manifestDir, removeNamespace, repoRoot } from './harness.js';
import { freePort, startRun, type RunningController } from './run-controller.js';

const ns = 'e2e-dash';
const token = 'e2e-dashboard-token-93a1';
const shots = screenshotDir();
const images = shots.dir;

const service = `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: 1
  endpointMode: dnsrr
  stopGracePeriod: 1s
  updateConfig: {monitor: 1s}
`;
const config = `apiVersion: swarm.controller/v1alpha1
kind: Config
metadata: {name: settings, namespace: ${ns}}
spec:
  data: "greeting: hello"
`;

/** Configs the run writes for its apply set: lease, state record, status documents. */
async function removeRecords(): Promise<void> {
  const names = (await docker('config', 'ls', '--format', '{{.Name}}'))
    .split('\n')
    .filter((n) => n.startsWith(`swarm-controller-`) && n.includes(`.${ns}`));
  if (names.length) await docker('config', 'rm', ...names);
}

async function open(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  await page.goto(url);
  await page.waitForFunction(() => window.dashboardTimings?.firstRender != null, null, { timeout: 30_000 });
  return page;
}

describe('the dashboard on a real Swarm', () => {
  let browser: Browser;
  let run: RunningController;
  const work = mkdtempSync(join(tmpdir(), 'sc-e2e-dash-'));
  const tokenFile = join(work, 'token');
  const stops: (() => Promise<unknown>)[] = [];

  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
    await removeRecords();
    writeFileSync(tokenFile, `${token}\n`);
    browser = await launchBrowser();
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await browser?.close();
    await removeNamespace(ns);
    await removeRecords();
    shots.done();
  });

  it("shows controller run's apply set live, and controller dashboard shows it from the Swarm and suspends it", async () => {
    const dir = await manifestDir(ns, { 'web.yaml': service, 'settings.yaml': config });
    run = await startRun(ns, dir, ['--dashboard-token-file', tokenFile, '--status-interval', '1s']);
    stops.push(() => run.stop());
    await eventually(
      async () => (await fetch(`http://127.0.0.1:${run.port}/healthz`).catch(() => undefined))?.ok === true,
      30_000,
      `controller run to serve: ${run.output()}`,
    );
    const page = await open(browser, `http://127.0.0.1:${run.port}/dashboard/`);
    // Converges on the page itself, by server-sent events.
    await page.locator(`.card[data-set="${ns}"]`, { hasText: 'Synced' }).waitFor({ timeout: 90_000 });
    const rows = await page.locator('#objects tbody tr').allInnerTexts();
    assert.ok(
      rows.some((r) => /Service\s+Service\/e2e-dash\/web\s+Ready/.test(r)),
      rows.join('\n'),
    );
    assert.ok(rows.some((r) => /Config\s+Config\/e2e-dash\/settings\s+Ready/.test(r)));
    assert.match(await page.locator('#history-body').innerText(), /startup[\s\S]*success/);
    await page.screenshot({ path: join(images, 'dashboard-e2e-run.png') });
    await page.close();

    // From "a laptop": only the engine, no port of the controller.
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, 'dist/src/cli/main.js'),
        'dashboard',
        '--listen',
        `127.0.0.1:${port}`,
        '--dashboard-token-file',
        tokenFile,
      ],
      { env: { ...process.env, DOCKER_HOST: ensureSwarm() } },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.on('close', r));
    stops.push(async () => {
      child.kill('SIGTERM');
      await exited;
    });
    await eventually(async () => out.includes('/dashboard/'), 30_000, `controller dashboard to listen: ${out}`);
    const laptop = await open(browser, `http://127.0.0.1:${port}/dashboard/`);
    await laptop.locator(`.card[data-set="${ns}"]`, { hasText: 'Synced' }).waitFor({ timeout: 30_000 });
    assert.match(await laptop.locator('#summary').innerText(), /read from the Swarm by dashboard@/);
    await laptop.fill('#token', token);
    await laptop.click(`button[data-action="suspend"][data-set="${ns}"]`);
    await laptop.locator('#action-result', { hasText: `apply set "${ns}" suspended` }).waitFor();
    await eventually(async () => (await run.status()).suspended === true, 30_000, 'the run to see the suspend flag');
    await laptop.locator(`.card[data-set="${ns}"]`, { hasText: 'Suspended' }).waitFor({ timeout: 30_000 });
    await laptop.screenshot({ path: join(images, 'dashboard-e2e-suspended.png') });
    await laptop.click(`button[data-action="resume"][data-set="${ns}"]`);
    await eventually(async () => (await run.status()).suspended === false, 30_000, 'the run to resume');
    await laptop.close();
  });
});
