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

const web: Route = {
  name: 'shop/web',
  hosts: [],
  pathPrefix: '/demo',
  stripPrefix: true,
  sticky: { cookie: 'SID' },
  balance: 'roundrobin',
  healthCheck: { path: '/healthz', intervalMs: 2000 },
  timeouts: { connectMs: 2000, serverMs: 30000 },
  redirectToHttps: false,
  tls: null,
  backends: [
    { service: 'shop_web', weight: 90, servers: [{ id: 't1', address: '10.0.0.5', port: 8080 }] },
    { service: 'shop_web-canary', weight: 10, servers: [] },
  ],
};
const admin: Route = {
  name: 'shop/admin',
  hosts: ['admin.example.com', '*.admin.example.com'],
  pathPrefix: '/',
  stripPrefix: false,
  sticky: null,
  balance: 'leastconn',
  healthCheck: null,
  timeouts: { connectMs: 1000, serverMs: 5000 },
  redirectToHttps: true,
  tls: null,
  backends: [{ service: 'shop_admin', weight: 1, servers: [{ id: 'a1', address: '10.0.0.7', port: 80 }] }],
};

/** Two routes that use most options: a sticky, health-checked canary split and a host route redirected to https. */
export const sampleRoutes = { web, admin };
