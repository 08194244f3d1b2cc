/**
 * `controller --dry-run -f DIR` is `controller plan -f DIR` on the real binary and the real
 * Swarm: the same stdout and the same exit code, 2 while there are changes and 0 once they are
 * applied (and `apply --dry-run` likewise). A bad command line is refused before any engine is
 * asked: the engine named by --host does not exist, and the refusal is still the usage error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inNamespace, network, testAppService } from '../helpers/manifests.js';
import { controller, ensureSwarm, manifestDir, removeNamespace, swarmVersions } from './harness.js';

const ns = 'e2e-dry-run';
const manifests = {
  'all.yaml':
    network('net', 'ipam: {subnets: [{subnet: 10.213.121.0/24}]}', inNamespace(ns)) + testAppService('app', ns),
};

describe('controller --dry-run plans exactly as controller plan', { timeout: 300_000 }, () => {
  let dir: string;
  before(async () => {
    ensureSwarm();
    await removeNamespace(ns);
    dir = await manifestDir(ns, manifests);
  });
  after(async () => removeNamespace(ns));

  const forms = (extra: string[] = []) => [
    ['plan', '-f', dir, ...extra],
    ['--dry-run', '-f', dir, ...extra],
    ['-f', dir, ...extra, '--dry-run'],
    ['apply', '--dry-run', '-f', dir, ...extra],
  ];

  async function sameAsPlan(extra: string[], code: number): Promise<string> {
    const [plan, ...others] = await Promise.all(forms(extra).map((args) => controller(args)));
    assert.equal(plan.code, code, plan.stdout + plan.stderr);
    for (const [i, r] of others.entries()) {
      const args = forms(extra)[i + 1].join(' ');
      assert.equal(r.code, plan.code, `${args}: ${r.stderr}`);
      assert.equal(r.stdout, plan.stdout, args);
      assert.equal(r.stderr, plan.stderr, args);
    }
    return plan.stdout;
  }

  it('exits 2 with the same plan while there are changes, and writes nothing', async () => {
    const before = await swarmVersions();
    const text = await sameAsPlan([], 2);
    assert.match(text, new RegExp(`Apply set "${ns}" on `));
    assert.match(text, /Plan: 2 to create, 0 to update, 0 to scale, 0 to replace, 0 to delete/);
    const json = JSON.parse(await sameAsPlan(['-o', 'json'], 2)) as { changes: { id: string }[] };
    assert.deepEqual(json.changes.map((c) => c.id).sort(), [`Network/${ns}/net`, `Service/${ns}/app`]);
    assert.deepEqual(await swarmVersions(), before, 'no dry-run form wrote to the Swarm');
  });

  it('exits 0 with the same output once the changes are applied', async () => {
    const applied = await controller(['apply', '-f', dir]);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    const text = await sameAsPlan([], 0);
    assert.match(text, /No changes/i);
  });

  it('refuses a bad command line with SC9001 before asking any engine', async () => {
    for (const args of [
      ['--dry-run', '-f', dir, '--wait'],
      ['plan', '-f', dir, '--interval', '60s'],
      ['--dryrun', '-f', dir],
    ]) {
      const r = await controller([...args, '--host', 'unix:///nonexistent/docker.sock']);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^error SC9001: .*\nSee "controller (plan |)--help"/);
    }
  });
});
