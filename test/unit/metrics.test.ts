/** The Prometheus registry: exact text exposition 0.0.4, escaping, validation, determinism, controller metrics. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { controllerMetrics, defaultBuckets, metricsContentType, Registry } from '../../src/controller/metrics.js';

describe('metrics registry', () => {
  it('renders a labelled counter with HELP, TYPE and one line per series', () => {
    const r = new Registry();
    const c = r.counter('http_requests_total', 'Requests handled.', ['method', 'code']);
    c.inc({ method: 'post', code: '500' });
    c.inc({ method: 'get', code: 200 });
    c.inc({ method: 'get', code: '200' }, 2);
    assert.equal(c.get({ method: 'get', code: 200 }), 3);
    assert.equal(
      r.render(),
      '# HELP http_requests_total Requests handled.\n' +
        '# TYPE http_requests_total counter\n' +
        'http_requests_total{method="get",code="200"} 3\n' +
        'http_requests_total{method="post",code="500"} 1\n',
    );
  });

  it('renders an unlabelled gauge, at zero before it is set, then after set, inc and dec', () => {
    const r = new Registry();
    const g = r.gauge('queue_depth', 'Items waiting.');
    assert.equal(r.render(), '# HELP queue_depth Items waiting.\n# TYPE queue_depth gauge\nqueue_depth 0\n');
    g.set(3);
    g.inc();
    g.dec(0.5);
    g.inc(undefined, 2);
    assert.equal(g.get(), 5.5);
    assert.equal(r.render(), '# HELP queue_depth Items waiting.\n# TYPE queue_depth gauge\nqueue_depth 5.5\n');
    g.set(-Infinity);
    assert.match(r.render(), /^queue_depth -Inf$/m);
  });

  it('renders a labelled metric with no series yet as HELP and TYPE only', () => {
    const r = new Registry();
    r.gauge('info', 'Info.', ['version']);
    assert.equal(r.render(), '# HELP info Info.\n# TYPE info gauge\n');
  });

  it('renders a histogram with cumulative buckets up to +Inf, _sum and _count', () => {
    const r = new Registry();
    const h = r.histogram('push_seconds', 'Push time.', [0.25, 1]);
    for (const v of [0.25, 0.5, 2, 0.125]) h.observe(v);
    assert.deepEqual(h.get(), { count: 4, sum: 2.875 });
    assert.equal(
      r.render(),
      '# HELP push_seconds Push time.\n' +
        '# TYPE push_seconds histogram\n' +
        'push_seconds_bucket{le="0.25"} 2\n' +
        'push_seconds_bucket{le="1"} 3\n' +
        'push_seconds_bucket{le="+Inf"} 4\n' +
        'push_seconds_sum 2.875\n' +
        'push_seconds_count 4\n',
    );
  });

  it("puts a labelled histogram's le after its own labels", () => {
    const r = new Registry();
    const h = r.histogram('reconcile_seconds', 'Reconcile time.', [1], ['kind', 'result']);
    h.observe({ kind: 'Service', result: 'success' }, 0.5);
    h.observe({ kind: 'Network', result: 'failed' }, 3);
    assert.equal(
      r.render(),
      '# HELP reconcile_seconds Reconcile time.\n' +
        '# TYPE reconcile_seconds histogram\n' +
        'reconcile_seconds_bucket{kind="Network",result="failed",le="1"} 0\n' +
        'reconcile_seconds_bucket{kind="Network",result="failed",le="+Inf"} 1\n' +
        'reconcile_seconds_sum{kind="Network",result="failed"} 3\n' +
        'reconcile_seconds_count{kind="Network",result="failed"} 1\n' +
        'reconcile_seconds_bucket{kind="Service",result="success",le="1"} 1\n' +
        'reconcile_seconds_bucket{kind="Service",result="success",le="+Inf"} 1\n' +
        'reconcile_seconds_sum{kind="Service",result="success"} 0.5\n' +
        'reconcile_seconds_count{kind="Service",result="success"} 1\n',
    );
  });

  it('uses default buckets from 5ms to 60s', () => {
    assert.equal(defaultBuckets[0], 0.005);
    assert.equal(defaultBuckets[defaultBuckets.length - 1], 60);
    const r = new Registry();
    r.histogram('d_seconds', 'D.');
    const les = [...r.render().matchAll(/le="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(les, [...defaultBuckets.map(String), '+Inf']);
  });

  it('escapes backslash, double quote and newline in label values, and backslash and newline in help', () => {
    const r = new Registry();
    const c = r.counter('odd_total', 'Help with \\ and\nnewline and "quotes".', ['path']);
    c.inc({ path: 'C:\\dir\\"x"\nnext' });
    assert.equal(
      r.render(),
      '# HELP odd_total Help with \\\\ and\\nnewline and "quotes".\n' +
        '# TYPE odd_total counter\n' +
        'odd_total{path="C:\\\\dir\\\\\\"x\\"\\nnext"} 1\n',
    );
  });

  it('refuses invalid metric names, label names and duplicate registrations', () => {
    const r = new Registry();
    for (const bad of ['', '1abc', 'a-b', 'a b', 'é']) {
      assert.throws(() => r.counter(bad, 'x'), /invalid metric name/);
    }
    assert.doesNotThrow(() => r.counter('ns:sub_name_1', 'x'));
    assert.doesNotThrow(() => r.counter('_private', 'x'));
    assert.throws(() => r.gauge('g1', 'x', ['a-b']), /invalid label name/);
    assert.throws(() => r.gauge('g2', 'x', ['1a']), /invalid label name/);
    assert.throws(() => r.gauge('g3', 'x', ['__reserved']), /invalid label name/);
    assert.throws(() => r.gauge('g4', 'x', ['a', 'a']), /given twice/);
    assert.throws(() => r.histogram('h1', 'x', [1], ['le']), /"le"/);
    assert.throws(() => r.histogram('h2', 'x', [1, 1]), /must increase/);
    assert.throws(() => r.histogram('h3', 'x', [2, 1]), /must increase/);
    assert.throws(() => r.histogram('h4', 'x', [NaN]), /must be numbers/);
    r.counter('dup_total', 'x');
    assert.throws(() => r.gauge('dup_total', 'x'), /already registered/);
    r.histogram('lat_seconds', 'x');
    assert.throws(() => r.counter('lat_seconds_sum', 'x'), /already registered/);
    assert.throws(() => r.histogram('lat_seconds', 'x'), /already registered/);
  });

  it('refuses wrong labels and impossible values at use', () => {
    const r = new Registry();
    const c = r.counter('c_total', 'x', ['kind']);
    // @ts-expect-error a labelled counter needs its labels
    assert.throws(() => c.inc(), /missing label "kind"/);
    // @ts-expect-error unknown label
    assert.throws(() => c.inc({ kind: 'a', other: 'b' }), /unknown label "other"/);
    assert.throws(() => c.inc({ kind: 'a' }, -1), /only goes up/);
    assert.throws(() => c.inc({ kind: 'a' }, NaN), /only goes up/);
    const h = r.histogram('h_seconds', 'x');
    assert.throws(() => h.observe(NaN), /cannot observe/);
    assert.equal(r.render().includes('c_total{'), false, 'failed calls leave no series behind');
  });

  it('is deterministic: registration order for metrics, label order for series', () => {
    const build = (order: string[]) => {
      const r = new Registry();
      const b = r.counter('b_total', 'B.', ['x']);
      const a = r.gauge('a', 'A.', ['x', 'y']);
      for (const v of order) {
        b.inc({ x: v });
        a.set({ x: v, y: v.toUpperCase() }, v.length);
      }
      return r.render();
    };
    const one = build(['b', 'a', 'ab', 'B', '']);
    assert.equal(one, build(['', 'B', 'ab', 'a', 'b']));
    assert.equal(one, build(['ab', '', 'b', 'B', 'a']));
    assert.ok(one.indexOf('b_total') < one.indexOf('# HELP a '), 'metrics appear in registration order');
    const series = one
      .split('\n')
      .filter((l) => l.startsWith('b_total{'))
      .map((l) => l.slice(0, l.indexOf('}') + 1));
    assert.deepEqual(series, [
      'b_total{x=""}',
      'b_total{x="B"}',
      'b_total{x="a"}',
      'b_total{x="ab"}',
      'b_total{x="b"}',
    ]);
  });

  it('names the exposition content type', () => {
    assert.equal(metricsContentType, 'text/plain; version=0.0.4; charset=utf-8');
  });
});

describe('controller metrics', () => {
  it('registers every controller metric with its type and labels', () => {
    const r = new Registry();
    const m = controllerMetrics(r);
    const types = r
      .render()
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.slice('# TYPE '.length));
    assert.deepEqual(types, [
      'swarm_controller_reconcile_duration_seconds histogram',
      'swarm_controller_queue_depth gauge',
      'swarm_controller_actions_total counter',
      'swarm_controller_drift_repairs_total counter',
      'swarm_controller_sync_total counter',
      'swarm_controller_sync_failures_total counter',
      'swarm_controller_sync_duration_seconds histogram',
      'swarm_controller_last_sync_timestamp_seconds gauge',
      'swarm_controller_leader gauge',
      'swarm_controller_suspended gauge',
      'swarm_controller_proxy_push_duration_seconds histogram',
      'swarm_controller_proxy_pushes_total counter',
      'swarm_controller_route_table_generation gauge',
      'swarm_controller_routes gauge',
      'swarm_controller_route_servers gauge',
      'swarm_controller_proxy_replicas gauge',
      'swarm_controller_build_info gauge',
      'swarm_controller_image_checks_total counter',
      'swarm_controller_image_digest_changes_total counter',
      'swarm_controller_images_pinned gauge',
      'swarm_controller_reconcile_errors_total counter',
    ]);

    m.reconcileDuration.observe({ kind: 'Service', result: 'success' }, 0.2);
    m.queueDepth.set(4);
    m.actions.inc({ kind: 'Service', action: 'update', result: 'success' });
    m.driftRepairs.inc({ kind: 'Service', mode: 'repaired' });
    m.sync.inc({ result: 'invalid' });
    m.syncFailures.inc();
    m.syncDuration.observe(1.5);
    m.lastSyncTimestamp.set(1_700_000_000);
    m.leader.set(1);
    m.suspended.set(0);
    m.proxyPushDuration.observe(0.01);
    m.buildInfo.set({ version: '0.1.0', node: 'v20.20.2' }, 1);
    m.reconcileErrors.inc({ kind: 'Service', type: 'terminal' });
    const text = r.render();
    for (const line of [
      'swarm_controller_reconcile_duration_seconds_bucket{kind="Service",result="success",le="0.25"} 1',
      'swarm_controller_queue_depth 4',
      'swarm_controller_actions_total{kind="Service",action="update",result="success"} 1',
      'swarm_controller_drift_repairs_total{kind="Service",mode="repaired"} 1',
      'swarm_controller_sync_total{result="invalid"} 1',
      'swarm_controller_sync_failures_total 1',
      'swarm_controller_sync_duration_seconds_count 1',
      'swarm_controller_last_sync_timestamp_seconds 1700000000',
      'swarm_controller_leader 1',
      'swarm_controller_suspended 0',
      'swarm_controller_proxy_push_duration_seconds_bucket{le="0.01"} 1',
      'swarm_controller_build_info{version="0.1.0",node="v20.20.2"} 1',
      'swarm_controller_reconcile_errors_total{kind="Service",type="terminal"} 1',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing line: ${line}`);
    }
    assert.throws(() => controllerMetrics(r), /already registered/, 'a registry holds one set of controller metrics');
  });

  it('types the enumerated label values (checked by the compiler, never run)', () => {
    const typeChecks = (m: ReturnType<typeof controllerMetrics>) => {
      // @ts-expect-error mode is repaired or reported
      m.driftRepairs.inc({ kind: 'Service', mode: 'fixed' });
      // @ts-expect-error result is success, failed or invalid
      m.sync.inc({ result: 'ok' });
      // @ts-expect-error type is terminal or transient
      m.reconcileErrors.inc({ kind: 'Service', type: 'fatal' });
      // @ts-expect-error actions needs kind, action and result
      m.actions.inc({ kind: 'Service' });
    };
    assert.equal(typeof typeChecks, 'function');
  });
});
