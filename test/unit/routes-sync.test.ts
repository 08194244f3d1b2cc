import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { executePlan } from '../../src/apply/execute-plan.js';
import type { SwarmService, SwarmTask } from '../../src/api/swarm-types.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { AgentStatus, ApplyResult } from '../../src/proxy/agent.js';
import type { RouteTable } from '../../src/proxy/route-table.js';
import { FakeClock } from '../../src/queue/clock.js';
import type { AgentAnswer, AgentClient, AgentStatsReader } from '../../src/routes/agent-client.js';
import type { TrafficStats } from '../../src/proxy/traffic-counters.js';
import { ProxyPusher } from '../../src/routes/proxy-pusher.js';
import { RouteSync } from '../../src/routes/route-sync.js';
import { proxyReplicas, readRouteFacts } from '../../src/routes/swarm-facts.js';
import { buildTable, serverWeights } from '../../src/routes/table-builder.js';
import {
  defaultStopGraceMs,
  servingTasks,
  stopGraceMs,
  stopReportMarginMs,
  stoppingCandidates,
  type StoppingClock,
} from '../../src/routes/stopping-tasks.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';
import { eventually } from '../helpers/eventually.js';
import { desiredFrom, route, service } from '../helpers/manifests.js';

const log = pino({ level: 'silent' });
const meta = '  namespace: shop\n';
const tier = service('proxy', 'image: proxy:1\nnetworks: [edge, control]\nsecrets: [shop-cert]', '  namespace: edge\n');
const edgeNets = `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: edge, namespace: edge}
---
apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: control, namespace: edge}
---
`;
const shopNets = `apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: edge, namespace: shop}
spec: {external: true, name: edge_edge}
---
apiVersion: swarm.controller/v1alpha1
kind: Network
metadata: {name: private, namespace: shop}
---
`;
const web = service('web', 'image: app:1\nexpose: [8080]\nnetworks: [edge]', meta);
const canary = service('canary', 'image: app:2\nexpose: [8080]\nnetworks: [edge]', meta);
const lonely = service('lonely', 'image: app:1\nexpose: [8080]\nnetworks: [private]', meta);

async function apply(text: string, set: string, swarm: FakeSwarm): Promise<void> {
  const desired = desiredFrom(text);
  const plan = buildPlan(desired, await swarm.readLiveState(), { applySet: set });
  assert.deepEqual(plan.blockers, []);
  for (const o of await executePlan(plan, swarm, { pollMs: 1 }))
    assert.equal(o.status, 'succeeded', `${o.change.id}: ${o.detail}`);
}

/** A Swarm with the proxy tier (set "edge") and the shop (set "shop"). */
async function shop(routes: string, extra = ''): Promise<FakeSwarm> {
  const swarm = new FakeSwarm();
  await swarm.createSecret('shop-cert', {}, 'pem');
  await swarm.createSecret('other-cert', {}, 'pem');
  await apply(edgeNets + tier, 'edge', swarm);
  await apply(shopNets + web + canary + lonely + extra + routes, 'shop', swarm);
  return swarm;
}

function svc(swarm: FakeSwarm, name: string): SwarmService {
  return [...swarm.services.values()].find((s) => s.Spec.Name === name)!;
}

let taskNo = 0;
/** A task of `service` in the given states, attached to every network of the service with an address from 10.0.<net>.<n>. */
function task(swarm: FakeSwarm, name: string, state = 'running', desired = 'running'): SwarmTask {
  const s = svc(swarm, name);
  const n = ++taskNo;
  const t: SwarmTask = {
    ID: `task${String(n).padStart(3, '0')}`,
    ServiceID: s.ID,
    DesiredState: desired,
    Status: { State: state },
    NetworksAttachments: (s.Spec.TaskTemplate?.Networks ?? []).map((net, i) => ({
      Network: {
        ID: net.Target!,
        Spec: { Name: [...swarm.networks.values()].find((x) => x.Id === net.Target)?.Name ?? '' },
      },
      Addresses: [`10.0.${i}.${n}/24`],
    })),
  };
  swarm.tasks.push(t);
  return t;
}

const demo = route('demo', 'pathPrefix: /demo\nservice: web\nport: 8080', meta);

describe('route table builder', () => {
  it('serves only tasks that are running and meant to run, by their address on the shared network', async () => {
    const swarm = await shop(demo);
    const a = task(swarm, 'shop_web');
    task(swarm, 'shop_web', 'starting');
    task(swarm, 'shop_web', 'running', 'shutdown');
    const facts = await readRouteFacts(swarm, 'edge_proxy');
    const t = buildTable(facts);
    assert.deepEqual(t.broken, []);
    assert.equal(t.routes.length, 1);
    const r = t.routes[0];
    assert.equal(r.name, 'shop/demo');
    assert.deepEqual(r.backends, [
      {
        service: 'shop_web',
        weight: 1,
        servers: [{ id: a.ID, address: a.NetworksAttachments![0].Addresses![0].split('/')[0], port: 8080 }],
      },
    ]);
    assert.deepEqual(r.timeouts, { connectMs: 2000, serverMs: 60000 });
    assert.match(t.checksum, /^sha256:[0-9a-f]{64}$/);
  });

  it("serves a service's stopping tasks only while it has no task running and meant to run", async () => {
    const swarm = await shop(demo);
    const facts = await readRouteFacts(swarm, 'edge_proxy');
    const seen: StoppingClock = new Map();
    const old = task(swarm, 'shop_web', 'running', 'shutdown');
    const ids = (tasks: SwarmTask[]) =>
      buildTable({
        ...facts,
        tasks: servingTasks(tasks, facts.services, seen, 1000),
      }).routes[0].backends[0].servers.map((x) => x.id);
    assert.deepEqual(ids([...facts.tasks, old]), [old.ID]);
    const next = task(swarm, 'shop_web');
    assert.deepEqual(ids([...facts.tasks, old, next]), [next.ID]);
    // still counted as stopping since it was first seen, in case the running one goes
    assert.deepEqual([...seen.keys()], [old.ID]);
  });

  it('leaves out a broken route, says why, and keeps the others', async () => {
    const swarm = await shop(
      demo +
        route('alone', 'pathPrefix: /alone\nservice: lonely\nport: 8080', meta) +
        route('secure', 'hosts: [a.example.com]\nservice: web\nport: 8080\ntls: {secret: other-cert}', meta),
      '',
    );
    task(swarm, 'shop_web');
    const t = buildTable(await readRouteFacts(swarm, 'edge_proxy'));
    assert.deepEqual(
      t.routes.map((r) => r.name),
      ['shop/demo'],
    );
    assert.deepEqual(
      t.broken.map((b) => b.route),
      ['shop/alone', 'shop/secure'],
    );
    assert.match(t.broken[0].problem, /service shop_lonely shares no network with the proxy service edge_proxy/);
    assert.match(t.broken[1].problem, /does not mount the TLS secret other-cert/);
  });

  it('reports every route broken when the proxy service is missing', async () => {
    const swarm = await shop(demo);
    const t = buildTable(await readRouteFacts(swarm, 'nope_proxy'));
    assert.deepEqual(t.routes, []);
    assert.deepEqual(t.broken, [{ route: 'shop/demo', problem: 'the proxy service does not exist' }]);
  });

  it('gives a contested host and path to the older route (two apply sets)', async () => {
    const swarm = await shop(demo);
    await apply(
      shopNets.replace(/shop/g, 'blog').replace('name: edge_edge', 'name: edge_edge') +
        service('web', 'image: app:1\nexpose: [8080]\nnetworks: [edge]', '  namespace: blog\n') +
        route('demo', 'pathPrefix: /demo\nservice: web\nport: 8080', '  namespace: blog\n'),
      'blog',
      swarm,
    );
    const t = buildTable(await readRouteFacts(swarm, 'edge_proxy'));
    assert.deepEqual(
      t.routes.map((r) => r.name),
      ['shop/demo'],
    );
    assert.match(t.broken[0].problem, /path \/demo are already served by route shop\/demo/);
  });

  it('gives each backend its weight as a share of traffic, whatever its number of tasks', async () => {
    const swarm = await shop(
      route(
        'demo',
        'pathPrefix: /demo\nbackends: [{service: web, port: 8080, weight: 90}, {service: canary, port: 8080, weight: 10}]',
        meta,
      ),
    );
    for (let i = 0; i < 3; i++) task(swarm, 'shop_web');
    task(swarm, 'shop_canary');
    const r = buildTable(await readRouteFacts(swarm, 'edge_proxy')).routes[0];
    const share = (service: string) => {
      const b = r.backends.find((x) => x.service === service)!;
      return b.weight * b.servers.length;
    };
    const total = share('shop_web') + share('shop_canary');
    assert.ok(Math.abs(share('shop_web') / total - 0.9) < 0.01, `web's share ${share('shop_web') / total}`);
    assert.deepEqual(
      r.backends.map((b) => `${b.service} ${b.weight}`),
      ['shop_canary 85', 'shop_web 256'],
    );
  });

  it('keeps server weights within 1-256 and drains a weight-0 backend', () => {
    const b = (weight: number, n: number) => ({
      service: `s${weight}-${n}`,
      weight,
      servers: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, address: '10.0.0.1', port: 80 })),
    });
    assert.deepEqual(
      serverWeights([b(256, 1), b(1, 100)]).map((x) => x.weight),
      [256, 1],
    );
    assert.deepEqual(
      serverWeights([b(5, 2), b(0, 2)]).map((x) => x.weight),
      [256, 0],
    );
    assert.deepEqual(
      serverWeights([b(7, 3)]).map((x) => x.weight),
      [7],
    );
  });

  it('finds proxy replicas by their address on the control network', async () => {
    const swarm = await shop(demo);
    const p = task(swarm, 'edge_proxy');
    task(swarm, 'edge_proxy', 'preparing');
    const facts = await readRouteFacts(swarm, 'edge_proxy');
    const control = p.NetworksAttachments!.find((n) => n.Network!.Spec!.Name === 'edge_control')!;
    assert.deepEqual(proxyReplicas(facts.proxy, facts.tasks, 'edge_control'), {
      replicas: [{ task: p.ID, address: control.Addresses![0].split('/')[0] }],
    });
    assert.match(
      proxyReplicas(facts.proxy, facts.tasks, 'other_net').problem!,
      /not attached to the control network other_net/,
    );
  });
});

/** An in-memory agent per address: records pushes, can be told to fail or refuse. */
class FakeAgents implements AgentClient, AgentStatsReader {
  served = new Map<string, { generation: number; checksum: string }>();
  tables = new Map<string, RouteTable>();
  /** HAProxy's status text per task (default UP), as getStats reports it. */
  health = new Map<string, string>();
  pushes: { address: string; generation: number }[] = [];
  down = new Set<string>();
  refuse = new Set<string>();
  async putTable(address: string, table: RouteTable): Promise<AgentAnswer<ApplyResult>> {
    await Promise.resolve(); // an answer comes later than the call
    if (this.down.has(address)) return { ok: false, status: 0, error: 'ECONNREFUSED' };
    this.pushes.push({ address, generation: table.generation });
    if (this.refuse.has(table.checksum)) return { ok: false, status: 422, error: 'HTTP 422: refused by haproxy -c' };
    this.served.set(address, { generation: table.generation, checksum: table.checksum });
    this.tables.set(address, table);
    return {
      ok: true,
      value: {
        generation: table.generation,
        checksum: table.checksum,
        action: 'runtime',
        runtimeCommands: 1,
        durationMs: 1,
      },
    };
  }
  statusReads = 0;
  async getStatus(address: string): Promise<AgentAnswer<AgentStatus>> {
    this.statusReads++;
    if (this.down.has(address)) return { ok: false, status: 0, error: 'ECONNREFUSED' };
    const s = this.served.get(address) ?? { generation: 0, checksum: 'sha256:empty' };
    return {
      ok: true,
      value: {
        ...s,
        appliedAt: null,
        routes: 0,
        reloads: 0,
        runtimeUpdates: 0,
        lastReloadMs: null,
        reloadPending: false,
        lastError: null,
        haproxy: { running: true, pid: 1 },
      },
    };
  }

  async getStats(address: string): Promise<AgentAnswer<TrafficStats>> {
    await Promise.resolve();
    if (this.down.has(address)) return { ok: false, status: 0, error: 'ECONNREFUSED' };
    const routes = (this.tables.get(address)?.routes ?? []).map((r) => ({
      route: r.name,
      backend: `rt_${r.name}`,
      inTable: true,
      servers: r.backends.flatMap((b) =>
        b.servers.map((v) => ({
          service: b.service,
          task: v.id,
          inTable: true,
          health: { status: this.health.get(v.id) ?? 'UP', check: 'L7OK', weight: b.weight },
        })),
      ),
    }));
    return { ok: true, value: { routes } as unknown as TrafficStats };
  }
}

/** On the fake clock: up to a minute of fake time, in 10 ms steps. */
const until = (clock: FakeClock, check: () => boolean, what: string) => eventually(check, 60_000, what, { clock });
/** The retries' jitter fixed: every backoff is its nominal delay. */
const noJitter = () => 0.5;

const noMetrics = { push: () => undefined, table: () => undefined, replicas: () => undefined };
const opts = {
  proxyService: 'edge_proxy',
  proxyNetwork: 'edge_control',
  pollIntervalMs: 10,
  fullReadIntervalMs: 10_000,
  verifyIntervalMs: 50,
};
const table = (generation: number, tag = String(generation)): RouteTable => ({
  generation,
  checksum: `sha256:${tag.padStart(64, '0')}`,
  routes: [],
});

describe('proxy pusher', () => {
  const pusherOn = (clock: FakeClock, agents: FakeAgents, verifyIntervalMs: number) =>
    new ProxyPusher({ client: agents, clock, random: noJitter, log, sink: noMetrics, verifyIntervalMs });

  it('sends only the newest table to a replica, never an older one after a newer one', async () => {
    const clock = new FakeClock();
    const agents = new FakeAgents();
    const pusher = pusherOn(clock, agents, 50);
    pusher.setReplicas([{ task: 't1', address: '10.0.0.1' }]);
    for (let g = 1; g <= 20; g++) pusher.setTable(table(g));
    await until(clock, () => agents.served.get('10.0.0.1')?.generation === 20, 'generation 20');
    const gens = agents.pushes.map((p) => p.generation);
    assert.deepEqual(
      gens,
      [...gens].sort((a, b) => a - b),
      `pushed in order ${gens.join(',')}`,
    );
    assert.ok(gens.length < 20, `coalesced: ${gens.length} pushes for 20 tables`);
    assert.equal(pusher.status()[0].inSync, true);
    pusher.stop();
  });

  it('retries a replica that does not answer, and catches up one that restarted', async () => {
    const clock = new FakeClock();
    const agents = new FakeAgents();
    agents.down.add('10.0.0.2');
    const pusher = pusherOn(clock, agents, 50);
    pusher.setReplicas([
      { task: 't1', address: '10.0.0.1' },
      { task: 't2', address: '10.0.0.2' },
    ]);
    pusher.setTable(table(3));
    await until(clock, () => agents.served.get('10.0.0.1')?.generation === 3, 'the healthy replica');
    await until(clock, () => pusher.status()[1].lastError !== null, 'the error to be reported');
    assert.match(pusher.status()[1].lastError!, /ECONNREFUSED/);
    agents.down.delete('10.0.0.2');
    await until(clock, () => agents.served.get('10.0.0.2')?.generation === 3, 'the recovered replica');
    agents.served.delete('10.0.0.1'); // the agent restarted with an empty table
    await until(clock, () => agents.served.get('10.0.0.1')?.generation === 3, 'the restarted replica to be caught up');
    assert.deepEqual(
      pusher.status().map((r) => r.inSync),
      [true, true],
    );
    pusher.stop();
  });

  it('does not resend a refused table through several status checks; the next table goes out', async () => {
    const clock = new FakeClock();
    const agents = new FakeAgents();
    const bad = table(2, 'bad');
    agents.refuse.add(bad.checksum);
    const pusher = pusherOn(clock, agents, 20);
    pusher.setReplicas([{ task: 't1', address: '10.0.0.1' }]);
    pusher.setTable(bad);
    await until(clock, () => pusher.status()[0].lastError !== null, 'the refusal');
    const checks = agents.statusReads;
    await until(clock, () => agents.statusReads >= checks + 5, 'five more status checks (every 20 ms)');
    assert.equal(agents.pushes.filter((p) => p.generation === 2).length, 1);
    assert.match(pusher.status()[0].lastError!, /generation 2: HTTP 422/);
    pusher.setTable(table(3));
    await until(clock, () => pusher.status()[0].inSync, 'generation 3');
    assert.equal(pusher.status()[0].lastError, null);
    pusher.stop();
  });
});

const routeSync = (
  swarm: FakeSwarm,
  client: AgentClient,
  options: typeof opts,
  clock: FakeClock,
  isActive: () => boolean,
) => new RouteSync({ swarm, client, options, clock, random: noJitter, log, metrics: noMetrics, isActive });

describe('route sync', () => {
  it('pushes a new generation when tasks change, and continues above what replicas already serve', async () => {
    const swarm = await shop(demo);
    task(swarm, 'edge_proxy');
    const proxyAddress = swarm.tasks[0]
      .NetworksAttachments!.find((n) => n.Network!.Spec!.Name === 'edge_control')!
      .Addresses![0].split('/')[0];
    const agents = new FakeAgents();
    agents.served.set(proxyAddress, { generation: 41, checksum: 'sha256:older' });
    let active = true;
    const clock = new FakeClock();
    const sync = routeSync(swarm, agents, opts, clock, () => active);
    sync.start();
    try {
      await until(clock, () => sync.status().replicas[0]?.inSync === true, 'the first table');
      assert.equal(sync.status().generation, 42);
      assert.equal(sync.status().servers, 0);
      const t = task(swarm, 'shop_web');
      await until(
        clock,
        () => sync.status().servers === 1 && sync.status().replicas[0].inSync,
        'the new task to be served',
      );
      assert.equal(sync.status().generation, 43);
      assert.equal(agents.served.get(proxyAddress)!.generation, 43);
      // A start-first update seen before its replacement: the old task is told to stop while its
      // container still runs (draining). With nothing else to serve its service, it stays.
      const readAgain: string[] = []; // the stopping tasks the sync read again by ID
      const listTasks = swarm.listTasks.bind(swarm);
      swarm.listTasks = async (f = {}) => {
        const found = await listTasks(f);
        if (f.id) readAgain.push(...found.filter((x) => x.DesiredState === 'shutdown').map((x) => x.ID));
        return found;
      };
      t.DesiredState = 'shutdown';
      const next = task(swarm, 'shop_web', 'starting');
      await until(clock, () => readAgain.includes(t.ID), 'a round that sees the task stopping');
      assert.equal(sync.status().generation, 43);
      assert.deepEqual(
        sync.status().served[0].backends[0].members?.map((m) => m.task),
        [t.ID],
      );
      // The replacement runs: the service serves from it alone, the stopping task leaves.
      next.Status = { State: 'running' };
      await until(
        clock,
        () => sync.status().servers === 1 && sync.status().generation === 44 && sync.status().replicas[0].inSync,
        'the replacement in place of the stopping task',
      );
      assert.deepEqual(
        sync.status().served[0].backends[0].members?.map((m) => m.task),
        [next.ID],
      );
      active = false;
      await until(clock, () => !sync.status().active, 'standby');
      assert.match(sync.status().note!, /standby/);
      assert.deepEqual(sync.status().replicas, []);
    } finally {
      sync.stop();
    }
  });

  it('reads everything again on an event: a new route is served, a removed one goes', async () => {
    const swarm = await shop('');
    task(swarm, 'edge_proxy');
    const w = task(swarm, 'shop_web');
    const clock = new FakeClock();
    const sync = routeSync(swarm, new FakeAgents(), { ...opts, pollIntervalMs: 10_000 }, clock, () => true);
    sync.start();
    try {
      await until(clock, () => sync.status().replicas[0]?.inSync === true, 'the first table');
      assert.equal(sync.status().routes, 0);
      const before = clock.now();
      await apply(shopNets + web + canary + lonely + demo, 'shop', swarm);
      sync.notify({ Type: 'config', Action: 'create' });
      await until(clock, () => sync.status().routes === 1 && sync.status().replicas[0].inSync, 'the new route');
      assert.ok(clock.now() - before < 10_000, 'served on the event, before the next poll');
      assert.deepEqual(sync.status().served, [
        {
          route: 'shop/demo',
          hosts: [],
          pathPrefix: '/demo',
          backends: [
            {
              service: 'shop_web',
              servers: 1,
              weight: 1,
              members: [{ task: w.ID, address: w.NetworksAttachments![0].Addresses![0].split('/')[0], port: 8080 }],
            },
          ],
        },
      ]);
    } finally {
      sync.stop();
    }
  });
  it("shows each server's health as every proxy replica's HAProxy sees it, and which replicas could not be read", async () => {
    const swarm = await shop(demo);
    task(swarm, 'edge_proxy');
    task(swarm, 'edge_proxy');
    const up = task(swarm, 'shop_web');
    const down = task(swarm, 'shop_web');
    const agents = new FakeAgents();
    agents.health.set(down.ID, 'DOWN');
    const clock = new FakeClock();
    const sync = new RouteSync({
      swarm,
      client: agents,
      stats: agents,
      options: { ...opts, observeIntervalMs: 100 },
      clock,
      random: noJitter,
      log,
      metrics: noMetrics,
      isActive: () => true,
    });
    sync.start();
    const members = () => sync.status().served[0]?.backends[0].members ?? [];
    const healthOf = (id: string) => members().find((m) => m.task === id)?.health;
    try {
      await until(clock, () => healthOf(down.ID) === 'down' && healthOf(up.ID) === 'up', 'both replicas read');
      const d = members().find((m) => m.task === down.ID)!;
      assert.deepEqual(
        d.proxies!.map((p) => [p.health, p.state, p.weight]),
        [
          ['down', 'DOWN', 1],
          ['down', 'DOWN', 1],
        ],
      );
      assert.deepEqual(
        sync.status().replicas.map((r) => r.statsError),
        [null, null],
      );
      assert.equal(sync.status().observeIntervalMs, 100);
      // one replica stops answering: it says why, the other's view still counts, and they no longer agree on nothing
      const gone = sync.status().replicas[1];
      agents.down.add(gone.address);
      await until(clock, () => sync.status().replicas[1].statsError === 'ECONNREFUSED', 'the failed read');
      assert.equal(healthOf(down.ID), 'down');
      assert.deepEqual(
        members()
          .find((m) => m.task === down.ID)!
          .proxies!.map((p) => p.health),
        ['down', 'unknown'],
      );
      // the other replica's check passes again
      agents.health.delete(down.ID);
      await until(clock, () => healthOf(down.ID) === 'up', 'the server back up');
    } finally {
      sync.stop();
    }
  });

  it('without a stats reader, the status has no health and no statsError', async () => {
    const swarm = await shop(demo);
    task(swarm, 'edge_proxy');
    task(swarm, 'shop_web');
    const clock = new FakeClock();
    const sync = routeSync(swarm, new FakeAgents(), opts, clock, () => true);
    sync.start();
    try {
      await until(clock, () => sync.status().replicas[0]?.inSync === true, 'the first table');
      const m = sync.status().served[0].backends[0].members![0];
      assert.equal('health' in m, false);
      assert.equal('statsError' in sync.status().replicas[0], false);
    } finally {
      sync.stop();
    }
  });
});

describe('route table builder during a rollout', () => {
  it('serves a route whose rollout names a canary service that is gone with its stable service alone', async () => {
    const swarm = await shop(demo);
    task(swarm, 'shop_web');
    const facts = await readRouteFacts(swarm, 'edge_proxy');
    const t = buildTable({ ...facts, rollouts: new Map([['shop/demo', { canary: 'shop_web-canary', weight: 0 }]]) });
    assert.deepEqual(t.broken, []);
    assert.deepEqual(
      t.routes[0].backends.map((b) => [b.service, b.weight]),
      [['shop_web', 1]],
    );
  });
});

describe('stopping tasks', () => {
  const t = (id: string, desired: string, state: string, service = 's1'): SwarmTask => ({
    ID: id,
    ServiceID: service,
    DesiredState: desired,
    Status: { State: state },
  });
  const services = [
    { ID: 's1', Spec: { Name: 'web' } },
    { ID: 's2', Spec: { Name: 'api', TaskTemplate: { ContainerSpec: { Image: 'x', StopGracePeriod: 30e9 } } } },
  ] as SwarmService[];

  it('reads again by ID the tasks that ran and are no longer meant to run', () => {
    const previous = [t('a', 'running', 'running'), t('b', 'running', 'running'), t('c', 'running', 'starting')];
    const running = [t('a', 'running', 'running'), t('d', 'running', 'running')];
    // b ran and is gone from the list: is it stopping? c never ran: nothing to keep.
    assert.deepEqual(stoppingCandidates(previous, running), ['b']);
    // a stopping task is looked at again each round until it stops
    assert.deepEqual(stoppingCandidates([t('b', 'shutdown', 'running')], running), ['b']);
  });

  it("serves a stopping task until its service's stop grace period and the margin have passed", () => {
    const seen: StoppingClock = new Map();
    // (s1's and s2's tasks are all stopping or not running yet; s3 has one running)
    const tasks = [
      t('a', 'running', 'running', 's3'),
      t('b', 'shutdown', 'running'),
      t('c', 'remove', 'running', 's2'),
      t('d', 'shutdown', 'complete'),
      t('e', 'running', 'starting'),
    ];
    const ids = (now: number) => servingTasks(tasks, services, seen, now).map((x) => x.ID);
    assert.equal(stopGraceMs(services[0]), defaultStopGraceMs);
    assert.equal(stopGraceMs(services[1]), 30_000);
    assert.deepEqual(ids(1000), ['a', 'b', 'c']);
    assert.deepEqual(ids(1000 + defaultStopGraceMs + stopReportMarginMs), ['a', 'b', 'c']);
    assert.deepEqual(ids(1001 + defaultStopGraceMs + stopReportMarginMs), ['a', 'c']);
    assert.deepEqual(ids(1001 + 30_000 + stopReportMarginMs), ['a']);
    // a task no longer stopping is forgotten
    assert.deepEqual([...seen.keys()].sort(), ['b', 'c']);
    servingTasks([t('a', 'running', 'running', 's3')], services, seen, 50_000);
    assert.deepEqual([...seen.keys()], []);
  });

  it("a stopping task whose container never reports stopped leaves after its service's stop grace period", async () => {
    const swarm = await shop(demo);
    task(swarm, 'edge_proxy');
    const t = task(swarm, 'shop_web');
    const clock = new FakeClock();
    const sync = routeSync(swarm, new FakeAgents(), opts, clock, () => true);
    sync.start();
    try {
      await until(clock, () => sync.status().servers === 1 && sync.status().replicas[0]?.inSync, 'the task served');
      // Told to stop on a node that no longer reports: its last known state stays "running".
      t.DesiredState = 'shutdown';
      const stoppedAt = clock.now();
      await until(clock, () => sync.status().servers === 0, 'the stopping task to leave');
      const after = clock.now() - stoppedAt;
      const bound = defaultStopGraceMs + stopReportMarginMs;
      assert.ok(after >= bound && after < bound + 1000, `left after ${after} ms, not just after ${bound} ms`);
    } finally {
      sync.stop();
    }
  });
});
