import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectOldVersions } from '../../src/apply/data-versions.js';
import { executePlan } from '../../src/apply/execute-plan.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import { loadManifests } from '../../src/manifest/load.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { renderHuman, renderJson } from '../../src/plan/render.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';
import { config, desiredFrom, loadText, secret, service } from '../helpers/manifests.js';

const meta = '  namespace: shop\n';
const password = 'hunter2-very-secret-value';

function withEnv<T>(vars: Record<string, string>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

const web = (extra = '') =>
  service(
    'web',
    `image: app:1\nsecrets: [db-password]\nconfigs: [{name: app-conf, target: /etc/app.conf}]${extra}`,
    meta,
  );
const manifests = (conf: string, pass = password) =>
  withEnv({ SHOP_DB_PASSWORD: pass }, () =>
    desiredFrom(
      config('app-conf', `data: "${conf}"`, meta) + secret('db-password', 'env: SHOP_DB_PASSWORD', meta) + web(),
    ),
  );

async function apply(desired: DesiredState, swarm: FakeSwarm, prune = false) {
  const plan = buildPlan(desired, await swarm.readLiveState(), { applySet: 'shop', prune });
  assert.deepEqual(plan.blockers, []);
  const outcomes = await executePlan(plan, swarm, { pollMs: 1 });
  for (const o of outcomes) assert.equal(o.status, 'succeeded', `${o.change.id}: ${o.detail}`);
  return plan;
}

describe('Config and Secret manifests', () => {
  it('read content inline or from the environment; services mount the version named after the content', () => {
    const d = manifests('x=1');
    assert.equal(d.configs[0].swarmName, 'shop_app-conf');
    assert.match(d.configs[0].model.content, /^sha256:[0-9a-f]{64}$/);
    const s = d.services[0].model;
    assert.match(s.secrets[0].name, /^shop_db-password\.[0-9a-f]{10}$/);
    assert.deepEqual(
      { ...s.configs[0], name: '' },
      { name: '', target: '/etc/app.conf', uid: '0', gid: '0', mode: '0444' },
    );
    assert.notEqual(
      manifests('x=2').services[0].model.configs[0].name,
      s.configs[0].name,
      'a new content is a new version',
    );
    assert.equal(
      manifests('x=1').services[0].model.configs[0].name,
      s.configs[0].name,
      'the same content, the same name',
    );
  });

  it('refuse a missing source, two sources, an unset variable and plain-text data in a Secret, at the field', () => {
    const d = withEnv(
      {},
      () =>
        loadText(
          config('a', 'retain: 2', meta) +
            config('b', 'data: x\nenv: B', meta) +
            secret('c', 'env: SC_TEST_SURELY_UNSET', meta) +
            secret('d', 'data: x', meta) +
            config('e', 'name: other', meta),
        ).diagnostics,
    );
    assert.deepEqual(
      d.map((x) => `${x.code} ${x.object} ${x.field}`),
      [
        'SC3016 Config "shop/a" spec',
        'SC3016 Config "shop/b" spec.env',
        'SC3018 Secret "shop/c" spec.env',
        'SC7008 Secret "shop/d" spec.data',
        'SC3016 Config "shop/e" spec',
      ],
    );
    assert.match(d.find((x) => x.code === 'SC3018')!.message, /SC_TEST_SURELY_UNSET is not set/);
  });

  it('read a file next to the manifest, and refuse one outside the -f directory', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sc-data-'));
    const dir = join(root, 'shop');
    mkdirSync(dir);
    writeFileSync(join(dir, 'app.conf'), 'workers=4\n');
    writeFileSync(join(root, 'outside.conf'), 'no\n');
    symlinkSync(join(root, 'outside.conf'), join(dir, 'link.conf'));
    writeFileSync(
      join(dir, 'm.yaml'),
      config('ok', 'file: app.conf', meta) +
        config('up', 'file: ../outside.conf', meta) +
        config('link', 'file: link.conf', meta) +
        config('gone', 'file: nope.conf', meta),
    );
    const loaded = await loadManifests([dir]);
    assert.deepEqual(
      loaded.diagnostics.map((x) => `${x.code} ${x.object ?? ''} line ${x.position?.line}`),
      [
        'SC1009  line 1', // the walker refuses any link out of the directory, manifest or not
        'SC3017 Config "shop/up" line 15',
        'SC3017 Config "shop/link" line 23',
        'SC3017 Config "shop/gone" line 31',
      ],
    );
    assert.match(loaded.diagnostics[1].message, /outside the manifest directory/);
    assert.match(loaded.diagnostics[2].message, /outside the manifest directory/);
    assert.match(loaded.diagnostics[3].message, /cannot read "nope.conf" \(ENOENT\)/);
    assert.ok(
      loaded.diagnostics.every((x) => x.object !== 'Config "shop/ok"'),
      'the file next to the manifest is read',
    );
    writeFileSync(join(dir, 'm.yaml'), config('ok', 'file: app.conf', meta));
    const one = await loadManifests([join(dir, 'm.yaml')]);
    assert.equal(
      one.desired.configs[0].model.size,
      'workers=4\n'.length,
      'a single file given with -f reads next to itself',
    );
  });
});

describe('planning and applying configs and secrets', () => {
  it('creates versions before the services that mount them, and never shows a secret value', async () => {
    const swarm = new FakeSwarm();
    const plan = buildPlan(manifests('x=1'), await swarm.readLiveState(), { applySet: 'shop' });
    assert.deepEqual(
      plan.changes.map((c) => `${c.action} ${c.id}`),
      ['create Config/shop/app-conf', 'create Secret/shop/db-password', 'create Service/shop/web'],
    );
    assert.deepEqual(plan.changes[2].dependsOn.sort(), ['Config/shop/app-conf', 'Secret/shop/db-password']);
    for (const text of [renderHuman(plan), renderJson(plan)])
      assert.ok(!text.includes(password), 'the secret value is not in the plan');
    await apply(manifests('x=1'), swarm);
    const svc = [...swarm.services.values()][0].Spec.TaskTemplate!.ContainerSpec!;
    const version = [...swarm.configs.values()].find((c) => c.Spec.Name.startsWith('shop_app-conf.'))!;
    assert.deepEqual(svc.Configs, [
      {
        File: { Name: '/etc/app.conf', UID: '0', GID: '0', Mode: 0o444 },
        ConfigID: version.ID,
        ConfigName: version.Spec.Name,
      },
    ]);
    assert.equal(Buffer.from(version.Spec.Data!, 'base64').toString(), 'x=1');
    const again = buildPlan(manifests('x=1'), await swarm.readLiveState(), { applySet: 'shop' });
    assert.deepEqual(again.changes, [], 'nothing to do the second time');
  });

  it('shows a content change as one change of the config, the service moving to it by name', async () => {
    const swarm = new FakeSwarm();
    await apply(manifests('x=1'), swarm);
    const plan = buildPlan(manifests('x=2'), await swarm.readLiveState(), { applySet: 'shop' });
    assert.deepEqual(
      plan.changes.map((c) => `${c.action} ${c.id}`),
      ['update Config/shop/app-conf', 'update Service/shop/web'],
    );
    assert.match(
      plan.changes[0].reason,
      /content changed \(sha256:[0-9a-f]{12}… -> sha256:[0-9a-f]{12}…, inline\): a new version; shop_web moves to it/,
    );
    assert.deepEqual(
      plan.changes[1].fields.map((f) => f.path),
      ['spec.configs["/etc/app.conf"].name'],
    );
    assert.deepEqual(plan.changes[1].dependsOn, ['Config/shop/app-conf']);
  });

  it('changes a secret by its hash only, and keeps `retain` versions once services have moved', async () => {
    const swarm = new FakeSwarm();
    for (let i = 1; i <= 5; i++) {
      const d = manifests('x=1', `${password}-${i}`);
      const plan = await apply(d, swarm);
      if (i > 1) {
        const change = plan.changes.find((c) => c.id === 'Secret/shop/db-password')!;
        assert.equal(change.action, 'update');
        assert.ok(!JSON.stringify(change).includes(password), 'the value is not in the change');
        assert.match(String(change.fields.find((f) => f.path === 'spec.content')!.after), /^sha256:/);
      }
      await collectOldVersions(swarm, 'shop', [...d.configs, ...d.secrets]);
    }
    const versions = [...swarm.secrets.values()].filter((s) => s.Spec.Name.startsWith('shop_db-password.'));
    assert.equal(versions.length, 3, 'retain 3: the current one and the two before');
  });

  it('blocks deleting a config a service still mounts, and deletes it with the service', async () => {
    const swarm = new FakeSwarm();
    await apply(manifests('x=1'), swarm);
    const withoutConfig = withEnv({ SHOP_DB_PASSWORD: password }, () =>
      desiredFrom(secret('db-password', 'env: SHOP_DB_PASSWORD', meta) + web()),
    );
    const blocked = buildPlan(withoutConfig, await swarm.readLiveState(), { applySet: 'shop', prune: true });
    assert.deepEqual(
      blocked.blockers.map((b) => b.code),
      ['SC3019'],
    );
    const nothing = withEnv({ SHOP_DB_PASSWORD: password }, () =>
      desiredFrom(secret('db-password', 'env: SHOP_DB_PASSWORD', meta)),
    );
    const plan = buildPlan(nothing, await swarm.readLiveState(), { applySet: 'shop', prune: true });
    assert.deepEqual(plan.blockers, []);
    assert.deepEqual(
      plan.changes.map((c) => `${c.action} ${c.id}`),
      ['delete Service/shop/web', 'delete Config/shop/app-conf'],
    );
    assert.deepEqual(plan.changes[1].dependsOn, ['Service/shop/web']);
    await executePlan(plan, swarm, { pollMs: 1 });
    assert.equal([...swarm.configs.values()].length, 0);
  });

  it('mounts an existing Swarm object by name, and reports one that does not exist', async () => {
    const swarm = new FakeSwarm();
    await swarm.createSecret('shared-ca', {}, 'pem');
    const d = desiredFrom(
      service('api', 'image: app:1\nsecrets: [shared-ca, typo-ca]\nconfigs: [nope]', meta) +
        secret('ca', 'external: true\nname: shared-ca', meta),
    );
    const plan = buildPlan(d, await swarm.readLiveState(), { applySet: 'shop' });
    assert.deepEqual(
      plan.blockers.map((b) => `${b.code} ${b.message}`),
      [
        'SC3011 secret "typo-ca" used by service "shop_api" does not exist in the Swarm',
        'SC3019 config "nope" used by service "shop_api" does not exist in the Swarm',
      ],
    );
  });
});
