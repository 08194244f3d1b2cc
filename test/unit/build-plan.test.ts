import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan, type PlanOptions } from '../../src/plan/build-plan.js';
import { maskPlan } from '../../src/plan/render-mask.js';
import { renderHuman, renderJson } from '../../src/plan/render.js';
import { buildNetworkCreate, buildServiceSpec } from '../../src/plan/swarm-spec.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import type { LiveState, SwarmService } from '../../src/api/swarm-types.js';
import { desiredFrom, network, service } from '../helpers/manifests.js';

const opts: PlanOptions = { applySet: 'shop' };
const base =
  network('backend') +
  service('web', 'image: app:1\nreplicas: 2\nnetworks: [backend]\nenv: {LOG: info, API_TOKEN: abc}') +
  service('worker', 'image: app:1');

/** The live state a previous apply of `text` by apply set `set` would have left. */
function appliedState(text: string, set = 'shop'): LiveState {
  const d = desiredFrom(text);
  const networks = d.networks.map((n, i) => {
    const b = buildNetworkCreate(n, set);
    return {
      Id: `n${i}`,
      Name: b.Name,
      Driver: b.Driver,
      Scope: 'swarm',
      Attachable: b.Attachable,
      Internal: b.Internal,
      Options: b.Options,
      Labels: b.Labels,
      IPAM: { Driver: 'default', Config: [{ Subnet: `10.213.${i}.0/24`, Gateway: `10.213.${i}.1` }] },
    };
  });
  const ids = new Map(networks.map((n) => [n.Name, n.Id]));
  const services = d.services.map((s, i): SwarmService => ({
    ID: `s${i}`,
    Version: { Index: 10 + i },
    Spec: buildServiceSpec(s, { applySet: set, networkIds: ids }),
  }));
  return { networks, services, routeConfigs: [], configs: [], secrets: [] };
}

const plan = (desired: DesiredState, live: LiveState, o: Partial<PlanOptions> = {}) =>
  buildPlan(desired, live, { ...opts, ...o });
const actions = (p: ReturnType<typeof plan>) => p.changes.map((c) => `${c.action} ${c.id}`);

describe('buildPlan', () => {
  it('creates everything on an empty Swarm, networks first', () => {
    const p = plan(desiredFrom(base), { services: [], networks: [], routeConfigs: [], configs: [], secrets: [] });
    assert.deepEqual(actions(p), ['create Network/backend', 'create Service/web', 'create Service/worker']);
    assert.deepEqual(p.changes[1].dependsOn, ['Network/backend']);
    assert.deepEqual(p.changes[2].dependsOn, []);
  });

  it('plans nothing when the Swarm already matches', () => {
    const p = plan(desiredFrom(base), appliedState(base));
    assert.deepEqual(p.changes, []);
    assert.equal(p.unchanged, 3);
  });

  it('plans an image change as exactly that change, restarting tasks', () => {
    const p = plan(
      desiredFrom(base.replace('image: app:1\n  replicas', 'image: app:2\n  replicas')),
      appliedState(base),
    );
    assert.deepEqual(actions(p), ['update Service/web']);
    assert.deepEqual(p.changes[0].fields, [{ path: 'spec.image', before: 'app:1', after: 'app:2' }]);
    assert.equal(p.changes[0].restartsTasks, true);
  });

  it('plans a replica change as a scale that restarts nothing', () => {
    const p = plan(desiredFrom(base.replace('replicas: 2', 'replicas: 5')), appliedState(base));
    assert.deepEqual(actions(p), ['scale Service/web']);
    assert.deepEqual(p.changes[0].fields, [{ path: 'spec.replicas', before: 2, after: 5 }]);
    assert.equal(p.changes[0].restartsTasks, false);
  });

  it('plans an update-policy change as an update that restarts nothing', () => {
    const p = plan(
      desiredFrom(base.replace('replicas: 2', 'replicas: 2\n  updateConfig: {parallelism: 2}')),
      appliedState(base),
    );
    assert.deepEqual(p.changes[0].fields, [{ path: 'spec.updateConfig.parallelism', before: 1, after: 2 }]);
    assert.equal(p.changes[0].action, 'update');
    assert.equal(p.changes[0].restartsTasks, false);
  });

  it('keeps the real values of secret-looking env vars, which only the view masks, showing that they changed', () => {
    const p = plan(desiredFrom(base.replace('API_TOKEN: abc', 'API_TOKEN: xyz')), appliedState(base));
    assert.deepEqual(p.changes[0].fields, [{ path: 'spec.env.API_TOKEN', before: 'abc', after: 'xyz' }]);
    const shown = maskPlan(p);
    assert.deepEqual(shown.changes[0].fields, [
      { path: 'spec.env.API_TOKEN', before: '(sensitive)', after: '(sensitive)', sensitive: true },
    ]);
    assert.doesNotMatch(JSON.stringify(shown), /xyz|abc/);
    assert.doesNotMatch(renderJson(p) + renderHuman(p), /xyz|abc/);
    const q = plan(desiredFrom(base.replace('LOG: info', 'LOG: debug')), appliedState(base));
    assert.doesNotMatch(renderJson(q, { maskEnv: ['LOG'] }), /debug|"info"/);
    assert.doesNotMatch(renderHuman(q, { maskEnv: ['LOG'] }), /debug|"info"/);
    assert.match(renderHuman(q), /"info" -> "debug"/, 'shown without --mask-env');
  });

  it('refuses a mode or endpoint-mode change without --allow-replace, and plans a replace with it', () => {
    const changed = desiredFrom(base.replace('image: app:1\n---', 'image: app:1\n  mode: global\n---'));
    const blocked = plan(changed, appliedState(base));
    assert.deepEqual(
      blocked.blockers.map((b) => b.code),
      ['SC4003'],
    );
    const allowed = plan(changed, appliedState(base), { allowReplace: true });
    assert.deepEqual(allowed.blockers, []);
    assert.deepEqual(actions(allowed), ['replace Service/worker']);
    assert.match(allowed.changes[0].reason, /mode cannot change in place/);
  });

  it('replaces a changed network and reattaches its services', () => {
    const changed = desiredFrom(base.replace('name: backend\n', 'name: backend\nspec:\n  internal: true\n'));
    assert.deepEqual(
      plan(changed, appliedState(base)).blockers.map((b) => b.code),
      ['SC4003'],
    );
    const p = plan(changed, appliedState(base), { allowReplace: true });
    assert.deepEqual(actions(p), ['replace Network/backend', 'update Service/web']);
    assert.deepEqual(p.changes[1].dependsOn, ['Network/backend']);
    assert.match(p.changes[1].reason, /reattach/);
  });

  it('keeps objects that left the manifests unless --prune, and deletes services before their network', () => {
    const only = desiredFrom(service('worker', 'image: app:1'));
    const kept = plan(only, appliedState(base));
    assert.deepEqual(kept.changes, []);
    assert.equal(kept.notes.length, 2);
    const pruned = plan(only, appliedState(base), { prune: true });
    assert.deepEqual(actions(pruned), ['delete Service/web', 'delete Network/backend']);
    assert.deepEqual(pruned.changes[1].dependsOn, ['Service/web']);
  });

  it('never prunes when the manifests are empty, and caps deletions', () => {
    const empty = plan({ networks: [], services: [], routes: [], configs: [], secrets: [] }, appliedState(base), {
      prune: true,
    });
    assert.deepEqual(
      empty.blockers.map((b) => b.code),
      ['SC4004'],
    );
    const capped = plan(desiredFrom(network('other')), appliedState(base), { prune: true, maxDeletions: 2 });
    assert.deepEqual(
      capped.blockers.map((b) => b.code),
      ['SC4005'],
    );
    const forced = plan(desiredFrom(network('other')), appliedState(base), {
      prune: true,
      maxDeletions: 2,
      force: true,
    });
    assert.deepEqual(forced.blockers, []);
  });

  it('treats objects of another apply set as conflicts, and never prunes them', () => {
    const theirs = appliedState(base, 'billing');
    const p = plan(desiredFrom(base), theirs);
    assert.deepEqual(
      p.blockers.map((b) => `${b.code} ${b.id}`),
      ['SC4001 Network/backend', 'SC4001 Service/web', 'SC4001 Service/worker'],
    );
    const pruning = plan(desiredFrom(service('x', 'image: a')), theirs, { prune: true });
    assert.deepEqual(actions(pruning), ['create Service/x']);
  });

  it('treats unmanaged objects with a manifest name as conflicts unless --adopt', () => {
    const live = appliedState(base);
    for (const s of live.services) s.Spec.Labels = { team: 'x' };
    const p = plan(desiredFrom(service('web', 'image: app:1\nreplicas: 2\nenv: {LOG: info, API_TOKEN: abc}')), {
      services: live.services,
      networks: [],
      routeConfigs: [],
      configs: [],
      secrets: [],
    });
    assert.deepEqual(
      p.blockers.map((b) => b.code),
      ['SC4002'],
    );
    const adopted = plan(
      desiredFrom(service('web', 'image: app:1\nreplicas: 2\nenv: {LOG: info, API_TOKEN: abc}')),
      { services: live.services, networks: [], routeConfigs: [], configs: [], secrets: [] },
      { adopt: true },
    );
    assert.equal(adopted.changes[0].adopt, true);
    assert.equal(adopted.changes[0].action, 'update');
  });

  it('adopts a network another tool made without recreating it, and reads its ownership from its record', () => {
    const live = appliedState(base);
    const made = live.networks[0];
    const owned = { ...made.Labels };
    made.Labels = { 'com.docker.stack.namespace': 'shop' };
    const desired = desiredFrom(network('backend'));
    const adopted = plan(desired, { ...live, services: [] }, { adopt: true });
    assert.deepEqual(
      adopted.changes.map((c) => [c.action, c.id, c.restartsTasks, c.adopt]),
      [['update', 'Network/backend', false, true]],
    );
    assert.match(
      adopted.changes[0].reason,
      /^adopt: labels only, restarts nothing \(recorded in config swarm-controller\.network\.n0;/,
    );
    // After apply: the record carries the labels an owned network would, and the plan is empty.
    const record = { ID: 'c1', Version: { Index: 1 }, Spec: { Name: 'swarm-controller.network.n0', Labels: owned } };
    const after = plan(desired, { ...live, services: [], configs: [record] });
    assert.deepEqual(after.changes, []);
    // A record of another network ID (one removed and made again under the name) owns nothing.
    const stale = { ...record, Spec: { ...record.Spec, Name: 'swarm-controller.network.old' } };
    assert.deepEqual(
      plan(desired, { ...live, services: [], configs: [stale] }).blockers.map((b) => b.code),
      ['SC4002'],
    );
  });

  it('does not count a copied managed-by label without a spec hash as ownership', () => {
    const live = appliedState(base);
    const fake = live.services[1];
    delete fake.Spec.Labels!['swarm.controller/spec-hash'];
    const p = plan(
      desiredFrom(
        network('backend') +
          service('web', 'image: app:1\nreplicas: 2\nnetworks: [backend]\nenv: {LOG: info, API_TOKEN: abc}'),
      ),
      live,
      { prune: true },
    );
    assert.deepEqual(actions(p), []);
  });

  it('blocks deleting a network that a service outside the plan still uses', () => {
    const live = appliedState(base);
    live.services.push({
      ID: 'other',
      Version: { Index: 1 },
      Spec: { Name: 'someone-else', TaskTemplate: { ContainerSpec: { Image: 'x' }, Networks: [{ Target: 'n0' }] } },
    });
    const p = plan(
      desiredFrom(
        service('web', 'image: app:1\nreplicas: 2\nenv: {LOG: info, API_TOKEN: abc}') +
          service('worker', 'image: app:1'),
      ),
      live,
      { prune: true },
    );
    assert.deepEqual(
      p.blockers.map((b) => b.code),
      ['SC4006'],
    );
  });
});
