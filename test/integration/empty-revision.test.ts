/**
 * A git revision that deletes every manifest must not prune everything: `controller run` (the
 * Controller, its git source, the loader and the planner, over a FakeSwarm) keeps the last
 * good state whichever way the manifests disappear: the path gone from the tree, only
 * non-manifest files left, or only a comment left (which loads as zero objects).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplySetLoop } from '../../src/controller/apply-set-loop.js';
import { realClock } from '../../src/queue/clock.js';
import { gitSource } from '../../src/source/index.js';
import { RunnableFakeSwarm } from '../helpers/fake-swarm.js';
import { network, service } from '../helpers/manifests.js';
import { startLoop, type RunningLoop } from '../helpers/run-loop.js';

/** Writes to services and networks only: the lease's own config writes are not the test's subject. */
class LeaseBlindFakeSwarm extends RunnableFakeSwarm {
  get objectWrites(): string[] {
    return this.writes.filter((w) => !w.includes(' swarm-controller-lease.'));
  }
}

/** Real time, with timers that do not keep the test process alive once the controller stops. */
const clock = realClock;

const root = mkdtempSync(join(tmpdir(), 'sc-empty-rev-'));
const bare = join(root, 'repo.git');
const work = join(root, 'work');
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();

function commit(message: string, files: Record<string, string | null>): string {
  for (const [path, text] of Object.entries(files)) {
    const full = join(work, path);
    if (text === null) rmSync(full, { force: true, recursive: true });
    else {
      mkdirSync(join(full, '..'), { recursive: true });
      writeFileSync(full, text);
    }
  }
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '--allow-empty', '-m', message);
  git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
  return git(work, 'rev-parse', 'HEAD');
}

const ns = '  namespace: e2e-sec-empty\n';
const good = {
  'deploy/net.yaml': network('net', '', ns),
  'deploy/web.yaml': service(
    'web',
    'image: swarm-controller/test-app:1\nreplicas: 0\nnetworks: [net]\nenv: {API_TOKEN: never-logged-4711}',
    ns,
  ),
};

describe('controller run and a revision that deletes every manifest', { timeout: 120_000 }, () => {
  const swarm = new LeaseBlindFakeSwarm();
  let running: RunningLoop;
  let controller: ApplySetLoop;
  let first: string;

  before(async () => {
    git(root, 'init', '-q', '--bare', bare);
    git(bare, 'symbolic-ref', 'HEAD', 'refs/heads/main');
    git(root, 'init', '-q', work);
    git(work, 'checkout', '-q', '-b', 'main');
    git(work, 'remote', 'add', 'origin', bare);
    first = commit('good', { ...good, 'deploy/README.md': 'the shop\n' });
    running = startLoop({
      swarm,
      source: gitSource({ url: bare, ref: 'main', path: 'deploy', cacheDir: join(root, 'cache') }),
      clock,
      settings: { applySet: 'empty-rev', syncTimeoutMs: 5000 },
    });
    controller = running.loop;
    await until(
      () => controller.status.lastSync?.revision === first && controller.status.lastSync.result === 'success',
      'the first revision applied',
    );
    assert.deepEqual(swarm.objectWrites.sort(), ['createNetwork e2e-sec-empty_net', 'createService e2e-sec-empty_web']);
  });
  after(async () => {
    await running?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function until(check: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(check(), `timed out waiting for ${what}; last sync: ${JSON.stringify(controller.status.lastSync)}`);
  }

  async function syncTo(revision: string): Promise<void> {
    controller.triggerSync('webhook');
    await until(
      () =>
        controller.status.lastSync?.revision === revision ||
        (controller.status.lastSync?.result === 'fetch-failed' &&
          controller.status.lastSync.detail.includes(revision.slice(0, 7))),
      `a sync of ${revision}`,
    );
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
    const bad = commit('delete the manifests, keep the readme', { 'deploy/net.yaml': null, 'deploy/web.yaml': null });
    await syncTo(bad);
    const last = controller.status.lastSync!;
    assert.equal(last.result, 'invalid');
    assert.match(last.detail, /SC1006/);
    assert.match(last.detail, new RegExp(`still applying ${first.slice(0, 12)}`));
    assert.equal(controller.status.revision, first);
    assertKept();
  });

  it('the manifest directory gone from the tree: the fetch fails and the last good revision stays', async () => {
    const gone = commit('delete the directory', { deploy: null, 'other.txt': 'x\n' });
    controller.triggerSync('webhook');
    await until(() => controller.status.lastSync?.result === 'fetch-failed', 'the failed fetch');
    assert.match(controller.status.lastSync!.detail, /deploy/);
    assert.ok(gone);
    assert.equal(controller.status.revision, first);
    assertKept();
  });

  it('only a comment left (zero objects): the prune is refused with SC4004 and nothing is deleted', async () => {
    const empty = commit('only a comment', { 'deploy/readme.yaml': '# the shop moved to another repository\n' });
    await syncTo(empty);
    await until(
      () => (controller.status.toJSON().objects ?? []).some((o) => /SC4004/.test(o.reason)),
      'the SC4004 blocker in status',
    );
    const objects = controller.status.toJSON().objects;
    assert.ok(
      objects.length > 0 && objects.every((o) => o.phase === 'Failed' && /SC4004/.test(o.reason)),
      JSON.stringify(objects),
    );
    assert.notEqual(controller.status.lastSync!.result, 'success');
    assertKept();
  });

  it('a good revision afterwards applies again, and no log line carries the secret value', async () => {
    const back = commit('restore', { ...good, 'deploy/readme.yaml': null });
    await syncTo(back);
    await until(() => controller.status.lastSync?.result === 'success', 'the restored revision');
    assertKept();
    assert.doesNotMatch(running.logs.text(), /never-logged-4711/);
    assert.doesNotMatch(JSON.stringify(controller.status.toJSON()), /never-logged-4711/);
  });
});
