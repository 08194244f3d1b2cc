import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderHuman, renderJson } from '../../src/plan/render.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { buildServiceSpec } from '../../src/plan/swarm-spec.js';
import { desiredFrom, service } from '../helpers/manifests.js';

const ns = '  namespace: shop\n';
const before =
  service('web', 'image: app:1\nreplicas: 2\nenv: {DB_PASSWORD: pw-old-1, LOG: info}', ns) +
  service('worker', 'image: app:1', ns);
const after =
  service('web', 'image: app:2\nreplicas: 2\nenv: {DB_PASSWORD: pw-new-2, LOG: info}', ns) +
  service('worker', 'image: app:1\nreplicas: 4', ns) +
  service('new', 'image: app:1', ns);

function plan() {
  const old = desiredFrom(before);
  const live = {
    networks: [],
    routeConfigs: [],
    configs: [],
    secrets: [],
    services: old.services.map((s, i) => ({
      ID: `s${i}`,
      Version: { Index: 1 },
      Spec: buildServiceSpec(s, { applySet: 'shop', networkIds: new Map() }),
    })),
  };
  return buildPlan(desiredFrom(after), live, { applySet: 'shop' });
}

describe('plan renderers', () => {
  it('the human view: legend of present actions, a block per object, masked secrets, closing count', () => {
    assert.equal(
      renderHuman(plan()),
      `Actions: + create, ~ update in place, ^ scale

  + Service "shop/new" (shop_new) will be created
      reason: not in the Swarm
      spec.image: "app:1"

  ~ Service "shop/web" (shop_web) will be updated in place
      reason: image, env changed, restarts tasks
      spec.image: "app:1" -> "app:2"
      spec.env.DB_PASSWORD: (sensitive value changed)

  ^ Service "shop/worker" (shop_worker) will be scaled
      reason: replicas 1 -> 4, no task restart
      spec.replicas: 1 -> 4

Plan: 1 to create, 1 to update, 1 to scale, 0 to replace, 0 to delete (0 unchanged).
`,
    );
  });

  it('colours only when asked', () => {
    assert.doesNotMatch(renderHuman(plan()), /\x1b\[/);
    assert.match(renderHuman(plan(), { color: true }), /\x1b\[32m/);
  });

  it('the JSON view has the documented, stable shape and no secret values', () => {
    const doc = JSON.parse(renderJson(plan()));
    assert.deepEqual(Object.keys(doc), [
      'formatVersion',
      'applySet',
      'summary',
      'applicable',
      'changes',
      'blockers',
      'notes',
    ]);
    assert.equal(doc.formatVersion, 1);
    assert.deepEqual(doc.summary, { create: 1, update: 1, scale: 1, replace: 0, delete: 0, unchanged: 0 });
    assert.deepEqual(Object.keys(doc.changes[0]), [
      'id',
      'kind',
      'namespace',
      'name',
      'swarmName',
      'action',
      'reason',
      'restartsTasks',
      'adopt',
      'dependsOn',
      'fields',
      'before',
      'after',
    ]);
    assert.deepEqual(doc.changes[1].fields[1], {
      path: 'spec.env.DB_PASSWORD',
      before: '(sensitive)',
      after: '(sensitive)',
      sensitive: true,
    });
    assert.doesNotMatch(renderJson(plan()), /pw-old-1|pw-new-2/);
  });

  it('says so when nothing changes', () => {
    const d = desiredFrom(before);
    const live = {
      networks: [],
      routeConfigs: [],
      configs: [],
      secrets: [],
      services: d.services.map((s, i) => ({
        ID: `s${i}`,
        Version: { Index: 1 },
        Spec: buildServiceSpec(s, { applySet: 'shop', networkIds: new Map() }),
      })),
    };
    assert.equal(
      renderHuman(buildPlan(d, live, { applySet: 'shop' })),
      'No changes. The Swarm matches the manifests (2 objects up to date).\n',
    );
  });
});
