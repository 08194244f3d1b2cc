/**
 * The proxy agent's resident memory as the image runs it (its node flags and MALLOC_ARENA_MAX,
 * read from the Dockerfile), on the Node that runs this script: idle, with a table of N routes
 * (2 servers each, on loopback; HAProxy is the host's), and after P pushes that each add a
 * server to one route; and the median time to the agent's answer of those pushes. Run it with
 * the image's Node to see what the image does (`/path/to/node dist/bench/agent-memory.js`).
 * BENCH_ROUTES (1000), BENCH_PUSHES (20), BENCH_EXTRA_FLAGS (node flags added to the image's,
 * e.g. "--lite-mode"), HAPROXY (/usr/sbin/haproxy). A figure, never a verdict.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableChecksum, type Route, type RouteTable } from '../src/proxy/route-table.js';
import { hostRoute, proxyImageSettings, startAgentProcess } from './proxy-agent-process.js';

const nRoutes = Number(process.env.BENCH_ROUTES ?? 1000);
const nPushes = Number(process.env.BENCH_PUSHES ?? 20);
const extra = (process.env.BENCH_EXTRA_FLAGS ?? '').split(' ').filter(Boolean);
const image = proxyImageSettings();
const work = mkdtempSync(join(tmpdir(), 'sc-agent-memory-'));

const route = (i: number, servers = 2): Route =>
  hostRoute(
    i,
    Array.from({ length: servers }, (_, k) => ({ id: `t${i}-${k}`, address: '127.0.0.1', port: 20000 + k })),
  );
let generation = 0;
const table = (routes: Route[]): RouteTable => ({ generation: ++generation, checksum: tableChecksum(routes), routes });
const settle = () => new Promise((r) => setTimeout(r, 1000));

const agent = await startAgentProcess({
  work,
  nodeFlags: [...image.nodeFlags, ...extra],
  env: image.env,
  haproxyBinary: process.env.HAPROXY ?? '/usr/sbin/haproxy',
});
try {
  await settle();
  const idle = await agent.memory();
  let routes = Array.from({ length: nRoutes }, (_, i) => route(i));
  await agent.push(table(routes));
  await settle();
  const loaded = await agent.memory();
  const ms: number[] = [];
  for (let p = 0; p < nPushes; p++) {
    const at = (p * 37) % nRoutes;
    routes = routes.map((r, i) => (i === at ? route(i, 3) : r));
    ms.push((await agent.push(table(routes))).ms);
  }
  await settle();
  const after = await agent.memory();
  ms.sort((a, b) => a - b);
  const mb = (x: number) => `${x.toFixed(1)} MB`;
  console.log(
    `agent on node ${process.version} (${[...image.nodeFlags, ...extra].join(' ')}): idle ${mb(idle.agent)}, ` +
      `${nRoutes} routes ${mb(loaded.agent)}, after ${nPushes} pushes ${mb(after.agent)} ` +
      `(HAProxy master ${mb(after.master)}, worker ${mb(after.workers)}); push p50 ${ms[Math.floor(ms.length / 2)]?.toFixed(0) ?? '-'} ms`,
  );
} finally {
  await agent.stop();
  rmSync(work, { recursive: true, force: true });
}
