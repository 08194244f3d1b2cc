import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controller, docker, ensureSwarm, eventually, removeNamespace, repoRoot, swarmVersions } from './harness.js';
import { publishedAddr } from './harness.js';

/**
 * manifests/examples as shipped, moved out of the way of the demo (scripts/demo.sh deploys the
 * same files, and the tests may share its Swarm): namespace shop -> e2e-shop, host port
 * 18080 -> 18380, route /demo -> /e2e-shop, backend subnet 10.213.100.0/24 -> 10.213.180.0/24.
 * Nothing else changes.
 */
const ns = 'e2e-shop';
const port = 18380;
function examplesCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sc-examples-'));
  const src = join(repoRoot, 'manifests/examples');
  for (const name of readdirSync(src).filter((f) => f.endsWith('.yaml'))) {
    const text = readFileSync(join(src, name), 'utf8');
    const moved = text
      .replace(/^(\s*namespace:) shop$/gm, `$1 ${ns}`)
      .replace(/^(\s*published:) 18080$/gm, `$1 ${port}`)
      .replace(/^(\s*pathPrefix:) \/demo$/gm, '$1 /e2e-shop')
      .replace(/^(\s*- subnet:) 10\.213\.100\.0\/24$/gm, '$1 10.213.180.0/24');
    writeFileSync(join(dir, name), moved);
  }
  return dir;
}
const examples = examplesCopy();

describe('the example set on a real Swarm', { timeout: 300_000 }, () => {
  before(async () => {
    ensureSwarm();
    const all = readdirSync(examples)
      .map((f) => readFileSync(join(examples, f), 'utf8'))
      .join('\n');
    assert.doesNotMatch(
      all,
      /namespace: shop$|published: 18080$|pathPrefix: \/demo$|10\.213\.100\.0/m,
      'every namespace, port, path and subnet of the examples was moved',
    );
    await removeNamespace(ns);
    // the examples' web service joins the proxy tier's edge network, which they only look up
    const edge = await controller(['apply', '-f', 'manifests/controller/network.yaml', '--set', 'controller']);
    assert.equal(edge.code, 0, edge.stdout + edge.stderr);
  });
  after(async () => removeNamespace(ns));

  it('validates', async () => {
    const r = await controller(['validate', '-f', examples]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /6 documents valid: 2 networks, 3 services, 1 route/);
  });

  it('plans five creations (exit 2) and applies them, converging', async () => {
    const plan = await controller(['plan', '-f', examples]);
    assert.equal(plan.code, 2, plan.stderr);
    assert.match(
      plan.stdout,
      /Plan: 5 to create, 0 to update, 0 to scale, 0 to replace, 0 to delete \(1 unchanged\)\./,
    );
    assert.doesNotMatch(plan.stdout, /change-me-in-production|not-a-real-token/);
    const apply = await controller(['apply', '-f', examples, '--wait', '--timeout', '120s']);
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.match(apply.stderr, /ok {3}e2e-shop_web: converged, 3\/3 tasks running/);
    assert.match(apply.stderr, /Apply complete: 5 of 5 changes applied, 0 services not converged\./);
  });

  it('shows the namespace as a stack and serves on the published host port', async () => {
    assert.match(await docker('stack', 'ls'), /^e2e-shop\s+3\b/m);
    await eventually(
      async () => {
        const r = await fetch(`http://${publishedAddr}:${port}/hello`).catch(() => undefined);
        return r?.status === 200 && ((await r.json()) as { path: string }).path === '/hello';
      },
      30_000,
      `e2e-shop_api on ${publishedAddr}:${port}`,
    );
  });

  it('plans nothing afterwards (exit 0) and a second apply writes nothing', async () => {
    const plan = await controller(['plan', '-f', examples]);
    assert.equal(plan.code, 0, plan.stdout);
    assert.match(plan.stdout, /No changes\. The Swarm matches the manifests \(6 objects up to date\)\./);
    const before = await swarmVersions();
    const apply = await controller(['apply', '-f', examples]);
    assert.equal(apply.code, 0, apply.stderr);
    assert.deepEqual(await swarmVersions(), before, 'every service version index and network id is unchanged');
  });

  it('reads the Swarm with a constant number of calls and reports them in the JSON log', async () => {
    const summaryOf = async (args: string[]) => {
      const r = await controller(['apply', '-f', examples, '--log-format', 'json', ...args]);
      assert.equal(r.code, 0, r.stderr);
      const records = r.stderr
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const summary = records.find((x) => x.event === 'apply.summary')!;
      return [summary.changes, summary.engineWrites, summary.engineReads];
    };
    assert.deepEqual(
      await summaryOf(['--resolve-image', 'never']),
      [0, 0, 5],
      'one info call and four list calls (services, networks, route configs, secrets), no writes',
    );
    const images = new Set(
      readdirSync(examples)
        .map((f) => /^\s+image: (\S+)/m.exec(readFileSync(join(examples, f), 'utf8'))?.[1])
        .filter(Boolean),
    );
    assert.deepEqual(
      await summaryOf([]),
      [0, 0, 5 + images.size],
      'and with --resolve-image always, one registry look-up per distinct image',
    );
  });

  it('apply --dry-run is plan', async () => {
    const r = await controller(['apply', '--dry-run', '-f', examples, '-o', 'json']);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout).summary, {
      create: 0,
      update: 0,
      scale: 0,
      replace: 0,
      delete: 0,
      unchanged: 6,
    });
  });
});
