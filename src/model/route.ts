/**
 * A Route manifest as its canonical model (api/route-model.ts holds the model's type and how
 * it is stored as a config): defaults filled in, hosts deduplicated and sorted, backends
 * resolved to Swarm service names. Pure.
 */
import type { RouteManifest } from '../api/schemas.js';
import type { RouteModel } from '../api/route-model.js';
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
  };
}
