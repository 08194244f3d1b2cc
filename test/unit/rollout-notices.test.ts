import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { compileNotifications } from '../../src/notify/config.js';
import { Deduplicator } from '../../src/notify/dedup.js';
import { buildPayload, payloadSchema } from '../../src/notify/payload.js';
import { buildSlackMessage } from '../../src/notify/slack.js';
import { createReceiver } from '../../src/notify/receivers.js';
import type { RolloutEvent } from '../../src/rollout/rollout-controller.js';
import { rolloutNotice } from '../../src/rollout/rollout-notices.js';

const commit = '3f2a1c0d9e8b7a6f5e4d3c2b1a09f8e7d6c5b4a3';

function event(type: RolloutEvent['type'], extra: Partial<RolloutEvent> = {}): RolloutEvent {
  return {
    type,
    at: Date.UTC(2026, 11, 6, 12, 0, 0),
    applySet: 'shop',
    key: 'Service/shop/web',
    service: 'shop_web',
    route: 'shop/web',
    strategy: 'canary',
    revision: commit,
    step: 1,
    steps: 3,
    weight: 50,
    reason: 'revision 3f2a1c0d9e8b of shop_web rolled back: step 2/3 (50%) failed: error-rate',
    ...extra,
  };
}

describe('rollout notifications', () => {
  it('maps the end of a rollout to one event each: promoted (info), rolled back (error), aborted (warning)', () => {
    const promoted = rolloutNotice(event('rollout-promoted', { step: 2, reason: 'promoted' }), true)!;
    assert.deepEqual(promoted, {
      type: 'rollout-promoted',
      at: Date.UTC(2026, 11, 6, 12, 0, 0),
      app: 'shop',
      revision: commit,
      commit,
      summary: 'promoted',
      objects: [{ id: 'Service/shop/web', reason: 'promoted' }],
      rollout: { service: 'shop_web', route: 'shop/web', strategy: 'canary', step: 3, steps: 3 },
    });
    assert.equal(rolloutNotice(event('rollout-rolled-back'), true)?.type, 'rollout-rolled-back');
    assert.equal(rolloutNotice(event('rollout-aborted'), true)?.type, 'rollout-aborted');
    const p = buildPayload({ event: rolloutNotice(event('rollout-aborted'), true)!, sender: { controller: 'c1' } });
    assert.equal(p.severity, 'warning');
    assert.equal(buildPayload({ event: promoted, sender: { controller: 'c1' } }).severity, 'info');
    assert.equal(
      buildPayload({ event: rolloutNotice(event('rollout-rolled-back'), true)!, sender: { controller: 'c1' } })
        .severity,
      'error',
    );
  });

  it('sends nothing for a rollout starting or moving to its next step', () => {
    assert.equal(rolloutNotice(event('rollout-started'), true), undefined);
    assert.equal(rolloutNotice(event('rollout-step'), true), undefined);
  });

  it('gives a commit only when the source is git and the revision is one', () => {
    assert.equal(rolloutNotice(event('rollout-promoted'), false)?.commit, undefined);
    assert.equal(rolloutNotice(event('rollout-promoted', { revision: 'dir-abc' }), true)?.commit, undefined);
  });

  it('builds a webhook body its schema accepts, with the rollout, and a chat message naming service and step', () => {
    const validate = new Ajv({ strict: true }).compile(payloadSchema);
    for (const type of ['rollout-promoted', 'rollout-rolled-back', 'rollout-aborted'] as const) {
      const body = buildPayload({ event: rolloutNotice(event(type), true)!, sender: { controller: 'c1' } });
      assert.ok(validate(body), JSON.stringify(validate.errors));
      assert.deepEqual(body.rollout, { service: 'shop_web', route: 'shop/web', strategy: 'canary', step: 2, steps: 3 });
    }
    const chat = buildSlackMessage({
      event: rolloutNotice(event('rollout-rolled-back'), true)!,
      sender: { controller: 'c1' },
    });
    assert.equal(chat.attachments[0].title, 'Rollout rolled back: shop');
    assert.deepEqual(
      chat.attachments[0].fields.filter((f) => f.title === 'Service' || f.title === 'Step').map((f) => f.value),
      ['shop_web', '2 of 3'],
    );
  });

  it('is one piece of news per service and revision: the same end again is suppressed, another service is news', () => {
    const d = new Deduplicator(4 * 3600_000);
    const a = rolloutNotice(event('rollout-rolled-back'), true)!;
    assert.deepEqual(d.check(a), { send: true });
    assert.deepEqual(d.check({ ...a, at: a.at + 1000, summary: 'other words' }), { send: false });
    const other = rolloutNotice(event('rollout-rolled-back', { service: 'shop_api', key: 'Service/shop/api' }), true)!;
    assert.deepEqual(d.check(other), { send: true });
    const next = rolloutNotice(event('rollout-rolled-back', { revision: 'b'.repeat(40) }), true)!;
    assert.deepEqual(d.check(next), { send: true });
  });

  it('reaches webhook and chat receivers by default; commit statuses are not set for rollouts', () => {
    const c = compileNotifications({
      receivers: [
        { name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/hook' },
        { name: 'chat', type: 'slack', url: 'http://127.0.0.1:9/chat' },
        { name: 'gh', type: 'github', repository: 'acme/ops', tokenFile: '/run/secrets/t' },
      ],
    }).config!;
    const e = rolloutNotice(event('rollout-promoted'), true)!;
    assert.deepEqual(
      c.receivers.map((r) => createReceiver(r).wants(e)),
      [true, true, false],
    );
  });
});
