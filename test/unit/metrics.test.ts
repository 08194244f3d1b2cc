/** The controller's metrics on prom-client: names and types unchanged, process metrics beside them, the exposition text. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  controllerMetrics,
  defaultBuckets,
  metricsContentType,
  processMetricNames,
  Registry,
} from '../../src/controller/metrics.js';

/** Metric name -> type, from the # TYPE lines; and every sample line's metric name. */
export function parseExposition(text: string): { types: Map<string, string>; samples: string[] } {
  const types = new Map<string, string>();
  const samples: string[] = [];
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1], t[2]);
    else if (line && !line.startsWith('#')) samples.push(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? line);
  }
  return { types, samples };
}

describe('metrics registry', () => {
  it('renders a labelled counter, a gauge and a histogram in the text format 0.0.4', async () => {
    const r = new Registry();
    const c = r.counter('http_requests_total', 'Requests handled.', ['method', 'code']);
    c.inc({ method: 'get', code: 200 });
    c.inc({ method: 'get', code: '200' }, 2);
    const g = r.gauge('queue_depth', 'Items waiting.');
    g.set(3);
    g.inc();
    g.dec(0.5);
    const h = r.histogram('push_seconds', 'Push time.', [0.25, 1]);
    for (const v of [0.25, 0.5, 2, 0.125]) h.observe(v);
    assert.equal(
      await r.render(),
      '# HELP http_requests_total Requests handled.\n' +
        '# TYPE http_requests_total counter\n' +
        'http_requests_total{method="get",code="200"} 3\n\n' +
        '# HELP queue_depth Items waiting.\n' +
        '# TYPE queue_depth gauge\n' +
        'queue_depth 3.5\n\n' +
        '# HELP push_seconds Push time.\n' +
        '# TYPE push_seconds histogram\n' +
        'push_seconds_bucket{le="0.25"} 2\n' +
        'push_seconds_bucket{le="1"} 3\n' +
        'push_seconds_bucket{le="+Inf"} 4\n' +
        'push_seconds_sum 2.875\n' +
        'push_seconds_count 4\n',
    );
  });

  it('uses default buckets from 5ms to 60s', () => {
    assert.equal(defaultBuckets[0], 0.005);
    assert.equal(defaultBuckets.at(-1), 60);
  });

  it('names the exposition content type', () => {
    assert.equal(metricsContentType, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('adds the process and Node.js metrics: resident memory, heap, event-loop lag, open handles', async () => {
    const r = new Registry();
    controllerMetrics(r);
    r.collectProcessMetrics();
    const text = await r.render();
    const { types, samples } = parseExposition(text);
    for (const name of processMetricNames) assert.ok(types.has(name), `missing ${name}`);
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.ok(value('process_resident_memory_bytes') > 1_000_000, 'resident memory is measured');
    assert.ok(value('nodejs_heap_size_used_bytes') > 0, 'heap is measured');
    assert.ok(value('nodejs_active_handles_total') >= 0, 'open handles are counted');
    assert.equal(types.get('nodejs_eventloop_lag_seconds'), 'gauge');
    assert.equal(types.get('process_resident_memory_bytes'), 'gauge');
    // Every sample belongs to a declared metric (histograms add _bucket, _sum and _count).
    for (const s of samples) {
      const base = s.replace(/_(bucket|sum|count)$/, '');
      assert.ok(types.has(s) || types.has(base), `sample ${s} has no # TYPE`);
    }
  });
});

describe('controller metrics', () => {
  it('registers every controller metric with its type and labels', async () => {
    const r = new Registry();
    const m = controllerMetrics(r);
    const types = (await r.render())
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
      'swarm_controller_engine_requests_total counter',
      'swarm_controller_lease_rounds_total counter',
      'swarm_controller_swarm_writable gauge',
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
    m.engineRequests.inc({ result: 'no_quorum' });
    m.leaseRounds.inc({ result: 'unavailable' });
    m.swarmWritable.set(0);
    const text = await r.render();
    for (const line of [
      'swarm_controller_reconcile_duration_seconds_bucket{le="0.25",kind="Service",result="success"} 1',
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
      'swarm_controller_engine_requests_total{result="no_quorum"} 1',
      'swarm_controller_lease_rounds_total{result="unavailable"} 1',
      'swarm_controller_swarm_writable 0',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing line: ${line}`);
    }
    assert.throws(
      () => controllerMetrics(r),
      /already been registered/,
      'a registry holds one set of controller metrics',
    );
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
