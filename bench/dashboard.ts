/**
 * The dashboard's cost at 1,000 and 5,000 objects, in Debian's chromium (playwright-core): first
 * render (navigation to the state on screen, and the script's own share), and the cost of an
 * update arriving by server-sent events when 1, 10 or every object changed, or only a card
 * (layout included: the page forces it before it stops its clock). Server side: the size of a
 * state and the time to serialise and compare it, paid once per poll while a page is open.
 * Prints the Markdown of docs/benchmarks.md; asserts nothing. Run: npm run bench:dashboard
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { dashboardHandler } from '../src/dashboard/server.js';
import { stateFingerprint, type DashboardState } from '../src/dashboard/state.js';
import { realClock } from '../src/queue/clock.js';
import { launchBrowser } from '../test/helpers/browser.js';
import { fixtureState, withFailures } from '../test/helpers/dashboard-fixture.js';

const runs = Number(process.env.SC_BENCH_RUNS ?? 7);
const sizes = (process.env.SC_BENCH_SIZES ?? '1000,5000').split(',').map(Number);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs: number[]) => Math.max(...xs);
const fmt = (xs: number[]) => `${median(xs).toFixed(1)} (max ${max(xs).toFixed(1)})`;

function time(fn: () => void, n = 30): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return out;
}

async function main() {
  const browser = await launchBrowser();
  const rows: string[] = [];
  const serverRows: string[] = [];
  try {
    for (const n of sizes) {
      const base = fixtureState({ objects: n, routes: Math.max(3, n / 50) });
      let current: DashboardState = base;
      const handler = dashboardHandler({
        state: async () => current,
        act: async () => '',
        token: '',
        pollMs: 20,
        clock: realClock,
      });
      const server = createServer((req, res) => {
        void handler.handle(req, res).then((done) => {
          if (!done) res.writeHead(404).end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dashboard/`;

      const json = JSON.stringify(base);
      serverRows.push(
        `| ${n} | ${(Buffer.byteLength(json) / 1024).toFixed(0)} | ${fmt(time(() => JSON.stringify(current)))} | ${fmt(time(() => stateFingerprint(current)))} |`,
      );

      const first: number[] = [];
      const firstWork: number[] = [];
      for (let i = 0; i < runs; i++) {
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        await page.goto(url);
        await page.waitForFunction(() => window.dashboardTimings?.firstRender != null, null, { timeout: 60_000 });
        const t = await page.evaluate(() => window.dashboardTimings);
        first.push(t.firstRender!);
        firstWork.push(t.firstRenderWork!);
        await page.close();
      }
      rows.push(`| ${n} | first render: navigation to state on screen | ${fmt(first)} | ${n} |`);
      rows.push(`| ${n} | first render: the script's share | ${fmt(firstWork)} | ${n} |`);

      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(url);
      await page.waitForFunction(() => window.dashboardTimings?.firstRender != null, null, { timeout: 60_000 });
      const scenarios: [string, (i: number) => DashboardState][] = [
        ['update: 1 object changed', (i) => withFailures(base, [n / 2], `out of memory, round ${i}`)],
        ['update: 10 objects changed', (i) => withFailures(base, range(10, n), `out of memory, round ${i}`)],
        ['update: every object changed', (i) => withFailures(base, range(n, n), `node drained, round ${i}`)],
        [
          'update: a card only (last sync)',
          (i) => {
            const s = structuredClone(base);
            s.apps[0].document.lastSync!.durationMs = 1000 + i;
            return s;
          },
        ],
      ];
      for (const [name, make] of scenarios) {
        const costs: number[] = [];
        let written = 0;
        for (let i = 0; i < runs; i++) {
          const before = await page.evaluate(() => window.dashboardTimings.updates);
          current = make(i);
          await waitUpdate(page, before + 1);
          const t = await page.evaluate(() => window.dashboardTimings);
          costs.push(t.lastUpdate!);
          written = t.lastRowsWritten;
        }
        rows.push(`| ${n} | ${name} | ${fmt(costs)} | ${written} |`);
        const before = await page.evaluate(() => window.dashboardTimings.updates);
        current = base;
        await waitUpdate(page, before + 1);
      }
      await page.close();
      handler.close();
      await new Promise((r) => server.close(r));
    }
  } finally {
    await browser.close();
  }
  const chromium = process.env.SC_CHROMIUM ?? '/usr/bin/chromium';
  console.log(
    `Dashboard in ${chromium}, ${runs} runs each, node ${process.version}, load average ${loadavg()[0].toFixed(1)}; ms, median (max):\n\n` +
      `| objects | what | ms | object rows written |\n|---|---|---|---|\n${rows.join('\n')}\n\n` +
      `Server side, per poll while a page is open:\n\n| objects | state (KiB of JSON) | JSON.stringify ms | fingerprint ms |\n|---|---|---|---|\n${serverRows.join('\n')}`,
  );
}

/** `count` indexes spread over 0..n-1. */
function range(count: number, n: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.floor((i * n) / count));
}

async function waitUpdate(page: Page, updates: number): Promise<void> {
  await page.waitForFunction((u) => window.dashboardTimings.updates >= u, updates, { timeout: 60_000 });
}

await main();
