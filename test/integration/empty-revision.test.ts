/**
 * A git revision that deletes every manifest must not prune everything: `controller run` (the
 * loop, its git source, the loader and the planner, over a FakeSwarm, on a FakeClock) keeps the
 * last good state whichever way the manifests disappear: the path gone from the tree, only
 * non-manifest files left, or only a comment left (which loads as zero objects). An integration
 * test because the source is a real git repository.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplySetLoop } from '../../src/controller/apply-set-loop.js';
import { FakeClock } from '../../src/queue/clock.js';
import { gitSource } from '../../src/source/index.js';
import { eventually } from '../helpers/eventually.js';
import { RunnableFakeSwarm } from '../helpers/fake-swarm.js';
import { testRepository, type TestRepository } from '../helpers/git-fixtures.js';
import { network, service } from '../helpers/manifests.js';
import { startLoop, type RunningLoop } from '../helpers/run-loop.js';

/** Writes to services and networks only: the lease's own config writes are not the test's subject. */
class LeaseBlindFakeSwarm extends RunnableFakeSwarm {
  get objectWrites(): string[] {
    return this.writes.filter((w) => !w.includes(' swarm-controller-lease.'));
  }
}

const root = mkdtempSync(join(tmpdir(), 'sc-empty-rev-'));
const bare = join(root, 'repo.git');
const ns = '  namespace: e2e-sec-empty\n';
const good = {
  'deploy/net.yaml': network('net', '', ns),
  'deploy/web.yaml': service(
    'web',
    'image: swarm-controller/test-app:1\nreplicas: 0\nnetworks: [net]\nenv: {API_TOKEN: never-logged-4711}',
    ns,
  ),
};

describe('controller run and a revision that deletes every manifest', () => {
  const swarm = new LeaseBlindFakeSwarm();
  let repo: TestRepository;
  let running: RunningLoop;
  let controller: ApplySetLoop;
  let first: string;

  const clock = new FakeClock();
  /**
   * Waits for what the loop records, while real git runs: the loop's clock moves 10 ms per real
   * millisecond, so its backoffs and re-checks happen (polls and resyncs are an hour away).
   */
  const until = (check: () => boolean, what: string) =>
    eventually(check, 600_000, what, {
      clock,
      intervalMs: 10,
      realTickMs: 1,
      detail: () => `last sync: ${JSON.stringify(controller.status.lastSync)}`,
    });

  before(async () => {
    repo = testRepository(bare, join(root, 'work'));
    first = repo.commit({ ...good, 'deploy/README.md': 'the shop\n' }, 'good');
    running = startLoop({
      swarm,
      source: gitSource({ url: bare, ref: 'main', path: 'deploy', cacheDir: join(root, 'cache') }),
      clock,
      settings: { applySet: 'empty-rev' },
    });
    controller = running.loop;
    await until(
      () => controller.status.lastSync?.revision === first && controller.status.lastSync.detail === 'applied',
      'the first revision applied',
    );
    assert.deepEqual(swarm.objectWrites.sort(), ['createNetwork e2e-sec-empty_net', 'createService e2e-sec-empty_web']);
  });
  after(async () => {
    await running?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** A webhook, and the sync of `revision` recorded (a failed fetch names the commit it could not use). */
  async function syncTo(revision: string): Promise<void> {
    controller.triggerSync('webhook');
    await until(() => {
      const last = controller.status.lastSync;
      return (
        last?.revision === revision || (last?.result === 'fetch-failed' && last.detail.includes(revision.slice(0, 7)))
      );
    }, `the sync of ${revision}`);
  }

  function assertKept(): void {
    assert.deepEqual(
      swarm.objectWrites.sort(),
      ['createNetwork e2e-sec-empty_net', 'createService e2e-sec-empty_web'],
      'nothing written since the good revision',
    );
    assert.deepEqual(
      [...swarm.services.values()].map((s) => s.Spec.Name),
      ['e2e-sec-empty_web'],
    );
    assert.deepEqual(
      [...swarm.networks.values()].map((n) => n.Name),
      ['e2e-sec-empty_net'],
    );
  }

  it('only non-manifest files left: the revision is invalid (SC1006) and the last good one stays', async () => {
    const bad = repo.commit(
      {
        'deploy/net.yaml': null,
        'deploy/web.yaml': null,
      },
      'delete the manifests, keep the readme',
    );
    await syncTo(bad);
    const last = controller.status.lastSync!;
    assert.equal(last.revision, bad);
    assert.equal(last.result, 'invalid');
    assert.match(last.detail, /SC1006/);
    assert.match(last.detail, new RegExp(`still applying ${first.slice(0, 12)}`));
    assert.equal(controller.status.revision, first);
    assertKept();
  });

  it('the manifest directory gone from the tree: the fetch fails, naming the path, and the last good revision stays', async () => {
    const gone = repo.commit({ deploy: null, 'other.txt': 'x\n' }, 'delete the directory');
    await syncTo(gone);
    const last = controller.status.lastSync!;
    assert.equal(last.result, 'fetch-failed');
    assert.match(last.detail, /deploy/);
    assert.ok(last.detail.includes(gone.slice(0, 7)), `the failure names the commit ${gone}: ${last.detail}`);
    assert.equal(controller.status.revision, first);
    assertKept();
  });

  it('only a comment left (zero objects): the prune is refused with SC4004 and nothing is deleted', async () => {
    const empty = repo.commit({ 'deploy/readme.yaml': '# the shop moved to another repository\n' }, 'only a comment');
    await syncTo(empty);
    const objects = controller.status.toJSON().objects;
    assert.ok(
      objects.length > 0 && objects.every((o) => o.phase === 'Failed' && /SC4004/.test(o.reason)),
      JSON.stringify(objects),
    );
    assert.equal(controller.status.lastSync!.revision, empty);
    assert.notEqual(controller.status.lastSync!.result, 'success');
    assertKept();
  });

  it('a good revision afterwards applies again, and no log line carries the secret value', async () => {
    const back = repo.commit({ ...good, 'deploy/readme.yaml': null }, 'restore');
    await syncTo(back);
    assert.equal(controller.status.lastSync!.revision, back);
    assert.equal(controller.status.lastSync!.result, 'success', JSON.stringify(controller.status.lastSync));
    assertKept();
    assert.doesNotMatch(running.logs.text(), /never-logged-4711/);
    assert.doesNotMatch(JSON.stringify(controller.status.toJSON()), /never-logged-4711/);
  });
});
