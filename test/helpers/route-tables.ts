/** Route tables for the proxy tests: a route with test defaults and a table with the next generation. Pure. */
import { tableChecksum, type Route, type RouteTable } from '../../src/proxy/route-table.js';

/** A route with test defaults; each service's servers are [task id, loopback port]. */
export function route(
  name: string,
  over: Partial<Route>,
  services: { service: string; weight?: number; ports: [string, number][] }[],
): Route {
  return {
    name,
    hosts: [],
    pathPrefix: '/',
    stripPrefix: false,
    sticky: null,
    balance: 'roundrobin',
    healthCheck: null,
    timeouts: { connectMs: 2000, serverMs: 10000 },
    redirectToHttps: false,
    tls: null,
    ...over,
    backends: services.map((s) => ({
      service: s.service,
      weight: s.weight ?? 10,
      servers: s.ports.map(([id, port]) => ({ id, address: '127.0.0.1', port })),
    })),
  };
}

let generation = 0;
/** A table of these routes with the next generation and its checksum. */
export function table(routes: Route[]): RouteTable {
  return { generation: ++generation, checksum: tableChecksum(routes), routes };
}
