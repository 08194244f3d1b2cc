import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { SwarmEvent } from '../../src/api/swarm-types.js';
import { leaseName } from '../../src/controller/apply-set-loop.js';
import { Manager } from '../../src/controller/manager.js';
import { isOwnRecordEvent } from '../../src/controller/own-records.js';
import { FakeClock } from '../../src/queue/clock.js';
import { statusConfigName } from '../../src/status/format.js';
import { RunnableFakeSwarm } from '../helpers/fake-swarm.js';
import { eventually } from '../helpers/eventually.js';

const configEvent = (name: string, Action = 'create'): SwarmEvent => ({
  Type: 'config',
  Action,
  Actor: { ID: `id-${name}`, Attributes: { name } },
});

const own = [
  configEvent(statusConfigName({ kind: 'ApplySet', name: 'shop' }, 41)),
  configEvent(statusConfigName({ kind: 'ApplySet', name: 'shop' }, 39), 'remove'),
  configEvent(statusConfigName({ kind: 'App', name: 'billing' }, 7)),
  configEvent(statusConfigName({ kind: 'Routes', name: 'swarm-controller_proxy' }, 12)),
  configEvent(leaseName('shop'), 'update'),
];
const theirs = [
  configEvent('shop_settings'),
  configEvent('shop_demo.route.3f2a'),
  configEvent('swarm-controller-state.shop', 'update'), // the suspend record: a person changes it
  { Type: 'service', Action: 'update', Actor: { ID: 's1', Attributes: { name: 'swarm-controller-status.x' } } },
] as SwarmEvent[];

describe("the controller's own records", () => {
  it('are the status documents and leases, not the suspend record nor anything reconciled', () => {
    assert.deepEqual(
      own.map((e) => isOwnRecordEvent(e)),
      own.map(() => true),
    );
    assert.deepEqual(
      theirs.map((e) => isOwnRecordEvent(e)),
      theirs.map(() => false),
    );
    assert.equal(isOwnRecordEvent({ Type: 'config', Action: 'remove', Actor: { ID: 'x' } }), false);
  });

  it('start no work: the manager passes none of their events to listeners, and every other one', async () => {
    class Streaming extends RunnableFakeSwarm {
      override async streamEvents(on: (e: SwarmEvent) => void, signal: AbortSignal): Promise<void> {
        // ours and theirs interleaved, theirs last: its arrival says every event before it was considered
        for (const e of [own[0], theirs[0], own[1], theirs[1], own[2], theirs[2], own[3], own[4], theirs[3]]) on(e);
        await super.streamEvents(on, signal);
      }
    }
    const clock = new FakeClock();
    const manager = new Manager({ swarm: new Streaming(), identity: 'r1', clock, log: pino({ level: 'silent' }) });
    const seen: SwarmEvent[] = [];
    manager.onEvent((e) => seen.push(e));
    manager.start();
    try {
      await eventually(() => seen.length >= theirs.length, 10_000, 'the events of other objects', { clock });
      assert.deepEqual(seen, theirs);
    } finally {
      await manager.stop(0);
    }
  });
});
