/**
 * Benchmark of the proxy agent's traffic statistics (docs/proxy.md, "Traffic statistics"), the
 * evidence for how they are read. With N routes (default 200) x 2 servers (4 slots each):
 * 1. per-server counters read from HAProxy: `show stat` CSV (servers only), `show stat typed`,
 *    `show stat json`, the built-in Prometheus exporter (a second HAProxy with the same routes
 *    and an exporter frontend), and the agent's own GET /v1/stats (which reads every worker
 *    through the master CLI): bytes and time per read;
 * 2. the request log's cost: CPU time of HAProxy's worker per request without and with the log
 *    line, the agent's CPU per line, and lines lost, under keep-alive load from this process.
 * The real agent runs as a child process (`node dist/src/cli/main.js proxy`). Prints a Markdown
 * report. Run: npm run bench:stats (BENCH_ROUTES, BENCH_REQUESTS, BENCH_CONCURRENCY override
 * 200, 20000, 8; HAPROXY the binary).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/log.js';
import { hostMapPath, pathMapPath, renderConfig, renderMaps } from '../src/proxy/haproxy-config.js';
import { HaproxyProcess, socketCommand } from '../src/proxy/haproxy-process.js';
import { parseServerStats } from '../src/proxy/haproxy-stats.js';
import { tableChecksum, type Route, type RouteTable } from '../src/proxy/route-table.js';
import { assignSlots } from '../src/proxy/slots.js';
import type { TrafficStats } from '../src/proxy/traffic-counters.js';
import { hostRoute } from './proxy-agent-process.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const nRoutes = Number(process.env.BENCH_ROUTES ?? 200);
const nRequests = Number(process.env.BENCH_REQUESTS ?? 20000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const haproxyBinary = process.env.HAPROXY ?? '/usr/sbin/haproxy';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const clockTick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const work = mkdtempSync(join(tmpdir(), 'sc-bench-stats-'));
const stateDir = join(work, 'state');
const token = 'bench-token';
writeFileSync(join(work, 'token'), `${token}\n`);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

const backends: { server: Server; port: number }[] = [];
for (let i = 0; i < 4; i++) {
  const server = createServer((_req, res) => res.end(`b${i}`));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  backends.push({ server, port: (server.address() as { port: number }).port });
}
const [httpPort, controlPort, plainPort, promPort] = [
  await freePort(),
  await freePort(),
  await freePort(),
  await freePort(),
];

const route = (i: number): Route =>
  hostRoute(
    i,
    [0, 1].map((k) => ({ id: `t${i}-${k}`, address: '127.0.0.1', port: backends[(2 * i + k) % 4].port })),
  );
const routes = Array.from({ length: nRoutes }, (_, i) => route(i));
const table: RouteTable = { generation: 1, checksum: tableChecksum(routes), routes };

const agent = spawn(
  process.execPath,
  [
    join(root, 'dist/src/cli/main.js'),
    'proxy',
    '--http-bind',
    `127.0.0.1:${httpPort}`,
    '--control',
    `127.0.0.1:${controlPort}`,
    '--token-file',
    join(work, 'token'),
    '--state-dir',
    stateDir,
    '--haproxy',
    haproxyBinary,
  ],
  { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } },
);
let agentErr = '';
agent.stderr.on('data', (d: Buffer) => (agentErr = (agentErr + d.toString()).slice(-4000)));
const agentExited = new Promise<void>((r) => agent.once('exit', () => r()));
const control = `http://127.0.0.1:${controlPort}`;
const auth = { authorization: `Bearer ${token}` };

// The same routes on a second HAProxy without the request log, with the Prometheus exporter.
const plainDir = join(work, 'plain');
mkdirSync(plainDir, { recursive: true });
const plain = new HaproxyProcess({ binary: haproxyBinary, stateDir: plainDir, log: createLogger({ level: 'warn' }) });
writeFileSync(hostMapPath(plainDir), renderMaps(table).hosts);
writeFileSync(pathMapPath(plainDir), renderMaps(table).paths);
writeFileSync(
  join(plainDir, 'haproxy.cfg'),
  renderConfig(table, assignSlots(table), {
    httpBind: `127.0.0.1:${plainPort}`,
    httpsBind: '127.0.0.1:1',
    stateDir: plainDir,
  }) +
    `\nfrontend prometheus\n    bind 127.0.0.1:${promPort}\n    no log\n    http-request use-service prometheus-exporter if { path /metrics }\n`,
);

function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / clockTick;
}

async function workerPid(socket: string): Promise<number> {
  return Number(/^Pid: (\d+)$/m.exec(await socketCommand(socket, 'show info'))![1]);
}

function timings(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.max(0, Math.ceil(p * s.length) - 1)];
  const f = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
  return `${f(q(0.5))} ms | ${f(q(0.9))} ms`;
}

async function timed(n: number, fn: () => Promise<number>): Promise<{ ms: number[]; bytes: number }> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    bytes = await fn();
    ms.push(performance.now() - t0);
  }
  return { ms, bytes };
}

/**
 * `n` GETs over keep-alive connections, `concurrency` at a time, all to the first route (its
 * rule is the first of the frontend's, so the cost measured is the request's and its log
 * line's, not the walk through the other routes' host rules).
 */
async function load(port: number, n = nRequests): Promise<{ seconds: number; failed: number }> {
  const keepAlive = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let failed = 0;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port, path: `/${i}`, headers: { host: 'r0.bench.example.com' }, agent: keepAlive },
        (res) => {
          if (res.statusCode !== 200) failed++;
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end();
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await one(next++);
    }),
  );
  keepAlive.destroy();
  return { seconds: (performance.now() - t0) / 1000, failed };
}

const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;

try {
  for (let i = 0; i < 200; i++) {
    if (
      (await fetch(`${control}/healthz`).then(
        (r) => r.status,
        () => 0,
      )) === 200
    )
      break;
    if (agent.exitCode !== null) throw new Error(`the agent exited: ${agentErr}`);
    await sleep(50);
  }
  const pushed = await fetch(`${control}/v1/table`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(table),
  });
  if (pushed.status !== 200) throw new Error(`push answered ${pushed.status}: ${await pushed.text()}`);
  await plain.start();

  // 1. reading counters
  const sock = join(stateDir, 'haproxy.sock');
  const csv = await timed(20, async () => (await socketCommand(sock, 'show stat -1 4 -1')).length);
  const csvText = await socketCommand(sock, 'show stat -1 4 -1');
  const parse = await timed(20, async () => (parseServerStats(csvText), csvText.length));
  const typed = await timed(20, async () => (await socketCommand(sock, 'show stat -1 4 -1 typed')).length);
  const json = await timed(20, async () => (await socketCommand(sock, 'show stat -1 4 -1 json')).length);
  const prom = await timed(20, async () => (await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text()).length);
  const promServers = await timed(
    20,
    async () => (await (await fetch(`http://127.0.0.1:${promPort}/metrics?scope=server`)).text()).length,
  );
  const master = join(stateDir, 'master.sock');
  const wpid0 = await workerPid(sock);
  const oneBackend = await timed(
    20,
    async () => (await socketCommand(master, `@!${wpid0}; show info; show stat rt_bench:r0 4 -1`)).length,
  );
  const allBackends = await timed(
    20,
    async () => (await socketCommand(master, `@!${wpid0}; show info; show stat -1 4 -1`)).length,
  );
  const agentStats = await timed(
    20,
    async () => (await (await fetch(`${control}/v1/stats`, { headers: auth })).text()).length,
  );
  const rows = parseServerStats(csvText).length;

  // 2. the request log's cost: the plain HAProxy, then the agent's, twice each
  const agentPid = agent.pid!;
  const runs: { logged: boolean; workerUsPerReq: number; agentUsPerLine: number; rps: number; failed: number }[] = [];
  await load(plainPort, 2000); // warm both up
  await load(httpPort, 2000);
  for (const logged of [false, true, false, true, false, true]) {
    const port = logged ? httpPort : plainPort;
    const wpid = await workerPid(logged ? sock : join(plainDir, 'haproxy.sock'));
    const before = (await (await fetch(`${control}/v1/stats`, { headers: auth })).json()) as TrafficStats;
    const [w0, a0] = [cpuMs(wpid), cpuMs(agentPid)];
    const r = await load(port);
    await sleep(300); // the last datagrams
    const [w1, a1] = [cpuMs(wpid), cpuMs(agentPid)];
    const after = (await (await fetch(`${control}/v1/stats`, { headers: auth })).json()) as TrafficStats;
    const lines = after.collection.logLines - before.collection.logLines;
    runs.push({
      logged,
      workerUsPerReq: ((w1 - w0) * 1000) / nRequests,
      agentUsPerLine: logged && lines ? ((a1 - a0) * 1000) / lines : 0,
      rps: nRequests / r.seconds,
      failed: r.failed,
    });
    if (logged && lines !== nRequests) console.error(`warning: ${lines} log lines for ${nRequests} requests`);
  }
  const final = (await (await fetch(`${control}/v1/stats`, { headers: auth })).json()) as TrafficStats;

  const haproxyVersion = execFileSync(haproxyBinary, ['-v'], { encoding: 'utf8' }).split('\n')[0];
  const cpu = cpus();
  console.log(`## Proxy traffic statistics with ${nRoutes} routes x 2 servers (${new Date().toISOString().slice(0, 10)})

${cpu.length} x ${cpu[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${haproxyVersion}.
${rows} server rows (4 slots per route). Loopback.

| read of every server's counters | bytes | p50 | p90 |
|---|---|---|---|
| \`show stat -1 4 -1\` (CSV, servers only) on the stats socket | ${kb(csv.bytes)} | ${timings(csv.ms)} |
| parsing that CSV (\`parseServerStats\`) | | ${timings(parse.ms)} |
| \`show stat -1 4 -1 typed\` | ${kb(typed.bytes)} | ${timings(typed.ms)} |
| \`show stat -1 4 -1 json\` | ${kb(json.bytes)} | ${timings(json.ms)} |
| Prometheus exporter \`/metrics\` | ${kb(prom.bytes)} | ${timings(prom.ms)} |
| Prometheus exporter \`/metrics?scope=server\` | ${kb(promServers.bytes)} | ${timings(promServers.ms)} |
| the agent's read of a worker through the master CLI: \`show info\` and every server | ${kb(allBackends.bytes)} | ${timings(allBackends.ms)} |
| the same for one backend (before a membership change of that route) | ${kb(oneBackend.bytes)} | ${timings(oneBackend.ms)} |
| the agent's \`GET /v1/stats\` (reads every worker, then answers) | ${kb(agentStats.bytes)} | ${timings(agentStats.ms)} |

| ${nRequests} keep-alive GETs to one route, ${concurrency} at a time | HAProxy worker CPU per request | agent CPU per log line | requests/s (client-bound) | failed |
|---|---|---|---|---|
${runs
  .map(
    (r) =>
      `| ${r.logged ? 'with the request log (the agent)' : 'without (plain HAProxy)'} | ${r.workerUsPerReq.toFixed(1)} µs | ${r.logged ? `${r.agentUsPerLine.toFixed(1)} µs` : '-'} | ${r.rps.toFixed(0)} | ${r.failed} |`,
  )
  .join('\n')}

Log lines received ${final.collection.logLines}, lost in the kernel ${final.collection.droppedByKernel}, not sent by HAProxy ${final.collection.droppedByHaproxy}.`);
} finally {
  agent.kill('SIGTERM');
  await Promise.race([agentExited, sleep(5000)]);
  await plain.stop(2000);
  for (const b of backends) b.server.close();
  rmSync(work, { recursive: true, force: true });
}
