import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  controller,
  docker,
  ensureSwarm,
  inspectService,
  manifestDir,
  networkExists,
  planJson,
  removeNamespace,
  rewrite,
  serviceExists,
  swarmVersions,
} from './harness.js';
import { inNamespace, network, testAppService } from '../helpers/manifests.js';

const ns = 'e2e-safety';
const net = network('net', '', inNamespace(ns));
const svc = (name: string, extra = '') => testAppService(name, ns, extra);

describe('replace, prune, conflicts and bad input never write what they must not', { timeout: 600_000 }, () => {
  let dir: string;
  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
    await removeNamespace('e2e-other');
    dir = await manifestDir('safety', { 'net.yaml': net, 'a.yaml': svc('a'), 'b.yaml': svc('b') });
    const r = await controller(['apply', '-f', dir, '--wait', '--timeout', '60s']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => {
    await removeNamespace(ns);
    await removeNamespace('e2e-other');
  });

  it('refuses a mode change without --allow-replace, writing nothing, and replaces with it', async () => {
    await rewrite(dir, { 'a.yaml': svc('a', 'mode: global') });
    const versions = await swarmVersions();
    const refused = await controller(['apply', '-f', dir]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stdout,
      /SC4003 Service\/e2e-safety\/a: service "e2e-safety_a" must be replaced: mode cannot change in place/,
    );
    assert.match(refused.stderr, /Nothing was applied/);
    assert.deepEqual(await swarmVersions(), versions);
    const oldId = (await inspectService(`${ns}_a`)).ID;
    const replaced = await controller(['apply', '-f', dir, '--allow-replace', '--wait', '--timeout', '60s']);
    assert.equal(replaced.code, 0, replaced.stdout + replaced.stderr);
    const now = await inspectService(`${ns}_a`);
    assert.notEqual(now.ID, oldId);
    assert.ok(now.Spec.Mode.Global !== undefined);
  });

  it('keeps a service removed from the manifests unless --prune, then deletes it before its network', async () => {
    await rewrite(dir, { 'b.yaml': '# b was removed\n' });
    const plan = await controller(['plan', '-f', dir, '-o', 'json']);
    assert.equal(plan.code, 0);
    assert.deepEqual(
      planJson(plan).notes.map((n) => n.id),
      [`Service/${ns}/b`],
    );
    const pruned = await controller(['apply', '-f', dir, '--prune']);
    assert.equal(pruned.code, 0, pruned.stdout + pruned.stderr);
    assert.equal(await serviceExists(`${ns}_b`), false);
    assert.equal(await serviceExists(`${ns}_a`), true);
  });

  it('refuses to prune everything when the manifests are empty', async () => {
    const empty = await manifestDir('safety', { 'readme.yaml': '# nothing here\n' });
    const versions = await swarmVersions();
    const r = await controller(['apply', '-f', empty, '--prune']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /SC4004/);
    assert.deepEqual(await swarmVersions(), versions);
  });

  it('never touches objects of another apply set, and prune leaves them alone', async () => {
    const versions = await swarmVersions();
    const r = await controller(['apply', '-f', dir, '--set', 'intruder']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /SC4001 .*belongs to apply set "safety", not "intruder"/);
    assert.deepEqual(await swarmVersions(), versions);
    const other = await manifestDir('other', {
      'x.yaml': testAppService('x', 'e2e-other', '', []),
    });
    const own = await controller(['apply', '-f', other, '--prune']);
    assert.equal(own.code, 0, own.stdout + own.stderr);
    assert.equal(await serviceExists(`${ns}_a`), true);
    assert.equal(await networkExists(`${ns}_net`), true);
  });

  it('treats an unmanaged service with a manifest name as a conflict, and adopts it only with --adopt', async () => {
    await docker(
      'service',
      'create',
      '--detach',
      '--name',
      `${ns}_legacy`,
      '--label',
      'owner=someone',
      '--endpoint-mode',
      'dnsrr',
      'swarm-controller/test-app:1',
    );
    await rewrite(dir, { 'legacy.yaml': svc('legacy') });
    const before = await inspectService(`${ns}_legacy`);
    const refused = await controller(['apply', '-f', dir]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stdout,
      /SC4002 Service\/e2e-safety\/legacy: service "e2e-safety_legacy" exists in the Swarm but was not created by swarm-controller/,
    );
    assert.equal((await inspectService(`${ns}_legacy`)).Version.Index, before.Version.Index);
    const adopted = await controller(['apply', '-f', dir, '--adopt', '--wait', '--timeout', '60s']);
    assert.equal(adopted.code, 0, adopted.stdout + adopted.stderr);
    const after = await inspectService(`${ns}_legacy`);
    assert.equal(after.ID, before.ID);
    assert.equal(after.Spec.Labels['swarm.controller/apply-set'], 'safety');
    assert.equal((await controller(['plan', '-f', dir])).code, 0);
  });

  it('writes nothing when any manifest is invalid', async () => {
    await rewrite(dir, { 'broken.yaml': svc('c', 'replicas: many') });
    await rewrite(dir, { 'a.yaml': svc('a', 'mode: global\nenv: {CHANGED: "yes"}') });
    const versions = await swarmVersions();
    const r = await controller(['apply', '-f', dir, '--allow-replace']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /broken\.yaml:11:3: error SC2005: Service "e2e-safety\/c" spec\.replicas: must be an integer, not string "many"/,
    );
    assert.match(r.stderr, /nothing was sent to the Swarm/);
    assert.deepEqual(await swarmVersions(), versions);
  });

  it('reads manifests from standard input', async () => {
    const r = await controller(['plan', '-f', '-', '--set', 'safety'], {
      input: net + svc('a', 'mode: global'),
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
