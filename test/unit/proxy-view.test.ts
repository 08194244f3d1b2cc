import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { TrafficStats } from '../../src/proxy/traffic-counters.js';
import { FakeClock } from '../../src/queue/clock.js';
import type { AgentAnswer, AgentStatsReader } from '../../src/routes/agent-client.js';
import { ProxyObserver } from '../../src/routes/proxy-observer.js';
import { healthOf, mergedHealth, seenServers, serverKey, serverView } from '../../src/routes/proxy-view.js';
import { eventually } from '../helpers/eventually.js';

const log = pino({ level: 'silent' });

type Row = { task: string; health?: string; weight?: number; inTable?: boolean };
function stats(route: string, rows: Row[], routeInTable = true): TrafficStats {
  const zero = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 };
  return {
    epoch: 'e',
    startedAt: '2026-12-06T00:00:00Z',
    sampledAt: '2026-12-06T00:00:01Z',
    latencyBoundsMs: [],
    routes: [
      {
        route,
        backend: `rt_${route}`,
        inTable: routeInTable,
        unattributed: { requests: 0, responses: zero, redispatched: 0 },
        servers: rows.map((r, i) => ({
          service: 'shop_web',
          task: r.task,
          server: `shop_web_${i + 1}`,
          address: `10.0.0.${i + 1}:80`,
          inTable: r.inTable ?? true,
          requests: 0,
          responses: zero,
          redispatched: 0,
          responseTime: {},
          health:
            r.health !== undefined
              ? { status: r.health, check: 'L7OK', ...(r.weight !== undefined ? { weight: r.weight } : {}) }
              : null,
        })),
      },
    ],
    unrouted: { requests: 0, responses: zero },
    collection: {
      logLines: 0,
      unparsedLines: 0,
      haproxyMessages: 0,
      droppedByKernel: 0,
      droppedByHaproxy: 0,
      statsReads: 1,
      statsErrors: 0,
      lastStatsError: null,
      workers: [1],
    },
  } as unknown as TrafficStats;
}

describe("proxy replicas' view of the servers", () => {
  it("reads HAProxy's status text as one word", () => {
    assert.deepEqual(
      ['UP', 'UP 1/3', 'DOWN', 'DOWN 1/2', 'NOLB', 'MAINT', 'MAINT(via)', 'DRAIN', 'no check', 'odd', undefined].map(
        healthOf,
      ),
      ['up', 'up', 'down', 'down', 'down', 'maint', 'maint', 'drain', 'unchecked', 'unknown', 'unknown'],
    );
  });

  it('keeps only servers in the table whose state was reported', () => {
    const seen = seenServers(
      stats('shop/web', [
        { task: 't1', health: 'UP', weight: 2 },
        { task: 't2', health: 'DOWN', weight: 0 },
        { task: 't3' }, // not read yet
        { task: 't4', health: 'UP', inTable: false }, // left the table
      ]),
    );
    assert.deepEqual(
      [...seen.entries()],
      [
        [serverKey('shop/web', 't1'), { state: 'UP', weight: 2 }],
        [serverKey('shop/web', 't2'), { state: 'DOWN', weight: 0 }],
      ],
    );
    assert.equal(seenServers(stats('old/route', [{ task: 't1', health: 'UP' }], false)).size, 0);
  });

  it('merges: agreement gives that health, disagreement mixed, no report unknown', () => {
    assert.equal(mergedHealth([{ health: 'down' }, { health: 'down' }]), 'down');
    assert.equal(mergedHealth([{ health: 'up' }, { health: 'down' }]), 'mixed');
    assert.equal(mergedHealth([{ health: 'up' }, { health: 'unknown' }]), 'up');
    assert.equal(mergedHealth([{ health: 'unknown' }]), 'unknown');
    assert.equal(mergedHealth([]), 'unknown');
  });

  it('puts every replica, in task order, beside a server', () => {
    const a = {
      task: 'p2',
      error: null,
      servers: seenServers(stats('shop/web', [{ task: 't1', health: 'DOWN', weight: 0 }])),
    };
    const b = {
      task: 'p1',
      error: null,
      servers: seenServers(stats('shop/web', [{ task: 't1', health: 'UP', weight: 1 }])),
    };
    const gone = { task: 'p3', error: 'ECONNREFUSED', servers: new Map() };
    assert.deepEqual(serverView('shop/web', 't1', [a, b, gone]), {
      health: 'mixed',
      proxies: [
        { replica: 'p1', health: 'up', state: 'UP', weight: 1 },
        { replica: 'p2', health: 'down', state: 'DOWN', weight: 0 },
        { replica: 'p3', health: 'unknown' },
      ],
    });
    assert.deepEqual(serverView('shop/web', 't9', [b]), {
      health: 'unknown',
      proxies: [{ replica: 'p1', health: 'unknown' }],
    });
  });
});

class FakeStats implements AgentStatsReader {
  answers = new Map<string, TrafficStats>();
  reads: string[] = [];
  async getStats(address: string): Promise<AgentAnswer<TrafficStats>> {
    await Promise.resolve();
    this.reads.push(address);
    const s = this.answers.get(address);
    return s ? { ok: true, value: s } : { ok: false, status: 0, error: 'ECONNREFUSED' };
  }
}

describe('proxy observer', () => {
  it('reads each replica once per interval, forgets a view whose read failed, drops replicas gone', async () => {
    const clock = new FakeClock();
    const reader = new FakeStats();
    reader.answers.set('10.0.0.1', stats('shop/web', [{ task: 't1', health: 'UP', weight: 1 }]));
    let rounds = 0;
    const o = new ProxyObserver({ reader, clock, log, intervalMs: 1000, onRound: () => rounds++ });
    o.setReplicas([
      { task: 'p1', address: '10.0.0.1' },
      { task: 'p2', address: '10.0.0.2' },
    ]);
    assert.deepEqual(
      o.views().map((v) => v.error),
      ['not read yet', 'not read yet'],
    );
    o.start();
    try {
      await eventually(() => rounds >= 3, 60_000, 'three rounds', { clock });
      // the rate bound: one read per replica per interval (a round at 0, 1000, 2000 ms ...)
      const intervals = Math.floor(clock.now() / 1000) + 1;
      assert.ok(reader.reads.length <= intervals * 2, `${reader.reads.length} reads in ${clock.now()} ms`);
      assert.equal(
        reader.reads.filter((a) => a === '10.0.0.1').length,
        reader.reads.filter((a) => a === '10.0.0.2').length,
      );
      const [p1, p2] = o.views();
      assert.equal(p1.error, null);
      assert.deepEqual(p1.servers.get(serverKey('shop/web', 't1')), { state: 'UP', weight: 1 });
      assert.equal(p2.error, 'ECONNREFUSED');
      // the replica stops answering: its view goes
      reader.answers.delete('10.0.0.1');
      const before = rounds;
      await eventually(() => rounds > before, 60_000, 'the next round', { clock });
      assert.equal(o.views()[0].servers.size, 0);
      assert.equal(o.views()[0].error, 'ECONNREFUSED');
      o.setReplicas([{ task: 'p2', address: '10.0.0.2' }]);
      assert.deepEqual(
        o.views().map((v) => v.task),
        ['p2'],
      );
    } finally {
      await o.stop();
    }
  });
});
