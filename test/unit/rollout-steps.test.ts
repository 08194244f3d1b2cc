import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rolloutDefaults } from '../../src/api/route-model.js';
import type { SwarmConfig } from '../../src/api/swarm-types.js';
import { defaultThresholds, type StepAnalysis } from '../../src/rollout/analysis.js';
import {
  canaryName,
  labelKindKey,
  labelRolloutRequest,
  labelRolloutState,
  parseRolloutConfig,
  rolloutRecordName,
  servedRollouts,
  type RolloutState,
} from '../../src/rollout/rollout-record.js';
import { thresholdsOf } from '../../src/rollout/rollout-controller.js';
import { decideStep } from '../../src/rollout/step-decision.js';
import { serverWeights, withCanary } from '../../src/routes/table-builder.js';
import { desiredFrom, loadText, route, service } from '../helpers/manifests.js';

const meta = '  namespace: shop\n';
const web = service('web', 'image: app:1\nexpose: [8080]', meta);

const analysis = (verdict: StepAnalysis['verdict'], reason = 'x'): StepAnalysis => ({
  verdict,
  reason,
  checks: [],
  canary: { requests: 0, errors: 0, errorRate: null, redispatched: 0, p50Ms: null, p99Ms: null },
  stable: { requests: 0, errors: 0, errorRate: null, redispatched: 0, p50Ms: null, p99Ms: null },
});

const steps = [
  { weight: 5, holdMs: 10_000 },
  { weight: 50, holdMs: 10_000 },
  { weight: 100, holdMs: 10_000 },
];

describe('rollout strategy in Route manifests', () => {
  it('fills every default, equal to the judge defaults', () => {
    const r = desiredFrom(web + route('demo', 'service: web\nport: 8080\nrollout: {}', meta)).routes[0];
    assert.deepEqual(r.model.rollout?.steps, [
      { weight: 5, hold: '1m' },
      { weight: 25, hold: '1m' },
      { weight: 50, hold: '1m' },
      { weight: 100, hold: '1m' },
    ]);
    assert.deepEqual(thresholdsOf(r.model.rollout), defaultThresholds);
    assert.equal(rolloutDefaults.analysis.minRequests, defaultThresholds.minRequests);
  });

  it('turns blueGreen into one switch of all traffic held for switchHold', () => {
    const r = desiredFrom(
      web + route('demo', 'service: web\nport: 8080\nrollout: {strategy: blueGreen, switchHold: 90s}', meta),
    ).routes[0];
    assert.deepEqual(r.model.rollout?.steps, [{ weight: 100, hold: '1m30s' }]);
  });

  it('leaves routes without a rollout as they were (no new key, same config name)', () => {
    const r = desiredFrom(web + route('demo', 'service: web\nport: 8080', meta)).routes[0];
    assert.equal('rollout' in r.model, false);
  });

  it('refuses a rollout it cannot run, naming the field (SC3021)', () => {
    const canary = service('other', 'image: app:1\nexpose: [8080]', meta);
    const text =
      web +
      canary +
      route(
        'a',
        'pathPrefix: /a\nbackends: [{service: web, port: 8080}, {service: other, port: 8080}]\nrollout: {}',
        meta,
      ) +
      route('b', 'pathPrefix: /b\nservice: web\nport: 8080\nrollout: {steps: [{weight: 50}, {weight: 10}]}', meta) +
      route('c', 'pathPrefix: /c\nservice: web\nport: 8080\nrollout: {interval: 100ms}', meta) +
      route(
        'd',
        'pathPrefix: /d\nservice: web\nport: 8080\nrollout: {strategy: blueGreen, steps: [{weight: 10}]}',
        meta,
      );
    const d = loadText(text).diagnostics.map((x) => `${x.object} ${x.code} ${x.field}`);
    assert.deepEqual(d.sort(), [
      'Route "shop/a" SC3021 spec.rollout',
      'Route "shop/b" SC3021 spec.rollout.steps[1].weight',
      'Route "shop/c" SC3021 spec.rollout.interval',
      'Route "shop/d" SC3021 spec.rollout.steps',
    ]);
  });
});

describe('a step decided', () => {
  const s = { step: 0, steps, stepStartedAt: 0 };
  it('rolls back at the first fail, before the hold is over', () => {
    assert.equal(decideStep(s, 60_000, analysis('fail', 'error-rate'), 1000, '').action, 'rollback');
  });
  it('waits while held, then moves on when the step passed', () => {
    assert.equal(decideStep(s, 60_000, analysis('pass'), 9_999, '').action, 'wait');
    assert.equal(decideStep(s, 60_000, analysis('pass'), 10_000, '').action, 'next');
    assert.equal(decideStep({ ...s, step: 2 }, 60_000, analysis('pass'), 10_000, '').action, 'promote');
  });
  it('holds an inconclusive step past its hold up to maxExtension, then rolls back', () => {
    assert.equal(decideStep(s, 60_000, analysis('inconclusive'), 30_000, '').action, 'wait');
    const d = decideStep(s, 60_000, analysis('inconclusive', 'too few'), 70_000, '');
    assert.equal(d.action, 'rollback');
    assert.match(d.reason, /could not show the canary is good within 70s: too few/);
  });
  it('obeys promote and abort requests at once', () => {
    assert.equal(decideStep(s, 60_000, analysis('inconclusive'), 1, 'promote').action, 'promote');
    assert.equal(decideStep(s, 60_000, analysis('pass'), 1, 'abort').action, 'rollback');
    assert.equal(decideStep(s, 60_000, undefined, 1, '').action, 'wait');
  });
});

describe('rollout records and the route table', () => {
  const state = {
    service: 'shop_web',
    canary: canaryName('shop_web'),
    route: 'shop/demo',
    phase: 'progressing',
    canaryWeight: 25,
    steps,
  } as unknown as RolloutState;
  const config = (s: Partial<RolloutState>, request = ''): SwarmConfig => ({
    ID: 'c1',
    Version: { Index: 3 },
    Spec: {
      Name: rolloutRecordName('shop_web'),
      Labels: {
        [labelKindKey]: 'Rollout',
        [labelRolloutState]: JSON.stringify({ ...state, ...s }),
        [labelRolloutRequest]: request,
      },
    },
  });

  it('reads the state and the request back, and serves the weight of active rollouts only', () => {
    const r = parseRolloutConfig(config({}, 'abort'));
    assert.equal(r?.state.canaryWeight, 25);
    assert.equal(r?.request, 'abort');
    assert.deepEqual([...servedRollouts([config({})])], [['shop/demo', { canary: 'shop_web-canary', weight: 25 }]]);
    assert.deepEqual([...servedRollouts([config({ phase: 'rolled-back' })])], []);
    assert.equal(
      parseRolloutConfig({ ...config({}), Spec: { Name: 'x', Labels: { [labelKindKey]: 'Rollout' } } }),
      undefined,
    );
  });

  it('keeps record names within 64 characters', () => {
    assert.equal(rolloutRecordName('shop_web'), 'sc-rollout.shop_web');
    assert.ok(rolloutRecordName('n'.repeat(63)).length <= 64);
  });

  it('puts the canary beside the stable backend with the step weight, shared whatever the task counts', () => {
    const m = { backends: [{ service: 'shop_web', port: 8080, weight: 1 }] };
    const exists = () => true;
    assert.deepEqual(withCanary(m, { canary: 'shop_web-canary', weight: 5 }, exists), [
      { service: 'shop_web', port: 8080, weight: 95 },
      { service: 'shop_web-canary', port: 8080, weight: 5 },
    ]);
    assert.deepEqual(withCanary(m, undefined, exists), m.backends);
    const server = (id: string) => ({ id, address: '10.0.0.1', port: 8080 });
    const [stable, canary] = serverWeights([
      { service: 'shop_web', weight: 95, servers: [server('a'), server('b'), server('c'), server('d')] },
      { service: 'shop_web-canary', weight: 5, servers: [server('e')] },
    ]);
    const share = canary.weight / (canary.weight + 4 * stable.weight);
    assert.ok(Math.abs(share - 0.05) < 0.005, `canary share ${share}`);
    const all = serverWeights([
      { service: 'shop_web', weight: 0, servers: [server('a')] },
      { service: 'shop_web-canary', weight: 100, servers: [server('e')] },
    ]);
    assert.deepEqual(
      all.map((b) => b.weight),
      [0, 256],
    );
  });

  it('leaves out a canary whose service is gone, so the stable service keeps the route', () => {
    const m = { backends: [{ service: 'shop_web', port: 8080, weight: 1 }] };
    const rollout = { canary: 'shop_web-canary', weight: 0 };
    assert.deepEqual(
      withCanary(m, rollout, (s) => s === 'shop_web'),
      m.backends,
    );
    assert.deepEqual(
      withCanary(m, { ...rollout, weight: 50 }, (s) => s === 'shop_web'),
      m.backends,
    );
  });
});
