/**
 * The proxy at 1,000 routes over 200 services with 5 tasks each, on loopback without a Swarm:
 * the real `controller proxy` as a child process (with the proxy image's node flags) beside
 * the real HAProxy, and one loopback HTTP server per task in this process. Measures:
 * 1. HAProxy's CPU per request to pick a route among 1,000: the frontend the agent renders
 *    (host and path maps) against the chain of ACLs it rendered before (rendered here as the
 *    peer), each in a plain HAProxy of its own, the same backends, alternating runs;
 * 2. the first table push, reloads (push to answer, the reload itself, `haproxy -c`);
 * 3. the propagation of a new task while 50 scale events a minute happen to other services:
 *    from the moment the task is known (the table is built and pushed) to the first request it
 *    serves through HAProxy, with steady traffic to its service (the controller's task poll,
 *    250 ms by default, comes on top; bench/route-propagation.ts measures that on a Swarm);
 * 4. resident memory of the agent and of HAProxy's master and worker.
 * Prints a Markdown report. Run: npm run bench:proxy-scale (BENCH_SERVICES, BENCH_ROUTES_PER,
 * BENCH_TASKS, BENCH_EVENTS, BENCH_REQUESTS override 200, 5, 5, 30, 20000; BENCH_NODE_FLAGS the
 * agent's node flags, by default the proxy image's NODE_OPTIONS, and its MALLOC_ARENA_MAX, both read
 * from the Dockerfile; HAPROXY the binary).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log.js';
import { hostMapPath, pathMapPath, renderConfig, renderMaps } from '../src/proxy/haproxy-config.js';
import { HaproxyProcess, socketCommand } from '../src/proxy/haproxy-process.js';
import { tableChecksum, type Route, type RouteTable } from '../src/proxy/route-table.js';
import { assignSlots, backendName } from '../src/proxy/slots.js';
import { cpuMs, freePort, proxyImageSettings, startAgentProcess, type AgentProcess } from './proxy-agent-process.js';

const nServices = Number(process.env.BENCH_SERVICES ?? 200);
const routesPer = Number(process.env.BENCH_ROUTES_PER ?? 5);
const nTasks = Number(process.env.BENCH_TASKS ?? 5);
const nEvents = Number(process.env.BENCH_EVENTS ?? 30);
const nRequests = Number(process.env.BENCH_REQUESTS ?? 20000);
const image = proxyImageSettings();
const nodeFlags = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? image.nodeFlags;
const haproxyBinary = process.env.HAPROXY ?? '/usr/sbin/haproxy';
const churnPerMinute = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const work = mkdtempSync(join(tmpdir(), 'sc-bench-scale-'));
// One loopback server per task; each notes when it answers its first request.
interface Task {
  id: string;
  port: number;
  server: Server;
  firstRequestAt: number | undefined;
}
async function startTask(id: string): Promise<Task> {
  const task: Task = { id, port: 0, server: createServer(), firstRequestAt: undefined };
  task.server.on('request', (req, res) => {
    task.firstRequestAt ??= performance.now();
    res.end(`${id} ${req.url}`);
  });
  await new Promise<void>((r) => task.server.listen(0, '127.0.0.1', r));
  task.port = (task.server.address() as { port: number }).port;
  return task;
}
const tasks: Task[][] = [];
for (let s = 0; s < nServices; s++) {
  const list: Task[] = [];
  for (let k = 0; k < nTasks; k++) list.push(await startTask(`s${s}t${k}`));
  tasks.push(list);
}

/** Route k of service s: the host alone, the host with a path, or (the last one) a path without a host. */
function routesOf(s: number, list: Task[]): Route[] {
  return Array.from({ length: routesPer }, (_, k) => ({
    name: `bench/s${s}-r${k}`,
    hosts: k === routesPer - 1 ? [] : [`s${s}.bench.example.com`],
    pathPrefix: k === 0 ? '/' : k === routesPer - 1 ? `/s${s}` : `/p${k}`,
    stripPrefix: false,
    sticky: null,
    balance: 'roundrobin' as const,
    healthCheck: null,
    timeouts: { connectMs: 2000, serverMs: 30000 },
    redirectToHttps: false,
    tls: null,
    backends: [
      {
        service: `bench_s${s}`,
        weight: 10,
        servers: list.map((t) => ({ id: t.id, address: '127.0.0.1', port: t.port })),
      },
    ],
  }));
}
let generation = 0;
const tableOf = (lists: Task[][], change?: (r: Route) => Route): RouteTable => {
  const routes = lists.flatMap((list, s) => routesOf(s, list)).map((r) => (change ? change(r) : r));
  return { generation: ++generation, checksum: tableChecksum(routes), routes };
};

// ---- 1. route choice: the map frontend against the ACL chain, each in a plain HAProxy ------------
/** The frontend rules the renderer wrote before the maps: an ACL per route, a use_backend per route. */
function aclChainFrontend(table: RouteTable): string[] {
  const L: string[] = [];
  const rules: { be: string; tier: number; path: number; cond: string }[] = [];
  for (const r of [...table.routes].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const be = backendName(r);
    const conds: string[] = [];
    if (r.hosts.length) {
      L.push(`    acl host_${be} req.hdr(host),host_only,lower -m str ${[...r.hosts].sort().join(' ')}`);
      conds.push(`host_${be}`);
    }
    if (r.pathPrefix !== '/') {
      L.push(`    acl path_${be} path -m str ${r.pathPrefix}`, `    acl path_${be} path_beg ${r.pathPrefix}/`);
      conds.push(`path_${be}`);
    }
    rules.push({ be, tier: r.hosts.length ? 0 : 2, path: r.pathPrefix.length, cond: conds.join(' ') });
  }
  rules.sort((a, b) => a.tier - b.tier || b.path - a.path);
  for (const r of rules) L.push(`    use_backend ${r.be}${r.cond ? ` if ${r.cond}` : ''}`);
  return L;
}

async function plainHaproxy(name: string, table: RouteTable, frontend: 'map' | 'acl') {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  let text = renderConfig(table, assignSlots(table), {
    httpBind: `127.0.0.1:${port}`,
    httpsBind: '127.0.0.1:1',
    stateDir: dir,
  });
  if (frontend === 'acl') {
    const lines = text.split('\n');
    const from = lines.findIndex((l) => l.includes('set-var-fmt(txn.sc_path)'));
    const to = lines.findIndex((l) => l.includes('default_backend'));
    text = [...lines.slice(0, from), ...aclChainFrontend(table), ...lines.slice(to)].join('\n');
  }
  writeFileSync(join(dir, 'haproxy.cfg'), text);
  writeFileSync(hostMapPath(dir), renderMaps(table).hosts);
  writeFileSync(pathMapPath(dir), renderMaps(table).paths);
  const haproxy = new HaproxyProcess({ binary: haproxyBinary, stateDir: dir, log: createLogger({ level: 'warn' }) });
  await haproxy.start();
  return { haproxy, port, socket: join(dir, 'haproxy.sock') };
}

async function workerPid(socket: string): Promise<number> {
  return Number(/^Pid: (\d+)$/m.exec(await socketCommand(socket, 'show info'))![1]);
}

/** `n` keep-alive GETs, 8 at a time, to the given [host, path] targets in turn; counts failures. */
async function load(
  port: number,
  targets: [string | undefined, string][],
  n: number,
  stop?: () => boolean,
): Promise<{ seconds: number; failed: number; sent: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  let next = 0;
  let failed = 0;
  const one = (i: number) =>
    new Promise<void>((done) => {
      const [host, path] = targets[i % targets.length];
      const req = request({ host: '127.0.0.1', port, path, headers: host ? { host } : {}, agent }, (res) => {
        if (res.statusCode !== 200) failed++;
        res.resume();
        res.on('end', done);
      });
      req.on('error', () => {
        failed++;
        done();
      });
      req.end();
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n && !stop?.()) await one(next++);
    }),
  );
  agent.destroy();
  return { seconds: (performance.now() - t0) / 1000, failed, sent: next };
}

/** Targets: every service's last route with a host, and every host-less path (the ends of the ACL chain). */
const lastHostRoute = (s: number): [string, string] => [`s${s}.bench.example.com`, `/p${routesPer - 2}/x`];
const spreadTargets: [string | undefined, string][] = Array.from({ length: nServices }, (_, s) =>
  s % 2 ? lastHostRoute(s) : [undefined, `/s${s}/x`],
);

/** Pushes one at a time, like the controller's pusher: a push waits for the one before. */
let chain: Promise<unknown> = Promise.resolve();
function push(t: RouteTable): ReturnType<AgentProcess['push']> {
  const run = () => agent!.push(t);
  const p = chain.then(run, run);
  chain = p.catch(() => undefined);
  return p;
}

function pct(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.max(0, Math.ceil(p * s.length) - 1)];
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1], n: s.length };
}
const f = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const row = (label: string, xs: number[]) => {
  const p = pct(xs);
  return `| ${label} | ${f(p.p50)} ms | ${f(p.p90)} ms | ${f(p.p99)} ms | ${f(p.max)} ms | ${p.n} |`;
};

const plains: Awaited<ReturnType<typeof plainHaproxy>>[] = [];
let agent: AgentProcess | undefined;
try {
  // 1. route choice
  const base = tableOf(tasks);
  const byMap = await plainHaproxy('map', base, 'map');
  const byAcl = await plainHaproxy('acl', base, 'acl');
  plains.push(byMap, byAcl);
  const choice: { frontend: string; usPerRequest: number; rps: number; failed: number }[] = [];
  for (let round = 0; round < 3; round++) {
    for (const [frontend, h] of [
      ['maps (now)', byMap],
      ['ACL chain (before)', byAcl],
    ] as const) {
      const pid = await workerPid(h.socket);
      const c0 = cpuMs(pid);
      const r = await load(h.port, spreadTargets, nRequests);
      choice.push({
        frontend,
        usPerRequest: ((cpuMs(pid) - c0) * 1000) / nRequests,
        rps: nRequests / r.seconds,
        failed: r.failed,
      });
    }
  }
  for (const h of plains.splice(0)) await h.haproxy.stop(2000);

  // 2. the agent: first table, reloads
  agent = await startAgentProcess({ work, nodeFlags, haproxyBinary, env: image.env });
  const { memory, status, httpPort, stateDir } = agent;
  const empty = await memory();
  const first = await push(base);
  const loaded = await memory();
  const reloadPush: number[] = [];
  const reloadItself: number[] = [];
  for (let k = 0; k < 6; k++) {
    await sleep(250);
    const r = await push(
      tableOf(tasks, (x) => (x.name === 'bench/s0-r0' ? { ...x, balance: k % 2 ? 'roundrobin' : 'leastconn' } : x)),
    );
    if (r.action !== 'reload') throw new Error(`expected a reload, got ${r.action}`);
    reloadPush.push(r.ms);
    reloadItself.push((await status()).lastReloadMs!);
  }
  const checkMs: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    execFileSync(haproxyBinary, ['-c', '-q', '-f', join(stateDir, 'haproxy.cfg')], { stdio: 'pipe' });
    checkMs.push(performance.now() - t0);
  }
  const afterReloads = await memory();

  // 3. propagation of a new task under churn
  const current = tasks.map((l) => [...l]);
  const churnPushes: number[] = [];
  let churning = true;
  const churn = (async () => {
    let i = 0;
    while (churning) {
      await sleep(60_000 / churnPerMinute);
      const s = 100 + (i++ % (nServices - 100)); // services 100..199 scale; targets are 0..99
      const list = current[s];
      if (list.length === nTasks) list.pop();
      else list.push(tasks[s][nTasks - 1]);
      churnPushes.push((await push(tableOf(current))).ms);
    }
  })();
  const propagation: number[] = [];
  const eventPushes: number[] = [];
  let trafficSent = 0;
  let trafficFailed = 0;
  for (let e = 0; e < nEvents; e++) {
    const s = (e * 7) % Math.min(100, nServices);
    const fresh = await startTask(`s${s}new${e}`);
    let done = false;
    const traffic = load(httpPort, [[`s${s}.bench.example.com`, '/x']], 1e9, () => done);
    await sleep(200); // traffic flowing before the task appears
    const known = performance.now();
    current[s] = [...current[s], fresh];
    const pushed = push(tableOf(current));
    while (fresh.firstRequestAt === undefined && performance.now() - known < 10_000) await sleep(1);
    eventPushes.push((await pushed).ms);
    done = true;
    const t = await traffic;
    trafficSent += t.sent;
    trafficFailed += t.failed;
    if (fresh.firstRequestAt === undefined) throw new Error(`event ${e}: the new task got no request in 10 s`);
    propagation.push(fresh.firstRequestAt - known);
    current[s] = current[s].filter((x) => x !== fresh);
    await push(tableOf(current));
    fresh.server.close();
    await sleep(1000);
  }
  churning = false;
  await churn;
  const afterChurn = await memory();
  const st = await status();

  const haproxyVersion = execFileSync(haproxyBinary, ['-v'], { encoding: 'utf8' }).split('\n')[0];
  const cpu = cpus();
  const nRoutes = nServices * routesPer;
  const choiceRows = choice
    .map((c) => `| ${c.frontend} | ${c.usPerRequest.toFixed(1)} µs | ${c.rps.toFixed(0)} | ${c.failed} |`)
    .join('\n');
  console.log(`## Proxy at ${nRoutes} routes (${new Date().toISOString().slice(0, 10)})

${cpu.length} x ${cpu[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${haproxyVersion}.
${nServices} services x ${nTasks} tasks (loopback servers), ${routesPer} routes each (${routesPer - 1} on the service's host, 1 path without a host): ${nRoutes} routes, ${nServices * nTasks} servers.
Agent: \`${Object.entries(image.env)
    .map(([k, v]) => `${k}=${v} `)
    .join(
      '',
    )}node ${nodeFlags.join(' ')} dist/src/cli/main.js proxy\`. Load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}.

| route choice, ${nRequests} keep-alive GETs 8 at a time over ${spreadTargets.length} routes at the end of the ACL order | HAProxy worker CPU per request | requests/s (bound by the Node client) | failed |
|---|---|---|---|
${choiceRows}

| push | p50 | p90 | p99 | max | n |
|---|---|---|---|---|---|
${row(`first table (${nRoutes} routes, from the empty one): push to answer`, [first.ms])}
${row('structure change (reload): push to answer', reloadPush)}
${row("the reload itself (agent's lastReloadMs)", reloadItself)}
${row(`\`haproxy -c\` of the ${nRoutes}-route file`, checkMs)}
${row('**new task known → its first request through HAProxy**', propagation)}
${row('the push adding the new task (Runtime API)', eventPushes)}
${row(`pushes of the ${churnPerMinute}/min scale events elsewhere`, churnPushes)}

During the propagation events: ${trafficSent} requests to the scaled services, ${trafficFailed} failed; ${st.runtimeUpdates} Runtime API updates and ${st.reloads} reloads in all.

| resident memory (VmRSS) | agent | HAProxy master | HAProxy worker |
|---|---|---|---|
| empty table | ${empty.agent.toFixed(0)} MB | ${empty.master.toFixed(0)} MB | ${empty.workers.toFixed(0)} MB |
| ${nRoutes} routes loaded | ${loaded.agent.toFixed(0)} MB | ${loaded.master.toFixed(0)} MB | ${loaded.workers.toFixed(0)} MB |
| after ${reloadPush.length} reloads | ${afterReloads.agent.toFixed(0)} MB | ${afterReloads.master.toFixed(0)} MB | ${afterReloads.workers.toFixed(0)} MB |
| after the propagation run (${churnPushes.length + 2 * propagation.length} more pushes) | ${afterChurn.agent.toFixed(0)} MB | ${afterChurn.master.toFixed(0)} MB | ${afterChurn.workers.toFixed(0)} MB |
`);
} finally {
  for (const h of plains) await h.haproxy.stop(2000);
  await agent?.stop();
  for (const list of tasks) for (const t of list) t.server.close();
  rmSync(work, { recursive: true, force: true });
}
