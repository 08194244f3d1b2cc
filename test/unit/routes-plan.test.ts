import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { currentRoutes, parseRouteConfig, routeConfigName } from '../../src/api/route-model.js';
import { executePlan } from '../../src/apply/execute-plan.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { serviceModelFromLive } from '../../src/plan/live-model.js';
import { buildServiceSpec } from '../../src/plan/swarm-spec.js';
import { diffModels } from '../../src/plan/field-diff.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';
import { desiredFrom, loadText, route, service } from '../helpers/manifests.js';

const meta = '  namespace: shop\n';
const web = service('web', 'image: app:1\nexpose: [8080]\nports: [{target: 9090, published: 19090, mode: host}]', meta);
const canary = service('web-canary', 'image: app:2\nexpose: [8080]', meta);
const demo = route(
  'demo',
  'pathPrefix: /demo\nstripPrefix: true\nservice: web\nport: 8080\nsticky: {}\nhealthCheck: {path: /healthz}',
  meta,
);

async function applied(text: string, swarm = new FakeSwarm(), opts: { prune?: boolean } = {}) {
  const desired = desiredFrom(text);
  const plan = buildPlan(desired, await swarm.readLiveState(), { applySet: 'shop', ...opts });
  assert.deepEqual(plan.blockers, []);
  const outcomes = await executePlan(plan, swarm, { pollMs: 1 });
  for (const o of outcomes) assert.equal(o.status, 'succeeded', `${o.change.id}: ${o.detail}`);
  return { swarm, plan };
}

describe('Route manifests', () => {
  it('fill in defaults and resolve services to Swarm names', () => {
    const r = desiredFrom(web + demo).routes[0];
    assert.equal(r.swarmName, 'shop_demo');
    assert.deepEqual(r.model, {
      labels: {},
      hosts: [],
      pathPrefix: '/demo',
      stripPrefix: true,
      backends: [{ service: 'shop_web', port: 8080, weight: 1 }],
      sticky: { cookie: 'SC_SERVER' },
      balance: 'roundrobin',
      healthCheck: { path: '/healthz', interval: '2s' },
      timeouts: { connect: '2s', server: '1m' },
      tls: null,
      redirectToHttps: false,
    });
  });

  it('accept a published port or an exposed one, and name the ports a service has', () => {
    assert.deepEqual(loadText(web + route('a', 'service: web\nport: 9090', meta)).diagnostics, []);
    const d = loadText(web + route('a', 'service: web\nport: 7000', meta)).diagnostics;
    assert.deepEqual(
      d.map((x) => `${x.code} ${x.field}`),
      ['SC3013 spec.port'],
    );
    assert.match(d[0].message, /does not listen on port 7000 \(it declares 8080, 9090\)/);
    assert.match(d[0].fix!, /add 7000 to spec.expose/);
  });

  it('report every cross-object problem with its field', () => {
    const text =
      web +
      canary +
      route('a', 'hosts: [shop.example.com]\nservice: web\nport: 8080\nbackends: [{service: web, port: 8080}]', meta) +
      route('b', 'service: web', meta) +
      route(
        'c',
        'backends: [{service: web, port: 8080, weight: 0}, {service: web-canary, port: 8080, weight: 0}]\nredirectToHttps: true',
        meta,
      ) +
      route('d', 'hosts: [shop.example.com]\nbackends: [{service: wbe, port: 8080}]', meta) +
      route('e', 'pathPrefix: /x', meta);
    const d = loadText(text).diagnostics.map((x) => `${x.object} ${x.code} ${x.field}`);
    assert.deepEqual(d.sort(), [
      'Route "shop/a" SC3015 spec.service',
      'Route "shop/b" SC3015 spec.service',
      'Route "shop/c" SC3014 spec.pathPrefix', // b and c both route any host with path /
      'Route "shop/c" SC3015 spec.backends',
      'Route "shop/c" SC3015 spec.redirectToHttps',
      'Route "shop/d" SC3012 spec.backends[0].service',
      'Route "shop/d" SC3014 spec.hosts[0]',
      'Route "shop/e" SC3012 spec',
    ]);
  });

  it('are refused when the route name is too long for a config name', () => {
    const long = 'r'.repeat(45);
    const d = loadText(web + route(long, 'service: web\nport: 8080', meta)).diagnostics;
    assert.deepEqual(
      d.map((x) => x.code),
      ['SC3006'],
    );
  });
});

describe('planning and applying routes', () => {
  it('stores a route as an owned config and plans nothing the second time', async () => {
    const { swarm, plan } = await applied(web + demo);
    assert.deepEqual(
      plan.changes.map((c) => `${c.action} ${c.id}`),
      ['create Service/shop/web', 'create Route/shop/demo'],
    );
    assert.deepEqual(plan.changes[1].dependsOn, ['Service/shop/web']);
    const configs = [...swarm.configs.values()];
    assert.equal(configs.length, 1);
    const desired = desiredFrom(web + demo).routes[0];
    assert.equal(configs[0].Spec.Name, routeConfigName('shop_demo', desired.model));
    const parsed = parseRouteConfig(configs[0]);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.route.model, desired.model);
    assert.equal(parsed.route.applySet, 'shop');
    const again = buildPlan(desiredFrom(web + demo), await swarm.readLiveState(), { applySet: 'shop' });
    assert.deepEqual(again.changes, []);
    assert.equal(again.unchanged, 2);
  });

  it('updates a route with a new config, removes the old one, and shows the fields', async () => {
    const { swarm } = await applied(web + demo);
    const changed = web + demo.replace('pathPrefix: /demo', 'pathPrefix: /shop');
    const { plan } = await applied(changed, swarm);
    assert.deepEqual(
      plan.changes.map((c) => `${c.action} ${c.id} ${c.restartsTasks}`),
      ['update Route/shop/demo false'],
    );
    assert.deepEqual(plan.changes[0].fields, [{ path: 'spec.pathPrefix', before: '/demo', after: '/shop' }]);
    const configs = [...swarm.configs.values()];
    assert.equal(configs.length, 1);
    assert.equal(currentRoutes(configs).routes[0].model.pathPrefix, '/shop');
  });

  it('picks the newest config when an update was interrupted, and cleans up the stale one', async () => {
    const { swarm } = await applied(web + demo);
    const old = [...swarm.configs.values()][0];
    // an interrupted update: the new config was written, the old one not yet removed
    const next = desiredFrom(web + demo.replace('/demo', '/next')).routes[0];
    await swarm.createConfig(
      routeConfigName(next.swarmName, next.model),
      { ...old.Spec.Labels },
      JSON.stringify({
        apiVersion: 'swarm.controller/v1alpha1',
        kind: 'Route',
        namespace: 'shop',
        name: 'demo',
        spec: next.model,
      }),
    );
    const live = await swarm.readLiveState();
    assert.equal(currentRoutes(live.routeConfigs).routes[0].model.pathPrefix, '/next');
    const p = buildPlan(desiredFrom(web + demo.replace('/demo', '/next')), live, { applySet: 'shop' });
    assert.deepEqual(
      p.changes.map((c) => `${c.action} ${c.reason}`),
      ['update remove 1 stale config(s) left by an interrupted update'],
    );
    await executePlan(p, swarm, { pollMs: 1 });
    assert.deepEqual(
      [...swarm.configs.values()].map((c) => c.Spec.Name),
      [routeConfigName(next.swarmName, next.model)],
    );
  });

  it('keeps a removed route unless pruning, then deletes it before its service', async () => {
    const { swarm } = await applied(web + demo);
    const kept = buildPlan(desiredFrom(web), await swarm.readLiveState(), { applySet: 'shop' });
    assert.deepEqual(kept.changes, []);
    assert.match(kept.notes[0].message, /route "shop_demo" is no longer in the manifests/);
    const other = service('other', 'image: app:1', meta);
    const pruned = buildPlan(desiredFrom(other), await swarm.readLiveState(), { applySet: 'shop', prune: true });
    assert.deepEqual(
      pruned.changes.map((c) => `${c.action} ${c.id}`),
      ['create Service/shop/other', 'delete Route/shop/demo', 'delete Service/shop/web'],
    );
    await executePlan(pruned, swarm, { pollMs: 1 });
    assert.equal(swarm.configs.size, 0);
  });

  it('refuses to touch a route of another apply set', async () => {
    const { swarm } = await applied(web + demo);
    const p = buildPlan(desiredFrom(web + demo.replace('/demo', '/x')), await swarm.readLiveState(), {
      applySet: 'other',
      adopt: true,
    });
    assert.deepEqual(
      p.blockers.filter((b) => b.id === 'Route/shop/demo').map((b) => b.code),
      ['SC4001'],
    );
  });

  it('blocks a route whose TLS secret, or a service whose secret, does not exist', async () => {
    const text =
      service(
        'web',
        'image: app:1\nexpose: [8080]\nsecrets: [db-password, {name: api-key, target: key, mode: "0400"}]',
        meta,
      ) +
      route(
        'tls',
        'hosts: [shop.example.com]\nservice: web\nport: 8080\ntls: {secret: shop-pem}\nredirectToHttps: true',
        meta,
      );
    const swarm = new FakeSwarm();
    const p = buildPlan(desiredFrom(text), await swarm.readLiveState(), { applySet: 'shop' });
    assert.deepEqual(
      p.blockers.map((b) => `${b.id} ${b.code} ${b.message}`),
      [
        'Service/shop/web SC3011 secret "db-password" used by service "shop_web" does not exist in the Swarm',
        'Service/shop/web SC3011 secret "api-key" used by service "shop_web" does not exist in the Swarm',
        'Route/shop/tls SC3011 secret "shop-pem" used by route "shop_tls" does not exist in the Swarm',
      ],
    );
    for (const name of ['db-password', 'api-key', 'shop-pem']) await swarm.createSecret(name, {}, 'x');
    await applied(text, swarm);
  });
});

describe('service secrets', () => {
  it('are written with their IDs and read back without a diff', async () => {
    const text = service(
      'web',
      'image: app:1\nsecrets: [db-password, {name: api-key, target: key, mode: "400", uid: "1000"}]',
      meta,
    );
    const d = desiredFrom(text).services[0];
    assert.deepEqual(d.model.secrets, [
      { name: 'db-password', target: 'db-password', uid: '0', gid: '0', mode: '0444' },
      { name: 'api-key', target: 'key', uid: '1000', gid: '0', mode: '0400' },
    ]);
    const spec = buildServiceSpec(d, {
      applySet: 'shop',
      networkIds: new Map(),
      secretIds: new Map([
        ['db-password', 'sec1'],
        ['api-key', 'sec2'],
      ]),
    });
    assert.deepEqual(spec.TaskTemplate!.ContainerSpec!.Secrets, [
      { File: { Name: 'db-password', UID: '0', GID: '0', Mode: 0o444 }, SecretID: 'sec1', SecretName: 'db-password' },
      { File: { Name: 'key', UID: '1000', GID: '0', Mode: 0o400 }, SecretID: 'sec2', SecretName: 'api-key' },
    ]);
    const live = serviceModelFromLive({ ID: 's', Version: { Index: 1 }, Spec: spec }, new Map());
    assert.deepEqual(diffModels(live, d.model), []);
  });
});
