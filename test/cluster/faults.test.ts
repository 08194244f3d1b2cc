/**
 * Faults on a multi-node Swarm (scripts/cluster.sh). A worker's engine is killed (SIGKILL of
 * its dockerd) while requests flow through the proxy tier: its tasks must leave the proxy's
 * rotation, Swarm must reschedule them, the controller must report and converge; when the
 * engine comes back nothing may be duplicated. Times are measured and printed (docs/reliability.md,
 * "Faults"), never asserted.
 *
 * The proxy and the controller run on node 1 (the manager); requests go to the proxy's
 * host-mode port on node 1's address (a namespace of ours), nowhere else.
 * SC_CLUSTER_HEARTBEAT (default 1s) is set with `docker swarm update --dispatcher-heartbeat`
 * for the test and put back to Swarm's default (5s) after it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { controller, docker, eventually, removeNamespace } from '../e2e/harness.js';
import { request } from '../e2e/load.js';
import { controllerStatus, routeStatus, startTier, stopTier, type Tier } from '../e2e/routing-tier.js';
import {
  clusterScript,
  containersPerNode,
  runningPerNode,
  sum,
  tasksOf,
  useCluster,
  type ClusterNode,
} from './cluster.js';

const tierNs = 'cl-edge';
const ns = 'cl-fault';
const httpPort = 18580;
const replicas = 4;
const heartbeat = process.env.SC_CLUSTER_HEARTBEAT ?? '1s';

let nodes: ClusterNode[];
let victim: ClusterNode;
let tier: Tier;
let base: string;

const app = `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: edge, namespace: ${ns}}
spec: {external: true, name: ${tierNs}_edge}
---
apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: ${replicas}
  endpointMode: dnsrr
  expose: [8080]
  networks: [edge]
  placement: {constraints: ["node.role == worker"]}
  healthcheck: {test: [CMD, /usr/local/bin/node, /app/healthcheck.js], interval: 1s, timeout: 2s, retries: 3}
  restartPolicy: {condition: any, delay: 1s}
  stopGracePeriod: 2s
---
apiVersion: swarm.controller/v1alpha1
kind: Route
metadata: {name: web, namespace: ${ns}}
spec:
  pathPrefix: /web
  service: web
  port: 8080
  healthCheck: {path: /healthz, interval: 500ms}
`;

interface Probe {
  t: number;
  ms: number;
  task?: string;
  status?: number;
  error?: string;
}

/**
 * Requests to the route until stopped, each with its send time and the task that answered:
 * at most one every `gapMs` per worker (a new connection each, so at most ~100/s: the host's
 * ephemeral ports stay far from exhausted), bounded at 60,000 requests.
 */
function startProbe(url: string, concurrency = 2, gapMs = 20): { stop: () => Promise<Probe[]>; log: Probe[] } {
  const log: Probe[] = [];
  let stopped = false;
  const worker = async () => {
    while (!stopped && log.length < 60_000) {
      await new Promise((r) => setTimeout(r, gapMs)); // pacing the load (bounded rate), not waiting for an outcome
      const t = Date.now();
      try {
        const a = await request(url, {}, 5000);
        log.push({ t, ms: Date.now() - t, status: a.status, ...(a.task ? { task: a.task } : {}) });
      } catch (err) {
        log.push({ t, ms: Date.now() - t, error: (err as Error).message });
      }
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, worker));
  return {
    log,
    stop: async () => {
      stopped = true;
      await done;
      return log;
    },
  };
}

const short = (containerId: string) => containerId.slice(0, 12);
const seconds = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);

async function tasksServing(n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const a = await request(`${base}/web/`).catch(() => undefined);
    if (a?.task) seen.add(a.task);
  }
  return seen;
}

/** The times (ms since epoch) of the controller's route table changes since `since`, with their server counts. */
async function tableChanges(since: number): Promise<{ t: number; servers: number; generation: number }[]> {
  const ids = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${tierNs}_controller`))
    .split('\n')
    .filter(Boolean);
  const out: { t: number; servers: number; generation: number }[] = [];
  for (const id of ids) {
    const r = spawnSync('docker', ['logs', '--since', String(Math.floor(since / 1000)), id], {
      env: process.env,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    for (const line of `${r.stdout}\n${r.stderr}`.split('\n')) {
      if (!line.includes('"routes.table"')) continue;
      try {
        const j = JSON.parse(line) as { time: string; servers: number; generation: number };
        const t = Date.parse(j.time);
        if (t >= since) out.push({ t, servers: j.servers, generation: j.generation });
      } catch {
        /* not a log record */
      }
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

/** Swarm's node events for a node since `since`: when the manager saw it go down and come back. */
async function nodeStates(nodeId: string, since: number): Promise<{ t: number; state: string }[]> {
  const out = await docker(
    'events',
    '--since',
    (since / 1000).toFixed(3),
    '--until',
    (Date.now() / 1000).toFixed(3),
    '--filter',
    'type=node',
    '--filter',
    `node=${nodeId}`,
    '--format',
    '{{json .}}',
  );
  const states: { t: number; state: string }[] = [];
  for (const line of out.split('\n').filter(Boolean)) {
    const e = JSON.parse(line) as { timeNano: number; Actor: { Attributes: Record<string, string> } };
    const state = e.Actor.Attributes['state.new'];
    if (state) states.push({ t: Math.floor(e.timeNano / 1e6), state });
  }
  return states;
}

/** The addresses of a service's tasks on one node (every network), without the prefix length. */
async function taskAddresses(service: string, node: string): Promise<Set<string>> {
  const tasks = (await tasksOf(service)).filter((t) => t.node === node);
  if (!tasks.length) return new Set();
  const info = JSON.parse(await docker('inspect', '--type', 'task', ...tasks.map((t) => t.id))) as {
    NetworksAttachments?: { Addresses?: string[] }[];
  }[];
  return new Set(
    info.flatMap((t) => (t.NetworksAttachments ?? []).flatMap((a) => (a.Addresses ?? []).map((x) => x.split('/')[0]))),
  );
}

/**
 * HAProxy's own view of its servers, polled inside the proxy container every 100 ms for
 * `seconds` through its Runtime API (`show servers state`): per poll, the time and each
 * server's address, operational state (0 down, 2 up) and admin state (bits 0x1 and 0x2: maintenance).
 */
type ServersPoll = { t: number; servers: { addr: string; op: number; admin: number }[] };

/** Polls HAProxy's `show servers state` in the proxy every 100 ms (a bounded loop pacing its own reads); `polls` fills as they come. */
function watchServers(seconds: number): { done: Promise<ServersPoll[]>; polls: ServersPoll[] } {
  const polls: ServersPoll[] = [];
  const script = `const net=require("net");const end=Date.now()+${seconds * 1000};
const poll=()=>{if(Date.now()>end)return;const t=Date.now();let out="";const c=net.connect("/run/swarm-controller-proxy/haproxy.sock");
c.on("data",(d)=>out+=d);c.on("end",()=>{const servers=out.split("\\n").filter((l)=>l&&!l.startsWith("#")&&l.split(" ").length>7).map((l)=>{const f=l.split(" ");return {addr:f[4],op:+f[5],admin:+f[6]};});
process.stdout.write(JSON.stringify({t,servers})+"\\n");setTimeout(poll,100);});c.on("error",()=>setTimeout(poll,100));c.end("show servers state\\n");};poll();`;
  const done = (async () => {
    const ids = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${tierNs}_proxy`))
      .split('\n')
      .filter(Boolean);
    const r = await new Promise<string>((resolve) => {
      const child = spawn('docker', ['exec', ids[0], 'node', '-e', script], { env: process.env });
      let out = '';
      let err = '';
      let pending = '';
      child.stdout.on('data', (d) => {
        out += d;
        pending += d;
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const l of lines) if (l) polls.push(JSON.parse(l) as ServersPoll);
      });
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => {
        if (code !== 0 || err) console.log(`server watch: exit ${code}: ${err.slice(0, 500)}`);
        resolve(out);
      });
    });
    return r
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ServersPoll);
  })();
  return { done, polls };
}

async function webObjectPhase(): Promise<string | undefined> {
  const s = (await controllerStatus(tier)) as { objects?: { id: string; phase: string }[] };
  return s.objects?.find((o) => o.id === `Service/${ns}/web`)?.phase;
}

/**
 * After a node's loss: when Swarm had every replica running elsewhere, and when the controller
 * had every replica's address in the table, every proxy in step and the object Ready.
 */
/** Waits until every running replica has answered the probe after `since` (the tail the assertions look at). */
function answeredByEvery(probe: { log: Probe[] }, since: number, what: string): Promise<void> {
  return eventually(
    () => new Set(probe.log.filter((p) => p.t > since && p.task).map((p) => p.task)).size === replicas,
    60_000,
    `every one of the ${replicas} tasks to answer the probe ${what}`,
  );
}

async function recovery(lost: ClusterNode): Promise<{ rescheduledAt: number; convergedAt: number }> {
  let rescheduledAt = 0;
  await eventually(
    async () => {
      const running = (await tasksOf(`${ns}_web`)).filter((t) => t.state === 'running');
      const ok = running.length === replicas && running.every((t) => t.node !== lost.name);
      if (ok) rescheduledAt = Date.now();
      return ok;
    },
    120_000,
    `${replicas} running tasks off ${lost.name}`,
  );
  await eventually(
    async () => {
      const st = await routeStatus(tier);
      const served = st.served.find((x) => x.route === `${ns}/web`);
      return (
        served?.backends[0]?.servers === replicas &&
        st.replicas.every((x) => x.inSync) &&
        (await webObjectPhase()) === 'Ready'
      );
    },
    60_000,
    'the controller to serve every replacement and report the service Ready',
  );
  return { rescheduledAt, convergedAt: Date.now() };
}

describe('faults on a multi-node Swarm', { timeout: 900_000 }, () => {
  before(async () => {
    nodes = useCluster();
    const workers = nodes.filter((n) => n.role === 'worker');
    assert.ok(workers.length >= 2, `two workers at least: ${JSON.stringify(nodes)}`);
    victim = workers[0]!;
    base = `http://${nodes[0].address}:${httpPort}`;
    await docker('swarm', 'update', '--dispatcher-heartbeat', heartbeat);
    await removeNamespace(ns);
    const onNode1 = ['node.labels.sc.node == n1'];
    tier = await startTier({
      ns: tierNs,
      httpPort,
      httpsPort: 18543,
      proxyConstraints: onNode1,
      controllerConstraints: onNode1,
    });
    // The app joins the tier's source: the controller in the cluster applies it (and reports it).
    writeFileSync(join(tier.dir, 'app.yaml'), app);
    await eventually(
      async () => (await webObjectPhase().catch(() => undefined)) === 'Ready',
      180_000,
      'the controller to apply the app and report it Ready',
    );
  });
  after(async () => {
    for (const n of nodes.filter((x) => x.role === 'worker')) {
      try {
        clusterScript('start-engine', n.name);
      } catch {
        /* reported by the test */
      }
    }
    // Suspend the tier's controller and wait a lease round, or it repairs the app as it goes.
    await controller(['suspend', '--set', tierNs, '--reason', 'test teardown']);
    await eventually(
      async () => (await controllerStatus(tier).catch(() => undefined))?.suspended === true,
      60_000,
      'the tier controller to report itself suspended',
    ).catch((err: Error) => console.log(`teardown: ${err.message}; removing anyway`));
    await removeNamespace(ns);
    await stopTier(tierNs);
    await docker('swarm', 'update', '--dispatcher-heartbeat', '5s');
  });

  it('a worker engine is killed: its tasks leave the rotation, are rescheduled, the controller converges; on return nothing is duplicated', async () => {
    // Before: every replica serves, some on the victim.
    await eventually(
      async () => sum(await containersPerNode(`${ns}_web`)) === replicas && (await tasksServing(24)).size === replicas,
      120_000,
      `all ${replicas} tasks serving`,
    );
    const before = await tasksOf(`${ns}_web`);
    const onVictim = new Set(before.filter((t) => t.node === victim.name).map((t) => short(t.containerId)));
    assert.ok(
      onVictim.size >= 1,
      `the victim ${victim.name} runs a task: ${JSON.stringify(before.map((t) => t.node))}`,
    );
    console.log(
      `before: ${replicas} tasks on ${JSON.stringify(before.map((t) => t.node).sort())}; killing ${victim.name}'s engine (${onVictim.size} tasks there), dispatcher heartbeat ${heartbeat}`,
    );

    const probe = startProbe(`${base}/web/`);
    await eventually(() => probe.log.some((p) => p.status === 200), 30_000, 'the probe answered before the kill');
    const t0 = Date.now();
    clusterScript('kill-engine', victim.name);

    // Swarm reschedules: replicas running again, none on the victim.
    const { rescheduledAt, convergedAt } = await recovery(victim);
    await answeredByEvery(probe, convergedAt, 'after convergence');
    const log = await probe.stop();

    const fromVictim = log.filter((p) => p.task && onVictim.has(p.task));
    const lastFromVictim = fromVictim.length ? fromVictim[fromVictim.length - 1].t : undefined;
    const after = log.filter((p) => p.t > (lastFromVictim ?? t0));
    const failed = log.filter((p) => p.error || (p.status ?? 0) >= 500);
    const tail = log.filter((p) => p.t > convergedAt);
    const states = await nodeStates(victim.id, t0 - 1000);
    const downAt = states.find((s) => s.state === 'down')?.t;
    const tables = await tableChanges(t0 - 1000);
    const tableOut = tables.find((x) => x.t >= t0 && x.servers < replicas)?.t;
    console.log(
      `fault timeline after the kill: node down ${seconds(downAt && downAt - t0)}, route table without its tasks ${seconds(tableOut && tableOut - t0)}, last answer from a killed node's task ${seconds(lastFromVictim && lastFromVictim - t0)}, ${replicas} tasks running elsewhere ${seconds(rescheduledAt - t0)}, controller converged ${seconds(convergedAt - t0)}`,
    );
    console.log(
      `requests during the fault: ${log.length} sent, ${fromVictim.filter((p) => p.t >= t0).length} answered by the killed node's tasks after the kill, ${failed.length} failed ${JSON.stringify(failed.slice(0, 5))}; table changes ${JSON.stringify(tables.map((x) => ({ s: ((x.t - t0) / 1000).toFixed(2), servers: x.servers })))}; node states ${JSON.stringify(states.map((x) => ({ s: ((x.t - t0) / 1000).toFixed(2), state: x.state })))}`,
    );
    assert.ok(downAt !== undefined, 'Swarm marked the node down');
    assert.ok(after.length > 100, 'requests kept being answered after the last answer from the killed node');
    assert.ok(
      !tail.some((p) => p.task && onVictim.has(p.task)),
      "no answer from the killed node's tasks once converged",
    );
    assert.equal(new Set(tail.map((p) => p.task).filter(Boolean)).size, replicas, 'the replacements serve');
    assert.deepEqual(failed, [], 'no request failed during the fault');

    // The engine comes back: it stops its stale containers; nothing is duplicated.
    const t1 = Date.now();
    clusterScript('start-engine', victim.name);
    await eventually(
      async () => (await docker('node', 'inspect', victim.id, '--format', '{{.Status.State}}')).trim() === 'ready',
      120_000,
      `${victim.name} ready again`,
    );
    await eventually(
      async () => !(await containersPerNode(`${ns}_web`))[victim.name],
      120_000,
      `no ${ns}_web container left on ${victim.name}`,
    );
    const backAt = Date.now();
    // No wait for a duplicate to show up: the engine's stale containers being gone is Swarm's
    // reconciliation of the returned node (its tasks' shutdown came from the manager), recorded above.
    const running = (await tasksOf(`${ns}_web`)).filter((t) => t.state === 'running');
    const perNode = await containersPerNode(`${ns}_web`);
    assert.equal(running.length, replicas, `exactly ${replicas} running tasks: ${JSON.stringify(running)}`);
    assert.equal(
      sum(perNode),
      replicas,
      `exactly ${replicas} containers across the nodes' engines: ${JSON.stringify(perNode)}`,
    );
    const serving = await tasksServing(40);
    assert.deepEqual(
      [...serving].sort(),
      running.map((t) => short(t.containerId)).sort(),
      'the proxy serves exactly the running tasks',
    );
    const s = await routeStatus(tier);
    assert.equal(s.served.find((x) => x.route === `${ns}/web`)?.backends[0]?.servers, replicas);
    assert.equal(await webObjectPhase(), 'Ready');
    console.log(
      `engine back: node ready and its stale containers gone ${seconds(backAt - t1)} after start-engine; ${replicas} tasks ${JSON.stringify(perNode)}, the proxy serves exactly those`,
    );
  });

  it("a worker node is lost (a power cut): the proxy's health checks take its tasks out of rotation before Swarm notices; no request fails", async () => {
    // After the first fault every task runs on one worker: spread them over both again.
    await docker('service', 'update', '--force', '--detach=false', '--quiet', `${ns}_web`);
    await eventually(
      async () => {
        const perNode = await runningPerNode(`${ns}_web`);
        return (
          Object.keys(perNode).length === 2 && sum(perNode) === replicas && (await tasksServing(24)).size === replicas
        );
      },
      120_000,
      `${replicas} tasks serving from both workers`,
    );
    const before = await tasksOf(`${ns}_web`);
    const lostNode = nodes.filter((n) => n.role === 'worker').find((n) => before.some((t) => t.node === n.name))!;
    const onLost = new Set(before.filter((t) => t.node === lostNode.name).map((t) => short(t.containerId)));
    const lostAddresses = await taskAddresses(`${ns}_web`, lostNode.name);
    console.log(
      `before: ${replicas} tasks on ${JSON.stringify(before.map((t) => t.node).sort())}; cutting ${lostNode.name} (${onLost.size} tasks, addresses ${[...lostAddresses].join(' ')}), route health check every 500 ms, dispatcher heartbeat ${heartbeat}`,
    );

    const watch = watchServers(25);
    const probe = startProbe(`${base}/web/`);
    // in rotation: operationally up (2) and not in maintenance (admin bits 0x1 forced, 0x2 inherited;
    // 0x4 only says the slot was declared disabled in the configuration before the agent enabled it)
    const inRotation = (p: ServersPoll) =>
      p.servers.some((x) => lostAddresses.has(x.addr) && x.op === 2 && (x.admin & 3) === 0);
    await eventually(
      () => probe.log.some((p) => p.status === 200) && watch.polls.some(inRotation),
      30_000,
      "the probe answered and the lost node's tasks seen in rotation before the cut",
    );
    const t0 = Date.now();
    clusterScript('kill-node', lostNode.name);

    const { rescheduledAt, convergedAt } = await recovery(lostNode);
    await answeredByEvery(probe, convergedAt, 'after convergence');
    const log = await probe.stop();
    const polls = await watch.done;
    assert.ok(
      polls.some((p) => p.t < t0 && inRotation(p)),
      "the lost node's tasks were in rotation before the cut",
    );
    const outAt = polls.find((p) => p.t >= t0 && !inRotation(p) && !polls.some((q) => q.t > p.t && inRotation(q)))?.t;
    const states = await nodeStates(lostNode.id, t0 - 1000);
    const downAt = states.find((x) => x.state === 'down')?.t;
    const tables = await tableChanges(t0 - 1000);
    const tableOut = tables.find((x) => x.t >= t0 && x.servers < replicas)?.t;
    const failed = log.filter((p) => p.error || (p.status ?? 0) >= 500);
    const after = log.filter((p) => p.t >= t0);
    const slow = after.filter((p) => p.ms > 500);
    console.log(
      `power cut timeline: out of HAProxy's rotation (health checks) ${seconds(outAt && outAt - t0)}, Swarm marked the node down ${seconds(downAt && downAt - t0)}, route table without its tasks ${seconds(tableOut && tableOut - t0)}, ${replicas} tasks running elsewhere ${seconds(rescheduledAt - t0)}, controller converged ${seconds(convergedAt - t0)}`,
    );
    console.log(
      `requests after the cut: ${after.length}, ${failed.length} failed ${JSON.stringify(failed.slice(0, 5))}, ${slow.length} slower than 500 ms (latest ${seconds(slow.length ? slow[slow.length - 1].t - t0 : undefined)} after the cut, slowest ${Math.max(0, ...after.map((p) => p.ms))} ms)`,
    );
    assert.ok(outAt !== undefined, "HAProxy took the lost node's tasks out of rotation");
    assert.ok(downAt !== undefined, 'Swarm marked the node down');
    assert.deepEqual(failed, [], 'no request failed: a connection to a dead task is retried on another');
    assert.ok(
      !log.filter((p) => p.t > convergedAt).some((p) => p.task && onLost.has(p.task)),
      "no answer from the lost node's tasks once converged",
    );

    clusterScript('start-engine', lostNode.name);
    await eventually(
      async () => (await docker('node', 'inspect', lostNode.id, '--format', '{{.Status.State}}')).trim() === 'ready',
      120_000,
      `${lostNode.name} ready again`,
    );
    await eventually(
      async () => !(await containersPerNode(`${ns}_web`))[lostNode.name],
      120_000,
      `no ${ns}_web container left on ${lostNode.name}`,
    );
    assert.equal(sum(await containersPerNode(`${ns}_web`)), replicas, 'nothing duplicated');
  });
});
