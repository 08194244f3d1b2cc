/**
 * The agent's traffic counters without HAProxy: parsing the request log, `show stat` and
 * /proc/net/udp; attribution of requests and failed attempts to tasks by address; counters
 * that never go down across workers; retention; and traffic windows between two reads.
 * Pure: a fake clock, no processes (test/integration/ has the same against the real HAProxy).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseShowProc } from '../../src/proxy/haproxy-process.js';
import { parseServerStats, splitCsvLine } from '../../src/proxy/haproxy-stats.js';
import { bucketIndex, fromSparse, latencyBoundsMs, toSparse } from '../../src/proxy/latency-histogram.js';
import { parseUdpDrops } from '../../src/proxy/request-log-receiver.js';
import { parseRequestLog, requestLogFormat } from '../../src/proxy/request-log.js';
import { tableChecksum, type Route, type RouteTable } from '../../src/proxy/route-table.js';
import { assignSlots, type SlotMap } from '../../src/proxy/slots.js';
import { TrafficCounters, type TrafficStats } from '../../src/proxy/traffic-counters.js';
import { coldServers, isWarm, sumWindows, windowBetween } from '../../src/rollout/traffic-window.js';

function routeOf(name: string, services: Record<string, [string, string, number][]>): Route {
  return {
    name,
    hosts: [],
    pathPrefix: '/',
    stripPrefix: false,
    sticky: null,
    balance: 'roundrobin',
    healthCheck: null,
    timeouts: { connectMs: 1000, serverMs: 1000 },
    redirectToHttps: false,
    tls: null,
    backends: Object.entries(services).map(([service, servers]) => ({
      service,
      weight: 10,
      servers: servers.map(([id, address, port]) => ({ id, address, port })),
    })),
  };
}

function tableOf(routes: Route[]): RouteTable {
  return { generation: 1, checksum: tableChecksum(routes), routes };
}

const line = (backend: string, server: string, addr: string, status: number, tr: number) =>
  `sc1 ${backend} ${server} ${addr} ${status} ${tr}\n`;

/** A `show stat` answer with the columns the parser needs, in HAProxy's order, and a quoted field. */
function showStat(rows: [string, string, string, number][]): string {
  const head = '# pxname,svname,qcur,wredis,status,type,last_chk,addr,';
  const body = rows.map(([px, sv, addr, wredis]) => `${px},${sv},0,${wredis},UP,2,"a, ""quoted"" check",${addr},`);
  return [head, `${rows[0]?.[0] ?? 'x'},BACKEND,0,0,UP,1,,,`, ...body, ''].join('\n');
}

function counters(): { c: TrafficCounters; clock: { now: number } } {
  const clock = { now: Date.parse('2026-12-01T10:00:00Z') };
  return { c: new TrafficCounters({ epoch: 'e1', now: () => clock.now, retentionMs: 60_000 }), clock };
}

const server = (s: TrafficStats, route: string, task: string) =>
  s.routes.find((r) => r.route === route)?.servers.find((x) => x.task === task);

describe('request log and stats parsing', () => {
  it('parses our request lines, and nothing else', () => {
    assert.equal(requestLogFormat, 'sc1 %b %s %si:%sp %ST %Tr');
    assert.deepEqual(parseRequestLog('sc1 rt_shop:web shop_web_1 10.0.0.5:8080 200 12\n'), {
      backend: 'rt_shop:web',
      server: 'shop_web_1',
      address: '10.0.0.5:8080',
      status: 200,
      responseMs: 12,
    });
    assert.deepEqual(parseRequestLog('sc1 rt_shop:web <NOSRV> -:- 503 -1'), {
      backend: 'rt_shop:web',
      server: '<NOSRV>',
      address: undefined,
      status: 503,
      responseMs: undefined,
    });
    assert.equal(parseRequestLog('Proxy http stopped (cumulated conns: FE: 0, BE: 0).'), undefined);
    assert.equal(parseRequestLog('sc1 rt_a s 1.2.3.4:5 abc 1'), undefined);
    assert.equal(parseRequestLog('sc1 rt_a s 1.2.3.4:5 200'), undefined);
  });

  it('reads server rows of show stat by column name, quoted fields included', () => {
    assert.deepEqual(splitCsvLine('a,"b,c","d""e",'), ['a', 'b,c', 'd"e', '']);
    assert.deepEqual(parseServerStats(showStat([['rt_shop:web', 'shop_web_1', '10.0.0.5:8080', 7]])), [
      {
        backend: 'rt_shop:web',
        server: 'shop_web_1',
        address: '10.0.0.5:8080',
        redispatched: 7,
        status: 'UP',
        checkStatus: '',
      },
    ]);
    const checked = '# pxname,svname,wredis,status,type,addr,check_status\nrt_a,s_1,0,DOWN 1/2,2,10.0.0.7:80,L7OK\n';
    assert.deepEqual(
      parseServerStats(checked).map((r) => [r.status, r.checkStatus]),
      [['DOWN 1/2', 'L7OK']],
    );
    const withWeight =
      '# pxname,svname,type,addr,wredis,status,weight\nrt_a,s1,2,10.0.0.9:80,0,DOWN,0\nrt_a,s2,2,10.0.0.8:80,0,UP 1/3,3\n';
    assert.deepEqual(
      parseServerStats(withWeight).map((r) => [r.server, r.status, r.weight]),
      [
        ['s1', 'DOWN', 0],
        ['s2', 'UP 1/3', 3],
      ],
    );
    assert.throws(() => parseServerStats('Unknown command'), /no "# pxname/);
    assert.throws(() => parseServerStats('# pxname,svname,type,addr\n'), /no column wredis/);
  });

  it('lists old workers of show proc apart from the current ones', () => {
    const p = parseShowProc(
      [
        '#<PID>          <type>          <reloads>       <uptime>        <version>',
        '26529           master          1 [failed: 0]   0d00h00m04s     2.6.12',
        '# workers',
        '26776           worker          0               0d00h00m00s     2.6.12',
        '# old workers',
        '26531           worker          1               0d00h00m04s     2.6.12',
        '# programs',
        '',
      ].join('\n'),
    );
    assert.deepEqual(p, { masterPid: 26529, reloads: 1, failedReloads: 0, workers: [26776], oldWorkers: [26531] });
  });

  it('finds the drops of its own UDP socket in /proc/net/udp', () => {
    const text = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  101: 0100007F:9C41 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000 3',
      '  102: 0100007F:9C40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000 17',
    ].join('\n');
    assert.equal(parseUdpDrops(text, 0x9c40), 17);
    assert.equal(parseUdpDrops(text, 1234), 0);
  });

  it('histogram buckets: every ms to 16, then at most 12% wide (9% above 100 ms) to 65.5 s; sparse round trip', () => {
    assert.deepEqual(latencyBoundsMs.slice(0, 18), [...Array(17).keys(), 17]);
    assert.equal(latencyBoundsMs[latencyBoundsMs.length - 1], 65536);
    for (let i = 17; i < latencyBoundsMs.length; i++)
      assert.ok(
        latencyBoundsMs[i] / latencyBoundsMs[i - 1] <= (latencyBoundsMs[i] > 100 ? 1.095 : 1.12),
        `bucket ${i} is too wide`,
      );
    assert.equal(bucketIndex(0), 0);
    assert.equal(bucketIndex(16), 16);
    assert.equal(bucketIndex(17), 17);
    assert.equal(bucketIndex(10 ** 6), latencyBoundsMs.length);
    const h = fromSparse({
      count: 3,
      sumMs: 30,
      buckets: [
        [5, 2],
        [17, 1],
      ],
    });
    assert.deepEqual(toSparse(h), {
      count: 3,
      sumMs: 30,
      buckets: [
        [5, 2],
        [17, 1],
      ],
    });
  });
});

describe('TrafficCounters', () => {
  const web = (servers: [string, string, number][], canary: [string, string, number][] = []) =>
    tableOf([routeOf('shop/web', { shop_web: servers, ...(canary.length ? { shop_canary: canary } : {}) })]);

  it('counts requests, status classes and response times per task, by address', () => {
    const { c } = counters();
    const t = web([['t1', '10.0.0.5', 80]], [['c1', '10.0.0.9', 80]]);
    c.setTable(t, assignSlots(t));
    c.recordRequest(parseRequestLog(line('rt_shop:web', 'shop_web_1', '10.0.0.5:80', 200, 12))!);
    c.recordRequest(parseRequestLog(line('rt_shop:web', 'shop_canary_1', '10.0.0.9:80', 500, 3))!);
    c.recordRequest(parseRequestLog(line('rt_shop:web', 'shop_canary_1', '10.0.0.9:80', 503, -1))!);
    c.recordRequest(parseRequestLog(line('rt_shop:web', '<NOSRV>', '-:-', 301, -1))!);
    c.recordRequest(parseRequestLog(line('no_route', '<NOSRV>', '-:-', 404, -1))!);
    c.recordOtherLine('haproxy');
    const s = c.snapshot();
    const t1 = server(s, 'shop/web', 't1')!;
    assert.equal(t1.requests, 1);
    assert.equal(t1.responses['2xx'], 1);
    assert.deepEqual(t1.responseTime, { count: 1, sumMs: 12, buckets: [[12, 1]] });
    const c1 = server(s, 'shop/web', 'c1')!;
    assert.deepEqual([c1.requests, c1.responses['5xx'], c1.responseTime.count], [2, 2, 1]);
    assert.equal(c1.service, 'shop_canary');
    assert.equal(s.routes[0].unattributed.requests, 1);
    assert.equal(s.unrouted.requests, 1);
    assert.deepEqual([s.collection.logLines, s.collection.haproxyMessages], [5, 1]);
  });

  it('a slot taken by another task: later lines of the old address stay with the old task', () => {
    const { c } = counters();
    const t1 = web([['t1', '10.0.0.5', 80]]);
    const slots1 = assignSlots(t1);
    c.setTable(t1, slots1);
    const t2 = web([['t2', '10.0.0.6', 80]]);
    const slots2: SlotMap = assignSlots(t2, slots1);
    assert.deepEqual(slots2['shop/web'].shop_web[0], 't2', 'the new task has the same slot');
    c.setTable(t2, slots2);
    // a request t1 was still answering when it left, logged after the change
    c.recordRequest(parseRequestLog(line('rt_shop:web', 'shop_web_1', '10.0.0.5:80', 200, 40))!);
    c.recordRequest(parseRequestLog(line('rt_shop:web', 'shop_web_1', '10.0.0.6:80', 200, 5))!);
    const s = c.snapshot();
    assert.deepEqual(
      s.routes[0].servers.map((x) => [x.task, x.server, x.inTable, x.requests]),
      [
        ['t1', 'shop_web_1', false, 1],
        ['t2', 'shop_web_1', true, 1],
      ],
    );
  });

  it('failed attempts from every worker add up and never go down across a reload', () => {
    const { c } = counters();
    const t = web([
      ['t1', '10.0.0.5', 80],
      ['t2', '10.0.0.6', 80],
    ]);
    c.setTable(t, assignSlots(t));
    const row = (srv: string, addr: string, n: number): [string, string, string, number] => [
      'rt_shop:web',
      srv,
      addr,
      n,
    ];
    c.recordWorkerSample(100, parseServerStats(showStat([row('shop_web_2', '10.0.0.6:80', 3)])), 0);
    c.recordWorkerSample(100, parseServerStats(showStat([row('shop_web_2', '10.0.0.6:80', 5)])), 1);
    c.setWorkers([100]);
    assert.equal(server(c.snapshot(), 'shop/web', 't2')!.redispatched, 5);
    // a reload: worker 200 starts at zero while 100 finishes its last requests
    c.recordWorkerSample(200, parseServerStats(showStat([row('shop_web_2', '10.0.0.6:80', 1)])), 0);
    c.recordWorkerSample(100, parseServerStats(showStat([row('shop_web_2', '10.0.0.6:80', 6)])), 1);
    c.setWorkers([200, 100]);
    assert.equal(server(c.snapshot(), 'shop/web', 't2')!.redispatched, 7);
    // worker 100 exits; 200 goes on
    c.recordWorkerSample(200, parseServerStats(showStat([row('shop_web_2', '10.0.0.6:80', 2)])), 2);
    c.setWorkers([200]);
    const s = c.snapshot();
    assert.equal(server(s, 'shop/web', 't2')!.redispatched, 8);
    assert.equal(server(s, 'shop/web', 't1')!.redispatched, 0);
    assert.equal(s.collection.droppedByHaproxy, 3);
    assert.deepEqual(s.collection.workers, [200]);
  });

  it("a task's health is the current worker's view of its server, read with the counters", () => {
    const { c } = counters();
    const t = web([['t1', '10.0.0.5', 80]]);
    c.setTable(t, assignSlots(t));
    assert.equal(server(c.snapshot(), 'shop/web', 't1')!.health, null, 'not read yet');
    const stat = (status: string, check: string) =>
      `# pxname,svname,wredis,status,type,addr,check_status\nrt_shop:web,shop_web_1,0,${status},2,10.0.0.5:80,${check}\n`;
    c.recordWorkerSample(100, parseServerStats(stat('UP', 'INI')), 0);
    assert.deepEqual(server(c.snapshot(), 'shop/web', 't1')!.health, { status: 'UP', check: 'INI' });
    c.recordWorkerSample(100, parseServerStats(stat('UP', 'L7OK')), 0);
    // an old worker finishing its connections does not speak for the server
    c.recordWorkerSample(90, parseServerStats(stat('DOWN', 'L4CON')), 0, false);
    assert.deepEqual(server(c.snapshot(), 'shop/web', 't1')!.health, { status: 'UP', check: 'L7OK' });
  });

  it("carries the server's effective weight, and ignores a row of another server at a task's address", () => {
    const { c } = counters();
    const t = web([['t1', '10.0.0.5', 80]]);
    c.setTable(t, assignSlots(t));
    const stat = (sv: string, status: string, weight: number) =>
      `# pxname,svname,wredis,status,type,addr,check_status,weight\nrt_shop:web,${sv},0,${status},2,10.0.0.5:80,L7OK,${weight}\n`;
    c.recordWorkerSample(100, parseServerStats(stat('shop_web_1', 'DOWN', 0)), 0);
    assert.deepEqual(server(c.snapshot(), 'shop/web', 't1')!.health, { status: 'DOWN', check: 'L7OK', weight: 0 });
    // a slot that held this address before (HAProxy keeps it until the next read) is not this task
    c.recordWorkerSample(100, parseServerStats(stat('shop_web_9', 'UP', 3)), 0);
    assert.deepEqual(server(c.snapshot(), 'shop/web', 't1')!.health, { status: 'DOWN', check: 'L7OK', weight: 0 });
  });

  it('a task that left is kept for the retention time, then forgotten', () => {
    const { c, clock } = counters();
    const t = web([['t1', '10.0.0.5', 80]]);
    c.setTable(t, assignSlots(t));
    c.recordRequest(parseRequestLog(line('rt_shop:web', 'shop_web_1', '10.0.0.5:80', 200, 1))!);
    const empty = web([]);
    c.setTable(empty, assignSlots(empty));
    clock.now += 59_000;
    assert.equal(server(c.snapshot(), 'shop/web', 't1')?.inTable, false);
    clock.now += 2_000;
    assert.equal(server(c.snapshot(), 'shop/web', 't1'), undefined);
    c.setTable(tableOf([]), {});
    clock.now += 61_000;
    assert.deepEqual(c.snapshot().routes, []);
  });
});

describe('traffic windows', () => {
  const stats = (epoch: string, requests: number, fivexx: number, redispatched: number): TrafficStats => ({
    epoch,
    startedAt: '',
    sampledAt: '',
    latencyBoundsMs: [...latencyBoundsMs],
    routes: [
      {
        route: 'shop/web',
        backend: 'rt_shop:web',
        inTable: true,
        unattributed: {
          requests: 0,
          responses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 },
          redispatched: 0,
        },
        servers: [
          {
            service: 'shop_canary',
            task: 'c1',
            server: 'shop_canary_1',
            address: '10.0.0.9:80',
            inTable: true,
            requests,
            responses: { '1xx': 0, '2xx': requests - fivexx, '3xx': 0, '4xx': 0, '5xx': fivexx, other: 0 },
            redispatched,
            responseTime: { count: requests, sumMs: requests * 10, buckets: [[10, requests]] },
            health: { status: 'UP', check: 'L7OK' },
          },
        ],
      },
    ],
    unrouted: { requests: 0, responses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 } },
    collection: {
      logLines: 0,
      unparsedLines: 0,
      haproxyMessages: 0,
      droppedByKernel: 0,
      droppedByHaproxy: 0,
      statsReads: 0,
      statsErrors: 0,
      lastStatsError: null,
      workers: [],
    },
  });
  const canary = (_r: unknown, s: { service: string }) => s.service === 'shop_canary';

  it('counts the increments of what the clients got; failed attempts retried elsewhere apart', () => {
    const w = windowBetween(stats('e1', 100, 2, 1), stats('e1', 150, 5, 3), canary);
    assert.deepEqual([w.requests, w.errors, w.redispatched, w.reset, w.latency.counts[10]], [50, 3, 2, false, 50]);
    const none = windowBetween(stats('e1', 100, 2, 1), stats('e1', 150, 5, 3), () => false);
    assert.deepEqual([none.requests, none.errors, none.redispatched], [0, 0, 0]);
  });

  it('an agent restart (another epoch) counts from zero and says so', () => {
    const w = windowBetween(stats('e1', 100, 2, 1), stats('e2', 30, 1, 0), canary);
    assert.deepEqual([w.requests, w.errors, w.reset], [30, 1, true]);
    const first = windowBetween(undefined, stats('e1', 10, 0, 0), canary);
    assert.deepEqual([first.requests, first.reset], [10, false]);
  });

  it('a server is warm once its health check passed, or when the route has none', () => {
    assert.equal(isWarm(null), false);
    assert.equal(isWarm({ status: 'UP', check: 'INI' }), false, 'not checked yet');
    assert.equal(isWarm({ status: 'UP 1/3', check: 'L4CON' }), false, 'failing');
    assert.equal(isWarm({ status: 'DOWN 1/2', check: 'L7OK' }), false, 'going up');
    assert.equal(isWarm({ status: 'UP', check: 'L7OK' }), true);
    assert.equal(isWarm({ status: 'no check', check: '' }), true);
    const s = stats('e1', 10, 0, 0);
    assert.deepEqual(coldServers(s, canary), []);
    s.routes[0].servers[0].health = { status: 'DOWN', check: 'L4CON' };
    assert.deepEqual(coldServers(s, canary), ['c1 (DOWN L4CON)']);
    assert.deepEqual(
      coldServers(s, () => false),
      [],
    );
  });

  it('windows of several proxies add up; other buckets are refused', () => {
    const a = windowBetween(undefined, stats('e1', 10, 1, 0), canary);
    const b = windowBetween(undefined, stats('e1', 20, 0, 2), canary);
    const sum = sumWindows([a, b], latencyBoundsMs);
    assert.deepEqual([sum.requests, sum.errors, sum.redispatched, sum.latency.counts[10]], [30, 1, 2, 30]);
    assert.throws(() => sumWindows([a], [1, 2, 3]), /different latency buckets/);
  });
});
