/**
 * A network removed a moment ago is still listed. Engine 20.10 keeps listing a removed overlay
 * network (same ID, same labels) until the last container on it has stopped, so a plan made in
 * that window counts the network as unchanged and the engine then refuses the service that
 * needs it ("network <id> not found"). The apply must say what happened and that a new plan
 * fixes it (SC5006), and the new plan, once the engine has let the network go, must create it.
 * The window is made long on purpose: the app takes 15 s to stop (STOP_DELAY_MS).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  controller,
  docker,
  ensureSwarm,
  eventually,
  manifestDir,
  networkExists,
  planJson,
  removeNamespace,
} from './harness.js';
import { inNamespace, network, service, testAppImage } from '../helpers/manifests.js';

const ns = 'e2e-netgone';
const manifests = {
  'app.yaml':
    network('net', 'attachable: true', inNamespace(ns)) +
    service(
      'app',
      `image: ${testAppImage}\nreplicas: 1\nendpointMode: dnsrr\nnetworks: [net]\nenv: {STOP_DELAY_MS: "15000"}\nstopGracePeriod: 30s`,
      inNamespace(ns),
    ),
};

let dir: string;

describe('a network removed out of band a moment before an apply', { timeout: 300_000 }, () => {
  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
    dir = await manifestDir(ns, manifests);
    const r = await controller(['apply', '-f', dir, '--set', ns, '--wait']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => removeNamespace(ns));

  it('the apply names the network and says to plan again (SC5006); the next plan creates it', async () => {
    // Someone removes the service and its network by hand; the app is still draining.
    await docker('service', 'rm', `${ns}_app`);
    // (until Swarm's orchestrator has marked the task for removal, the network is "in use by task")
    await eventually(
      async () =>
        docker('network', 'rm', `${ns}_net`).then(
          () => true,
          () => false,
        ),
      30_000,
      'docker network rm to succeed',
    );
    assert.ok(await networkExists(`${ns}_net`), 'the removed network is still listed while its container stops');
    const plan = planJson(await controller(['plan', '-f', dir, '--set', ns, '-o', 'json']));
    assert.deepEqual(
      plan.changes.map((c) => `${c.action} ${c.id}`),
      [`create Service/${ns}/app`],
      'the plan cannot tell: it sees the network',
    );

    const refused = await controller(['apply', '-f', dir, '--set', ns]);
    assert.notEqual(refused.code, 0, 'the apply reports the failure');
    const out = refused.stdout + refused.stderr;
    console.log(
      `the apply says: ${out
        .split('\n')
        .find((l) => /SC5006/.test(l))
        ?.trim()}`,
    );
    assert.match(out, /SC5006/);
    assert.match(out, new RegExp(`service "${ns}_app" needs network "${ns}_net", which is no longer in the Swarm`));
    assert.match(out, /Run the plan again/);

    const t0 = Date.now();
    await eventually(async () => !(await networkExists(`${ns}_net`)), 60_000, 'the engine to stop listing the network');
    console.log(
      `the removed network was listed for ${((Date.now() - t0) / 1000).toFixed(1)} s more (its app drains for 15 s)`,
    );
    const replan = planJson(await controller(['plan', '-f', dir, '--set', ns, '-o', 'json']));
    assert.deepEqual(replan.changes.map((c) => `${c.action} ${c.id}`).sort(), [
      `create Network/${ns}/net`,
      `create Service/${ns}/app`,
    ]);
    const r = await controller(['apply', '-f', dir, '--set', ns]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await controller(['plan', '-f', dir, '--set', ns])).code, 0, 'nothing left to do');
  });
});
