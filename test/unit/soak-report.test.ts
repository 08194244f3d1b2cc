import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { markdown, maxOf, percentile, slope, trend, type Series, type SoakReport } from '../../bench/soak-report.js';

const minute = 60_000;

describe('the soak report', () => {
  it('slope is the least-squares fit of y over x', () => {
    assert.equal(
      slope([
        { x: 0, y: 1 },
        { x: 1, y: 3 },
        { x: 2, y: 5 },
      ]),
      2,
    );
    assert.equal(
      slope([
        { x: 0, y: 1 },
        { x: 1, y: 2 },
      ]),
      null,
    );
    assert.equal(
      slope([
        { x: 1, y: 1 },
        { x: 1, y: 2 },
        { x: 1, y: 3 },
      ]),
      null,
    );
  });

  it('trend fits only the samples after the warm-up, per hour', () => {
    // 10 minutes of growth by 5 MB a minute (warm-up), then 0.1 MB a minute: 6 MB an hour
    const samples = Array.from({ length: 41 }, (_, i) => {
      const t = i * 0.5 * minute;
      const rssMb = t <= 10 * minute ? 50 + (t / minute) * 5 : 100 + ((t - 10 * minute) / minute) * 0.1;
      return { t, rssMb, fds: i < 20 ? 20 + i : 40 };
    });
    const s: Series = { name: 'controller', container: 'abcdef0123456789', samples };
    const tr = trend(s, 10 * minute);
    assert.equal(tr.rssSlopeMbPerHour, 6);
    assert.equal(tr.fdsSlopePerHour, 0);
    assert.equal(tr.points, 21);
    assert.equal(tr.fittedMinutes, 10);
    assert.equal(tr.container, 'abcdef012345');
    assert.equal(tr.rssMaxMb, 101);
    assert.equal(tr.fdsMax, 40);
  });

  it('trend has no slope when too few samples follow the warm-up', () => {
    const s: Series = {
      name: 'proxy agent (n2)',
      container: 'c',
      samples: [
        { t: 0, rssMb: 40, fds: 30 },
        { t: minute, rssMb: 41, fds: 30 },
      ],
    };
    assert.equal(trend(s, 10 * minute).rssSlopeMbPerHour, null);
  });

  it("maxOf takes an hour's latencies, more values than a call's arguments may be", () => {
    const latencies = Array.from({ length: 400_000 }, (_, i) => (i * 7919) % 1000);
    latencies[123_456] = 4321.5;
    assert.equal(maxOf(latencies), 4321.5);
    assert.equal(maxOf([]), 0);
  });

  it('percentile is the nearest rank', () => {
    assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
    assert.equal(percentile([5, 1, 4, 2, 3], 99), 5);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('the markdown names failures and slopes with their signs', () => {
    const r: SoakReport = {
      startedAt: '2026-12-06T12:00:00.000Z',
      minutes: 5,
      machine: 'm',
      engine: 'engine 20.10',
      layout: '1 manager(s) + 2 workers',
      settings: { sampleSeconds: 10 },
      requests: {
        sent: 100,
        ok: 99,
        failed: 1,
        failures: { 'HTTP 503 from a/web/': 1 },
        windows: { 'HTTP 503 from a/web/': [12, 12] },
        samples: ['12.0 s: HTTP 503 from a/web/'],
        perSecond: 0.3,
        latencyMs: { p50: 2, p99: 9, max: 20 },
      },
      crashes: [],
      commits: { pushed: 4, applied: 4, notApplied: [] },
      syncLatencyS: { p50: 4, p90: 6, p99: 6, max: 6 },
      scaleEvents: 30,
      loadAverage: { mean: 9.5, max: 15 },
      proxyRestarts: [{ at: 150, node: 'n2', backInSyncS: 12.5 }],
      warmupMinutes: 1,
      trends: [
        trend(
          {
            name: 'controller',
            container: 'c',
            samples: [0, 1, 2, 3].map((i) => ({ t: i * minute, rssMb: 80 - i, fds: 30 })),
          },
          0,
        ),
      ],
    };
    const md = markdown(r);
    assert.match(md, /\| requests \(failed \/ sent\) \| 1 \/ 100 \(0.3 per second\) \|/);
    assert.match(
      md,
      /\| controller \| c \| 80 → 77 MB \(80\) \| -60 MB\/h \| 30 → 30 \(30\) \| 0 \/h \| 4 samples, 3 min \|/,
    );
    assert.match(md, /n2 at 2.5 min: 12.5 s/);
    assert.match(md, /\| machine load average \(1 min\) mean \/ max \| 9.5 \/ 15 \|/);
    assert.match(md, /Failures: 1 × HTTP 503 from a\/web\/ \(12-12 s\)/);
  });
});
