/** The dashboard's state from a run's memory and from the Swarm's status configs, its fingerprint, and the words of the page. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SwarmConfig } from '../../src/api/swarm-types.js';
import { StatusStore } from '../../src/controller/status.js';
import { runDashboardState } from '../../src/dashboard/from-run.js';
import { swarmDashboardState } from '../../src/dashboard/from-swarm.js';
import { stateFingerprint } from '../../src/dashboard/state.js';
import { ago, esc, planFor, routeRows } from '../../src/dashboard/web/render.js';
import { encodeStatus } from '../../src/status/codec.js';
import { latestStatuses } from '../../src/status/reader.js';
import { fixtureState } from '../helpers/dashboard-fixture.js';

const now = Date.parse('2026-12-06T06:00:00.000Z');

function config(name: string, e: ReturnType<typeof encodeStatus>): SwarmConfig {
  return {
    ID: name,
    Version: { Index: 1 },
    Spec: { Name: name, Data: e.data.toString('base64'), Labels: e.labels },
  };
}

describe('dashboard state', () => {
  it("is the run's own status as a status document, with actions as configured", () => {
    const store = new StatusStore(
      { identity: 'c1', applySet: 'shop', source: '/srv/manifests', driftMode: 'repair' },
      () => now,
    );
    store.revision = 'abc123';
    store.setObject({
      id: 'Service/shop/web',
      kind: 'Service',
      swarmName: 'shop_web',
      phase: 'Failed',
      reason: 'boom',
    });
    const s = runDashboardState({ status: store.toJSON(), version: '0.1.0', actions: true, now });
    assert.equal(s.origin, 'run');
    assert.equal(s.actions, true);
    assert.equal(s.routes, null);
    const app = s.apps[0].document;
    assert.equal(app.kind, 'ApplySet');
    assert.equal(app.syncState, 'Degraded');
    assert.deepEqual(app.writer, { identity: 'c1', version: '0.1.0' });
    assert.equal(app.objects[0].reason, 'boom');
  });

  it('reads every apply set and the route tier from the status configs, and reports the unreadable ones', () => {
    const fixture = fixtureState({ objects: 20 });
    const app = { ...fixture.apps[0].document, writtenAt: new Date(now - 60_000).toISOString() };
    const routes = { ...fixture.routes!.document, writtenAt: new Date(now - 1000).toISOString() };
    const configs = [
      config('swarm-controller-status.shop.42', encodeStatus(app)),
      config('swarm-controller-routes.swarm-controller_proxy.42', encodeStatus(routes)),
      {
        ...config('swarm-controller-status.bad.1', encodeStatus({ ...app, name: 'bad', applySet: 'bad' })),
        Spec: {
          Name: 'swarm-controller-status.bad.1',
          Data: 'bm90IGd6aXA=',
          Labels: { ...encodeStatus({ ...app, name: 'bad', applySet: 'bad' }).labels },
        },
      } as SwarmConfig,
    ];
    const s = swarmDashboardState(latestStatuses(configs, now), { server: 'dashboard@laptop', actions: false, now });
    assert.equal(s.origin, 'swarm');
    assert.deepEqual(
      s.apps.map((a) => [a.document.name, a.stale, a.ageMs]),
      [['shop', true, 60_000]],
      'a document older than three heartbeats (5 s) is stale',
    );
    assert.equal(s.routes?.document.generation, 118);
    assert.equal(s.routes?.stale, false);
    assert.equal(s.problems.length, 1);
    assert.match(s.problems[0], /swarm-controller-status\.bad\.1/);
  });

  it('compares states without their clocks, so an unchanged Swarm sends no event', () => {
    const a = fixtureState({ objects: 5 });
    const b = { ...structuredClone(a), at: '2026-12-06T07:00:00.000Z' };
    b.apps[0].ageMs = 99_000;
    assert.equal(stateFingerprint(a), stateFingerprint(b));
    b.apps[0].document.objects[0].reason = 'changed';
    assert.notEqual(stateFingerprint(a), stateFingerprint(b));
  });
});

describe('dashboard words', () => {
  it('escapes every value it puts in HTML', () => {
    assert.equal(esc('<img src=x onerror="a">&\''), '&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;');
    const s = fixtureState({ objects: 1 });
    const r = structuredClone(s.routes!.document);
    r.served[0].route = '<script>';
    assert.ok(!routeRows(r).includes('<script>'));
  });

  it('says what the controller will do about an object', () => {
    const base = { id: 'Service/a/b', kind: 'Service', swarmName: 'a_b', reason: '', updatedAt: '' };
    const app = { driftMode: 'repair' as const, suspended: false };
    const drift = { at: '', fields: ['spec.replicas'], repaired: false };
    assert.equal(planFor({ ...base, phase: 'Ready' }, app), 'in sync');
    assert.equal(
      planFor({ ...base, phase: 'Ready', drift }, { ...app, driftMode: 'report' }),
      'would repair: spec.replicas',
    );
    assert.equal(planFor({ ...base, phase: 'Failed', drift }, app), 'drift reported, not repaired: spec.replicas');
    assert.equal(planFor({ ...base, phase: 'Stalled' }, app), 'not retried until the manifest or the object changes');
    assert.equal(
      planFor({ ...base, phase: 'Failed' }, { ...app, suspended: true }),
      'suspended: nothing is applied until resume',
    );
    assert.equal(ago('2026-12-06T05:59:30.000Z', '2026-12-06T06:00:00.000Z'), '30 s ago');
    assert.equal(ago(null, '2026-12-06T06:00:00.000Z'), '—');
  });
});
