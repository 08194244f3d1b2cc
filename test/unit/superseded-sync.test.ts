/**
 * A sync waits for its services to converge. When a newer revision arrives during that wait
 * (a poll or webhook finds it), `controller run` must apply it now instead of after the older
 * revision has converged: after a lost node that wait lasts as long as Swarm needs to notice
 * the node (found on the three-manager cluster: a commit waited 21.7 s behind it).
 * The loop (manager, apply set loop, revision sync, reconciler), a directory source and the
 * planner over a FakeSwarm whose services never get tasks, so the first sync would wait for
 * them until its (one hour) timeout; on a FakeClock, moved only to the next poll.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../src/queue/clock.js';
import { directorySource } from '../../src/source/index.js';
import { eventually } from '../helpers/eventually.js';
import { RunnableFakeSwarm } from '../helpers/fake-swarm.js';
import { service } from '../helpers/manifests.js';
import { startLoop, type RunningLoop } from '../helpers/run-loop.js';

const dir = mkdtempSync(join(tmpdir(), 'sc-supersede-'));
const web = (image: string) => service('web', `image: ${image}\nreplicas: 2`, '  namespace: unit\n');

describe('controller run: a newer revision during a convergence wait', () => {
  const swarm = new RunnableFakeSwarm();
  const clock = new FakeClock();
  let running: RunningLoop | undefined;
  after(async () => {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits for what the loop records after real file reads; the fake clock stands still meanwhile. */
  const until = (check: () => boolean, what: string) =>
    eventually(check, 10_000, what, {
      intervalMs: 5,
      detail: () => `syncs: ${JSON.stringify(running?.loop.status.toJSON().syncs)}`,
    });
  const image = () => [...swarm.services.values()][0]?.Spec.TaskTemplate?.ContainerSpec?.Image;

  it('is applied at the next poll; the waiting sync says it was superseded and which objects were converging', async () => {
    writeFileSync(join(dir, 'web.yaml'), web('app:1'));
    running = startLoop({
      swarm,
      source: directorySource(dir),
      clock,
      settings: { applySet: 'supersede', prune: false, pollIntervalMs: 60_000, syncTimeoutMs: 3_600_000 },
    });
    const { status } = running.loop;
    await until(() => image() === 'app:1', 'the first revision created');
    await until(() => status.toJSON().objects.some((o) => o.phase === 'Progressing'), 'web to be converging');
    assert.equal(status.lastSync, undefined, 'the first sync is still waiting for web');

    writeFileSync(join(dir, 'web.yaml'), web('app:2'));
    await clock.advance(60_000); // the poll (its jitter fixed at none)
    await until(() => image() === 'app:2', 'the newer revision applied while web had not converged');
    const first = status.toJSON().syncs.find((x) => /arrived while/.test(x.detail));
    assert.ok(first, JSON.stringify(status.toJSON().syncs));
    assert.equal(first.result, 'success');
    assert.match(
      first.detail,
      /^revision [0-9a-f]{12} arrived while 1 object\(s\) were converging \(Service\/unit\/web\): applying it now$/,
    );
    assert.equal(first.durationMs, 60_000, 'it waited until the poll, on the fake clock');
  });
});
