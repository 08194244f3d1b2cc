/**
 * No secret value in what the controller prints or serves: plans (text and -o json) and
 * apply progress of create, update and drift, over a FakeSwarm; the status of the reconciler.
 * Values of secret-looking env names (PASSWORD, TOKEN, SECRET, KEY) and of --mask-env names
 * must never appear; a plain value must (so the search itself is shown to work).
 * test/e2e/security.test.ts does the same against a real Swarm, with controller run's logs,
 * /status and /metrics.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { LiveCache } from '../../src/controller/live-cache.js';
import { Reconciler } from '../../src/controller/reconciler.js';
import { StatusStore } from '../../src/controller/status.js';
import { FakeClock } from '../../src/queue/clock.js';
import { FakeSwarm } from '../helpers/fake-swarm.js';
import { desiredFrom, service } from '../helpers/manifests.js';

const secretValues = (v: number) => ({
  DB_PASSWORD: `pw-${v}-a8f3`,
  API_TOKEN: `tok-${v}-77c1`,
  CLIENT_SECRET: `sec-${v}-0b9e`,
  SIGNING_KEY: `key-${v}-51d2`,
  DSN: `postgres://app:dsn-${v}-e4a0@db/app`,
});

function manifest(v: number): string {
  const env = Object.entries({ ...secretValues(v), LOG_LEVEL: `plain-${v}` })
    .map(([k, x]) => `  ${k}: "${x}"`)
    .join('\n');
  return service(
    'web',
    `image: swarm-controller/test-app:1\nsecrets: [db-password]\nenv:\n${env}`,
    '  namespace: e2e-sec-unit\n',
  );
}

describe('secret values', () => {
  it('appear in no plan (text or JSON) or apply output, for create, update and drift', async () => {
    const swarm = new FakeSwarm();
    await swarm.createSecret('db-password', {}, 'swarm-secret-value-0c41');
    const dir = mkdtempSync(join(tmpdir(), 'sc-secrets-'));
    let out = '';
    const io = {
      out: (s: string) => void (out += s),
      err: (s: string) => void (out += s),
      connect: async () => Object.assign(swarm, { describe: () => 'fake' }),
    };
    const run = async (...args: string[]) => main([...args, '-f', dir, '--set', 'secrets', '--mask-env', 'DSN'], io);
    const leaked: string[] = [];
    for (const v of [1, 2]) {
      writeFileSync(join(dir, 'web.yaml'), manifest(v));
      assert.equal(await run('plan'), 2);
      assert.equal(await run('plan', '-o', 'json'), 2);
      assert.equal(await run('apply'), 0, out);
      leaked.push(...Object.values(secretValues(v)));
    }
    // Drift: someone changes a secret value in the Swarm; the plan shows the path, not the values.
    const svc = [...swarm.services.values()][0];
    svc.Spec.TaskTemplate!.ContainerSpec!.Env = svc.Spec.TaskTemplate!.ContainerSpec!.Env!.map((e) =>
      e.startsWith('API_TOKEN=') ? 'API_TOKEN=drifted-9d1f' : e,
    );
    assert.equal(await run('plan'), 2);
    assert.equal(await run('plan', '-o', 'json'), 2);
    leaked.push('drifted-9d1f', 'swarm-secret-value-0c41');
    for (const value of leaked) assert.ok(!out.includes(value), `the output contains ${value}`);
    assert.match(out, /spec\.env\.API_TOKEN/, 'the changed secret is named');
    assert.match(out, /\(sensitive\)/);
    assert.match(out, /plain-2/, 'plain values are shown, so the search above works');
  });

  it('appear nowhere in the reconciler status, for a create and a drift repair', async () => {
    const swarm = new FakeSwarm();
    await swarm.createSecret('db-password', {}, 'x');
    const status = new StatusStore({ identity: 't', applySet: 'secrets', source: 'test', driftMode: 'repair' });
    const r = new Reconciler({
      swarm,
      cache: new LiveCache(swarm, new FakeClock(), 0),
      status,
      options: {
        applySet: 'secrets',
        drift: 'repair',
        prune: true,
        allowReplace: false,
        maxDeletions: 10,
        timeoutMs: 1000,
      },
    });
    r.desired = { revision: 'r1', desired: desiredFrom(manifest(1)) };
    for (const key of await r.allKeys()) await r.reconcile(key);
    const svc = [...swarm.services.values()][0];
    svc.Spec.TaskTemplate!.ContainerSpec!.Env = [
      ...svc.Spec.TaskTemplate!.ContainerSpec!.Env!,
      'EXTRA_TOKEN=drifted-5e11',
    ];
    for (const key of await r.allKeys()) await r.reconcile(key);
    const text = JSON.stringify(status.toJSON());
    for (const value of [...Object.values(secretValues(1)), 'drifted-5e11'])
      assert.ok(!text.includes(value), `status contains ${value}`);
    assert.match(text, /drift repaired/);
  });
});
