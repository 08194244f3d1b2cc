/**
 * Benchmark of the proxy agent with a large table: the real `controller proxy` as a child
 * process beside the real HAProxy on loopback, a table of N routes (default 200) with 2
 * servers each. Measures pushes that need a reload (push answer time and the agent's
 * lastReloadMs), Runtime-API-only membership pushes, and resident memory (VmRSS) of the agent
 * and of HAProxy's master and worker. Prints a Markdown report. Run: npm run bench:proxy
 * (BENCH_ROUTES, BENCH_RELOADS, BENCH_RUNTIME override 200, 12, 20; BENCH_NODE_FLAGS adds node
 * flags to the agent, none by default as in the proxy image; HAPROXY the binary).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { tableChecksum, type Route, type RouteTable } from '../src/proxy/route-table.js';
import { hostRoute, startAgentProcess } from './proxy-agent-process.js';

const nRoutes = Number(process.env.BENCH_ROUTES ?? 200);
const nReloads = Number(process.env.BENCH_RELOADS ?? 12);
const nRuntime = Number(process.env.BENCH_RUNTIME ?? 20);
const haproxyBinary = process.env.HAPROXY ?? '/usr/sbin/haproxy';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const work = mkdtempSync(join(tmpdir(), 'sc-bench-proxy-'));
// Four loopback backends; each route's two servers point at two of them.
const backends: { server: Server; port: number }[] = [];
for (let i = 0; i < 4; i++) {
  const server = createServer((req, res) => res.end(`b${i} ${req.url}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  backends.push({ server, port: (server.address() as { port: number }).port });
}
const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const agent = await startAgentProcess({ work, nodeFlags, haproxyBinary });
const { push, status, memory, httpPort, stateDir } = agent;

const route = (i: number, ports: [number, number], balance: Route['balance'] = 'roundrobin'): Route =>
  hostRoute(
    i,
    ports.map((port, k) => ({ id: `t${i}-${k}-${port}`, address: '127.0.0.1', port })),
    balance,
  );
let generation = 0;
const table = (routes: Route[]): RouteTable => ({ generation: ++generation, checksum: tableChecksum(routes), routes });
const basePorts = (i: number): [number, number] => [backends[(2 * i) % 4].port, backends[(2 * i + 1) % 4].port];
const routes = Array.from({ length: nRoutes }, (_, i) => route(i, basePorts(i)));

function stats(xs: number[]): { p50: number; p90: number; max: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.max(0, Math.ceil(p * s.length) - 1)];
  return { p50: q(0.5), p90: q(0.9), max: s[s.length - 1], n: s.length };
}
const f = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

/** A GET through HAProxy for route i's host (node:http: fetch does not send a Host header of ours). */
function hostAnswers(i: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: httpPort, path: '/check', headers: { host: `r${i}.bench.example.com` }, agent: false },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

try {
  const idle = await memory();

  const first = await push(table(routes));
  for (const i of [0, nRoutes - 1]) {
    const answer = await hostAnswers(i);
    if (!answer.startsWith('200 ')) throw new Error(`route ${i} does not answer through HAProxy: ${answer}`);
  }
  const loaded = await memory();

  // (a) structure changes: one route's balance flips; pushes 250 ms apart (above the 200 ms rate limit)
  const reloadPush: number[] = [];
  const reloadAgent: number[] = [];
  for (let k = 0; k < nReloads; k++) {
    await sleep(250);
    const changed = routes.map((r, i) =>
      i === 0 ? { ...r, balance: k % 2 ? ('roundrobin' as const) : ('leastconn' as const) } : r,
    );
    const r = await push(table(changed));
    if (r.action !== 'reload') throw new Error(`expected a reload, got ${r.action}`);
    reloadPush.push(r.ms);
    reloadAgent.push((await status()).lastReloadMs!);
  }
  const afterReloads = await memory();
  // the check in a reload push: haproxy -c on the installed 200-route configuration
  const checkMs: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    execFileSync(haproxyBinary, ['-c', '-q', '-f', join(stateDir, 'haproxy.cfg')], { stdio: 'pipe' });
    checkMs.push(performance.now() - t0);
  }

  // (b) membership through the Runtime API: one route's server moves to another port; then every route's
  const onePush: number[] = [];
  const oneCommands: number[] = [];
  for (let k = 0; k < nRuntime; k++) {
    const i = (k * 37) % nRoutes;
    const r = await push(
      table(routes.map((x, j) => (j === i ? route(j, [backends[(2 * j + 2) % 4].port, basePorts(j)[1]]) : x))),
    );
    if (r.action !== 'runtime') throw new Error(`expected a Runtime API update, got ${r.action}`);
    onePush.push(r.ms);
    oneCommands.push(r.commands);
  }
  const allPush: number[] = [];
  const allCommands: number[] = [];
  for (let k = 0; k < 5; k++) {
    const r = await push(
      table(routes.map((_, j) => route(j, [backends[(j + k + 1) % 4].port, backends[(j + k + 2) % 4].port]))),
    );
    if (r.action !== 'runtime') throw new Error(`expected a Runtime API update, got ${r.action}`);
    allPush.push(r.ms);
    allCommands.push(r.commands);
  }
  const runtimeAnswer = await hostAnswers(nRoutes - 1);
  if (!runtimeAnswer.startsWith('200 '))
    throw new Error(`after the runtime updates, the last route answers ${runtimeAnswer}`);
  const end = await memory();
  const reloads = (await status()).reloads;

  const haproxyVersion = execFileSync(haproxyBinary, ['-v'], { encoding: 'utf8' }).split('\n')[0];
  const cpu = cpus();
  console.log(`## Proxy agent with ${nRoutes} routes x 2 servers (${new Date().toISOString().slice(0, 10)})

${cpu.length} x ${cpu[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${haproxyVersion}.
The agent runs as a child process (\`node${nodeFlags.map((x) => ` ${x}`).join('')} dist/src/cli/main.js proxy\`); HAProxy is its child (master-worker). Loopback only, no traffic during the pushes.

| push | p50 | p90 | max | n |
|---|---|---|---|---|
| first table (${nRoutes} routes, from the empty one): push to answer | ${f(first.ms)} ms | | | 1 |
| structure change (reload), push to answer | ${f(stats(reloadPush).p50)} ms | ${f(stats(reloadPush).p90)} ms | ${f(stats(reloadPush).max)} ms | ${reloadPush.length} |
| structure change, the reload itself (agent's lastReloadMs) | ${f(stats(reloadAgent).p50)} ms | ${f(stats(reloadAgent).p90)} ms | ${f(stats(reloadAgent).max)} ms | ${reloadAgent.length} |
| structure change, the check before it (\`haproxy -c\` of the ${nRoutes}-route file, run by the benchmark) | ${f(stats(checkMs).p50)} ms | ${f(stats(checkMs).p90)} ms | ${f(stats(checkMs).max)} ms | ${checkMs.length} |
| membership: a server of one route moves, the previous push's moves back (Runtime API, ${stats(oneCommands).max} commands) | ${f(stats(onePush).p50)} ms | ${f(stats(onePush).p90)} ms | ${f(stats(onePush).max)} ms | ${onePush.length} |
| membership, every route's servers move (Runtime API, ${stats(allCommands).max} commands) | ${f(stats(allPush).p50)} ms | ${f(stats(allPush).p90)} ms | ${f(stats(allPush).max)} ms | ${allPush.length} |

| resident memory (VmRSS) | agent | HAProxy master | HAProxy worker |
|---|---|---|---|
| empty table | ${idle.agent.toFixed(0)} MB | ${idle.master.toFixed(0)} MB | ${idle.workers.toFixed(0)} MB |
| ${nRoutes} routes loaded | ${loaded.agent.toFixed(0)} MB | ${loaded.master.toFixed(0)} MB | ${loaded.workers.toFixed(0)} MB |
| after ${nReloads} more reloads | ${afterReloads.agent.toFixed(0)} MB | ${afterReloads.master.toFixed(0)} MB | ${afterReloads.workers.toFixed(0)} MB |
| at the end (after ${onePush.length + allPush.length} Runtime API pushes, ${reloads} reloads in all) | ${end.agent.toFixed(0)} MB | ${end.master.toFixed(0)} MB | ${end.workers.toFixed(0)} MB (${end.workerCount} worker) |
`);
} finally {
  await agent.stop();
  for (const b of backends) b.server.close();
  rmSync(work, { recursive: true, force: true });
}
