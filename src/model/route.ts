/**
 * A Route manifest as its canonical model (api/route-model.ts holds the model's type and how
 * it is stored as a config): defaults filled in, hosts deduplicated and sorted, backends
 * resolved to Swarm service names. Pure.
 */
import type { RouteManifest } from '../api/schemas.js';
import { rolloutDefaults, type RolloutMatchModel, type RolloutModel, type RouteModel } from '../api/route-model.js';
import type { RouteRollout } from '../api/route.generated.js';
import { duration, sortedRecord } from './canonical.js';

export const routeDefaults = {
  pathPrefix: '/',
  cookie: 'SC_SERVER',
  healthPath: '/',
  healthInterval: '2s',
  connect: '2s',
  server: '1m',
  weight: 1,
} as const;

/**
 * The canonical route model. `serviceSwarmName` maps a Service manifest name in the route's
 * namespace to its Swarm name; cross-checks have made sure it exists and the port is right.
 */
export function routeModel(manifest: RouteManifest, serviceSwarmName: (name: string) => string): RouteModel {
  const s = manifest.spec;
  const backends = s.backends
    ? s.backends.map((b) => ({
        service: serviceSwarmName(b.service),
        port: b.port,
        weight: b.weight ?? routeDefaults.weight,
      }))
    : [{ service: serviceSwarmName(s.service ?? ''), port: s.port ?? 0, weight: routeDefaults.weight }];
  return {
    labels: sortedRecord(manifest.metadata.labels),
    hosts: [...new Set(s.hosts ?? [])].sort(),
    pathPrefix: s.pathPrefix ?? routeDefaults.pathPrefix,
    stripPrefix: s.stripPrefix ?? false,
    backends: backends.sort((a, b) => a.service.localeCompare(b.service)),
    sticky: s.sticky ? { cookie: s.sticky.cookie ?? routeDefaults.cookie } : null,
    balance: s.balance ?? 'roundrobin',
    healthCheck: s.healthCheck
      ? {
          path: s.healthCheck.path ?? routeDefaults.healthPath,
          interval: duration(s.healthCheck.interval, routeDefaults.healthInterval),
        }
      : null,
    timeouts: {
      connect: duration(s.timeouts?.connect, routeDefaults.connect),
      server: duration(s.timeouts?.server, routeDefaults.server),
    },
    tls: s.tls ? { secret: s.tls.secret } : null,
    redirectToHttps: s.redirectToHttps ?? false,
    ...(s.rollout ? { rollout: rolloutModel(s.rollout) } : {}),
  };
}

/** The canonical rollout strategy of a route: every default filled in, durations in one spelling. */
export function rolloutModel(r: RouteRollout): RolloutModel {
  const d = rolloutDefaults;
  const a = r.analysis ?? {};
  const strategy = r.strategy ?? 'canary';
  return {
    strategy,
    steps:
      strategy === 'blueGreen'
        ? [{ weight: 100, hold: duration(r.switchHold, d.switchHold) }]
        : (r.steps ?? (r.match?.length ? [{ weight: 0, hold: d.hold }, ...d.steps] : d.steps)).map((x) => ({
            weight: x.weight,
            hold: duration(x.hold, d.hold),
          })),
    canaryReplicas: r.canaryReplicas ?? null,
    interval: duration(r.interval, d.interval),
    maxExtension: duration(r.maxExtension, d.maxExtension),
    startTimeout: duration(r.startTimeout, d.startTimeout),
    analysis: {
      minRequests: a.minRequests ?? d.analysis.minRequests,
      maxErrorRate: a.maxErrorRate ?? d.analysis.maxErrorRate,
      maxErrorRateRatio: a.maxErrorRateRatio === undefined ? d.analysis.maxErrorRateRatio : a.maxErrorRateRatio,
      latency: (a.latency ?? d.analysis.latency).map((l) => ({ quantile: l.quantile, maxRatio: l.maxRatio })),
      latencyTolerance: duration(a.latencyTolerance, d.analysis.latencyTolerance),
      failConfidence: a.failConfidence ?? d.analysis.failConfidence,
      passConfidence: a.passConfidence ?? d.analysis.passConfidence,
    },
    ...(r.match?.length ? { match: r.match.map(matchModel) } : {}),
  };
}

function matchModel(m: NonNullable<RouteRollout['match']>[number]): RolloutMatchModel {
  const kind = m.header ? 'header' : 'cookie';
  const c = m.header ?? m.cookie ?? { name: '' };
  return {
    kind,
    name: c.name,
    ...(c.value !== undefined ? { value: c.value } : {}),
    ...(c.regex !== undefined ? { regex: c.regex } : {}),
  };
}
