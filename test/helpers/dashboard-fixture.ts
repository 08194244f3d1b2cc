/**
 * Dashboard states for the browser tests and bench/dashboard.ts: an apply set of N objects (a
 * few failing, stalled, progressing or drifted, the rest Ready), a sync history, routes with
 * weighted backends and their servers, proxy replicas (one behind). Deterministic: the same
 * arguments give the same state.
 */
import type { AppStatusDocument, ObjectEntry, RoutesStatusDocument } from '../../src/status/format.js';
import { statusApiVersion } from '../../src/status/format.js';
import type { DashboardState } from '../../src/dashboard/state.js';

export interface FixtureOptions {
  objects: number;
  routes?: number;
  at?: string;
  actions?: boolean;
  suspended?: boolean;
}

const kinds = ['Service', 'Service', 'Service', 'Config', 'Secret', 'Network', 'Route'];

export function fixtureObject(i: number, at: string): ObjectEntry {
  const kind = kinds[i % kinds.length];
  const ns = `team${i % 7}`;
  const name = `app-${String(i).padStart(4, '0')}`;
  const o: ObjectEntry = {
    id: `${kind}/${ns}/${name}`,
    kind,
    swarmName: `${ns}_${name}`,
    phase: 'Ready',
    reason: '',
    revision: '9f2c1e4b7a0d5c3e8f1a2b3c4d5e6f7a8b9c0d1e',
    updatedAt: at,
  };
  if (i % 97 === 5) Object.assign(o, { phase: 'Failed', reason: 'update out of sequence; retrying in 400ms' });
  if (i % 211 === 7)
    Object.assign(o, { phase: 'Stalled', reason: 'image shop/web:2.1 not found: manifest unknown (SC4003)' });
  if (i % 131 === 3) Object.assign(o, { phase: 'Progressing', reason: '1/3 tasks running the new spec' });
  if (i % 53 === 11) o.drift = { at, fields: ['spec.env.LOG_LEVEL', 'spec.replicas'], repaired: i % 106 !== 11 };
  return o;
}

export function fixtureState(o: FixtureOptions): DashboardState {
  const at = o.at ?? '2026-12-06T06:00:00.000Z';
  const t = (sAgo: number) => new Date(Date.parse(at) - sAgo * 1000).toISOString();
  const objects = Array.from({ length: o.objects }, (_, i) => fixtureObject(i, t(30)));
  objects.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const counts = { Ready: 0, Progressing: 0, Failed: 0, Stalled: 0, Pending: 0 };
  for (const x of objects) counts[x.phase]++;
  const carrier = {
    apiVersion: statusApiVersion,
    sequence: 42,
    writtenAt: at,
    writer: { identity: 'controller-7f9c', version: '0.1.0' },
    heartbeatMs: 5000,
  } as const;
  const history = [
    { r: 'success', d: 'applied 3 changes', m: 'shop: web 2.1 with the new checkout', s: 40, ms: 8200 },
    {
      r: 'failed',
      d: 'Service/shop/web: update out of sequence (gave up after 5 attempts)',
      m: 'shop: pin redis',
      s: 700,
      ms: 31000,
    },
    {
      r: 'invalid',
      d: 'manifests/shop/web.yaml:14:7 spec.replicas: must be an integer (SC2001)',
      m: 'wip',
      s: 1500,
      ms: 310,
    },
    { r: 'success', d: 'no change', m: 'docs only', s: 3700, ms: 950 },
  ] as const;
  const app: AppStatusDocument = {
    ...carrier,
    kind: 'ApplySet',
    name: 'shop',
    applySet: 'shop',
    source: 'https://git.example.com/ops/shop.git@main:manifests',
    leader: 'controller-7f9c',
    suspended: o.suspended ?? false,
    ...(o.suspended ? { suspendedReason: 'database migration' } : {}),
    driftMode: 'repair',
    revision: '9f2c1e4b7a0d5c3e8f1a2b3c4d5e6f7a8b9c0d1e',
    syncState: counts.Failed + counts.Stalled > 0 ? 'Degraded' : 'Synced',
    lastSync: {
      revision: '9f2c1e4b7a0d5c3e8f1a2b3c4d5e6f7a8b9c0d1e',
      message: history[0].m,
      trigger: 'webhook',
      startedAt: t(history[0].s),
      durationMs: history[0].ms,
      result: 'success',
      detail: history[0].d,
    },
    history: history.map((h, i) => ({
      revision: `${(9 - i).toString(16).repeat(8)}${'0'.repeat(32)}`,
      message: h.m,
      trigger: i === 0 ? 'webhook' : 'poll',
      startedAt: t(h.s),
      durationMs: h.ms,
      result: h.r,
      detail: h.d,
    })),
    objects,
    counts,
    drifted: objects.filter((x) => x.drift).length,
  };
  const nRoutes = o.routes ?? 3;
  const routes: RoutesStatusDocument = {
    ...carrier,
    kind: 'Routes',
    name: 'swarm-controller_proxy',
    proxyService: 'swarm-controller_proxy',
    proxyNetwork: 'swarm-controller_control',
    active: true,
    generation: 118,
    checksum: 'sha256:3f1d',
    served: Array.from({ length: nRoutes }, (_, i) => ({
      route: `shop/route-${i}`,
      hosts: [i === 0 ? 'shop.example.com' : `svc${i}.example.com`],
      pathPrefix: i === 0 ? '/' : '/api',
      backends:
        i === 0
          ? [
              { service: 'shop_web', weight: 90, servers: server(3, 10) },
              { service: 'shop_web-canary', weight: 10, servers: server(1, 20) },
            ]
          : [{ service: `team${i % 7}_app-${i}`, weight: 100, servers: server(2, 30 + i) }],
    })),
    broken: [{ route: 'shop/admin', problem: 'service shop_admin is not on the network swarm-controller_proxy' }],
    unreadable: [],
    replicas: [
      {
        task: 'q3k9x1',
        address: '10.213.5.3',
        generation: 118,
        checksum: 'sha256:3f1d',
        inSync: true,
        lastError: null,
        lastPushAt: t(12),
        statsError: null,
      },
      {
        task: 'm2p7z8',
        address: '10.213.5.4',
        generation: 118,
        checksum: 'sha256:3f1d',
        inSync: true,
        lastError: null,
        lastPushAt: t(12),
        statsError: null,
      },
      {
        task: 'v8r4c6',
        address: '10.213.5.5',
        generation: 117,
        checksum: 'sha256:9a0b',
        inSync: false,
        lastError: 'no answer within 5000 ms',
        lastPushAt: t(95),
        statsError: 'no answer within 5000 ms',
      },
    ],
    observeIntervalMs: 5000,
    rollouts: [
      {
        service: 'shop_api',
        canary: 'shop_api-canary',
        route: 'shop/api',
        strategy: 'canary',
        phase: 'rolled-back',
        step: 2,
        steps: 4,
        weight: 0,
        revision: 'c0ffee1234567890c0ffee1234567890c0ffee12',
        reason: 'step 2/4 (25%) failed: error-rate 4.10% > 1.00% (99% sure)',
        startedAt: t(900),
        updatedAt: t(700),
      },
      {
        service: 'shop_web',
        canary: 'shop_web-canary',
        route: 'shop/route-0',
        strategy: 'canary',
        phase: 'progressing',
        step: 1,
        steps: 4,
        weight: 10,
        revision: '9f2c1e4b7a0d9f2c1e4b7a0d9f2c1e4b7a0d9f2c',
        reason: 'step 1/4 (10%): 212 of 299 canary requests to judge',
        startedAt: t(60),
        updatedAt: t(4),
        judgement: {
          verdict: 'inconclusive',
          reason: 'not enough canary requests yet',
          canary: { requests: 212, errorRate: 0.0047, p50Ms: 21.5, p99Ms: 88 },
          stable: { requests: 1904, errorRate: 0.0011, p50Ms: 20.1, p99Ms: 79.6 },
          baseline: { requests: 600, errorRate: 0.001, p50Ms: 16.2, p99Ms: 61.3 },
          drift: 'stable p50 1.24x its baseline (a shared delay of 3.9 ms removed)',
        },
      },
    ],
    lastChangeAt: t(12),
    lastError: null,
  };
  return {
    version: 1,
    at,
    origin: 'swarm',
    server: 'dashboard@laptop',
    actions: o.actions ?? false,
    apps: [{ document: app, stale: false, ageMs: 2000 }],
    routes: { document: routes, stale: false, ageMs: 2000 },
    problems: [],
  };
}

/**
 * Servers as the replicas see them: q3k9x1 and m2p7z8 report every server UP, except t102 (DOWN
 * on both: down) and t200 (DOWN on m2p7z8 only: mixed); v8r4c6 could not be read (unknown).
 */
function server(n: number, base: number) {
  return Array.from({ length: n }, (_, i) => {
    const task = `t${base}${i}`;
    const state = (replica: string) => (task === 't102' || (task === 't200' && replica === 'm2p7z8') ? 'DOWN' : 'UP');
    const proxies = [
      ...['m2p7z8', 'q3k9x1'].map((replica) => ({
        replica,
        health: state(replica) === 'UP' ? ('up' as const) : ('down' as const),
        state: state(replica),
        weight: 1,
      })),
      { replica: 'v8r4c6', health: 'unknown' as const },
    ];
    const health = task === 't102' ? ('down' as const) : task === 't200' ? ('mixed' as const) : ('up' as const);
    return { task, address: `10.213.5.${base + i}`, port: 8080, health, proxies };
  });
}

/** A copy of `s` with objects `indexes` changed to Failed with a new reason (an update of a few rows). */
export function withFailures(s: DashboardState, indexes: number[], reason: string): DashboardState {
  const copy = structuredClone(s);
  const objects = copy.apps[0].document.objects;
  for (const i of indexes) Object.assign(objects[i], { phase: 'Failed', reason });
  const counts = { Ready: 0, Progressing: 0, Failed: 0, Stalled: 0, Pending: 0 };
  for (const x of objects) counts[x.phase]++;
  copy.apps[0].document.counts = counts;
  return copy;
}
