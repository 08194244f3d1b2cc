import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { executePlan } from '../../src/apply/execute-plan.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';
import { config, desiredFrom, loadText, network, service } from '../helpers/manifests.js';

const ns = (n: string) => `  namespace: ${n}\n`;

async function apply(desired: DesiredState, swarm: FakeSwarm, applySet: string) {
  const plan = buildPlan(desired, await swarm.readLiveState(), { applySet });
  assert.deepEqual(plan.blockers, []);
  for (const o of await executePlan(plan, swarm, { pollMs: 1 }))
    assert.equal(o.status, 'succeeded', `${o.change.id}: ${o.detail}`);
  return plan;
}

describe('names as Swarm and stack deploy have them', () => {
  it('a service keeps underscores: <namespace>_<name> splits at the first underscore', () => {
    const d = desiredFrom(service('payment_gateway', 'image: a', ns('shop')));
    assert.equal(d.services[0].swarmName, 'shop_payment_gateway');
  });

  it('an explicitly named network is unprefixed, one object for every namespace that declares it alike', () => {
    const d = desiredFrom(
      network('edge', 'name: proxy\nattachable: true', ns('shop')) +
        network('edge', 'name: proxy\nattachable: true', ns('blog')) +
        service('web', 'image: a\nnetworks: [edge]', ns('shop')) +
        service('web', 'image: a\nnetworks: [edge]', ns('blog')),
    );
    assert.deepEqual(
      d.networks.map((n) => [n.swarmName, n.shared]),
      [['proxy', true]],
    );
    assert.deepEqual(
      d.services.map((s) => s.model.networks[0].name),
      ['proxy', 'proxy'],
    );
  });

  it('refuses one explicit name declared with two specs', () => {
    const { diagnostics } = loadText(
      network('edge', 'name: proxy', ns('shop')) + network('edge', 'name: proxy\ninternal: true', ns('blog')),
    );
    assert.deepEqual(
      diagnostics.map((x) => [x.code, x.field]),
      [['SC3001', 'spec.name']],
    );
  });

  it('another apply set uses a shared network as it is, with a note, where it would otherwise be blocked', async () => {
    const swarm = new FakeSwarm();
    const shop = desiredFrom(
      network('edge', 'name: proxy', ns('shop')) + service('web', 'image: a\nnetworks: [edge]', ns('shop')),
    );
    await apply(shop, swarm, 'shop');
    const blog = desiredFrom(
      network('edge', 'name: proxy\nattachable: true', ns('blog')) +
        service('web', 'image: a\nnetworks: [edge]', ns('blog')),
    );
    const plan = await apply(blog, swarm, 'blog');
    assert.deepEqual(
      plan.changes.map((c) => [c.id, c.action]),
      [['Service/blog/web', 'create']],
    );
    assert.deepEqual(
      plan.notes.map((n) => n.message),
      ['network "proxy" is shared: it exists (owned by apply set "shop") and is used as it is'],
    );
    const live = await swarm.readLiveState();
    assert.deepEqual(
      live.services.map((s) => s.Spec.TaskTemplate?.Networks?.[0]?.Target === live.networks[0].Id),
      [true, true],
    );
  });

  it('a named config is one object under exactly that name; a new content is refused (SC4010)', async () => {
    const swarm = new FakeSwarm();
    const d = (data: string) =>
      desiredFrom(
        config('caddy', `name: caddy_config\ndata: "${data}"`, ns('shop')) +
          service('web', 'image: a\nconfigs: [{name: caddy, target: /etc/caddy}]', ns('shop')),
      );
    await apply(d('a'), swarm, 'shop');
    const live = await swarm.readLiveState();
    assert.deepEqual(
      live.configs.map((c) => c.Spec.Name),
      ['caddy_config'],
    );
    assert.equal(live.services[0].Spec.TaskTemplate?.ContainerSpec?.Configs?.[0]?.ConfigName, 'caddy_config');
    assert.equal(buildPlan(d('a'), live, { applySet: 'shop' }).changes.length, 0);
    const changed = buildPlan(d('b'), live, { applySet: 'shop' });
    assert.deepEqual(
      changed.blockers.map((b) => [b.code, b.id]),
      [['SC4010', 'Config/shop/caddy']],
    );
  });
});
