import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { executePlan } from '../../src/apply/execute-plan.js';
import { main } from '../../src/cli/main.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';
import { desiredFrom, service } from '../helpers/manifests.js';

const meta = '  namespace: shop\n';

async function applied(swarm: FakeSwarm, image: string, set = 'shop'): Promise<void> {
  const d = desiredFrom(service('web', `image: ${image}\nenv: {DB_PASSWORD: "pw-${image}"}`, meta));
  const plan = buildPlan(d, await swarm.readLiveState(), { applySet: set });
  for (const o of await executePlan(plan, swarm, { pollMs: 1 })) assert.equal(o.status, 'succeeded');
}

async function run(swarm: FakeSwarm, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (s) => (out += s),
    err: (s) => (err += s),
    connect: async () => Object.assign(swarm, { describe: () => 'fake' }),
  });
  return { code, out, err };
}

describe('controller rollback', () => {
  it('says field by field what returning to the previous spec changes, masking secret values, and asks Swarm for it', async () => {
    const swarm = new FakeSwarm();
    await applied(swarm, 'app:1');
    await applied(swarm, 'app:2');
    const dry = await run(swarm, ['rollback', 'shop/web', '--dry-run']);
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /Rolling back service shop_web \(apply set "shop"\) to its previous spec/);
    assert.match(dry.out, /spec\.image: "app:2" -> "app:1"/);
    assert.match(dry.out, /spec\.env\.DB_PASSWORD: \(sensitive value changed\)/);
    assert.ok(!dry.out.includes('pw-app'), 'no secret-looking value is printed');
    assert.ok(!swarm.writes.includes('rollbackService shop_web'), 'a dry run writes nothing');
    const r = await run(swarm, ['rollback', 'shop_web']);
    assert.equal(r.code, 0, r.err);
    assert.ok(swarm.writes.includes('rollbackService shop_web'));
    assert.match(r.err, /controller suspend --set shop/);
  });

  it('refuses a service it does not own, another apply set, or one never updated', async () => {
    const swarm = new FakeSwarm();
    await applied(swarm, 'app:1');
    assert.match((await run(swarm, ['rollback', 'shop/web'])).err, /has no previous spec/);
    assert.match(
      (await run(swarm, ['rollback', 'shop/web', '--set', 'other'])).err,
      /SC4001: .*belongs to apply set "shop"/,
    );
    await swarm.createService({ Name: 'hand_made', TaskTemplate: { ContainerSpec: { Image: 'x' } } });
    assert.match((await run(swarm, ['rollback', 'hand_made'])).err, /SC4002: .*not created by swarm-controller/);
    assert.match((await run(swarm, ['rollback', 'shop/nope'])).err, /does not exist/);
  });
});
