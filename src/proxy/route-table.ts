/**
 * The route table the controller pushes to a proxy agent: its types, the checks run on
 * receipt (hand-written, every problem named with its path), the checksum and the structure
 * key that decides between a reload and Runtime API updates.
 * Pure. Must not import src/swarm/ (the proxy never talks to the engine) nor anything with I/O.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../api/canonical-json.js';
import { matchRuleProblems } from '../api/route-model.js';

export { canonicalJson };

export type Balance = 'roundrobin' | 'leastconn' | 'source' | 'random';

export interface RouteServer {
  id: string;
  address: string;
  port: number;
}
export interface RouteBackend {
  service: string;
  weight: number;
  servers: RouteServer[];
}

/**
 * A per-request condition sending a request to the route's canary: a request header or a cookie
 * whose value equals `value` or matches `regex` (exactly one of the two).
 */
export interface RouteMatchRule {
  kind: 'header' | 'cookie';
  name: string;
  value?: string;
  regex?: string;
}

/**
 * Requests matching any rule go to `service`'s servers only (while it has a usable one; else
 * they follow the weights like every other request). `service` is one of the route's backends.
 */
export interface RouteMatch {
  service: string;
  rules: RouteMatchRule[];
}

export interface Route {
  /** "namespace/name" */
  name: string;
  /** Exact ("shop.example.com") or wildcard ("*.example.com"); empty: any host. */
  hosts: string[];
  /** "/" matches everything; "/demo" matches "/demo" and "/demo/...", not "/demox". */
  pathPrefix: string;
  stripPrefix: boolean;
  sticky: { cookie: string } | null;
  balance: Balance;
  healthCheck: { path: string; intervalMs: number } | null;
  timeouts: { connectMs: number; serverMs: number };
  redirectToHttps: boolean;
  /** TLS termination for the route's hosts: the name of a Swarm secret (PEM certificate and key) mounted in the proxy's secrets directory. */
  tls: { secret: string } | null;
  backends: RouteBackend[];
  /** Header or cookie matching during a rollout; absent otherwise (older tables keep their checksum). */
  match?: RouteMatch;
}

export interface RouteTable {
  generation: number;
  /** "sha256:<hex>" of the canonical JSON of {routes}. */
  checksum: string;
  routes: Route[];
}

export class TableError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

export const emptyTable: RouteTable = Object.freeze({
  generation: 0,
  checksum: tableChecksum([]),
  routes: [],
});

export function tableChecksum(routes: Route[]): string {
  return `sha256:${createHash('sha256').update(canonicalJson({ routes })).digest('hex')}`;
}

/** Server slots per service in a backend: max(4, the next power of two >= count). */
export function slotCapacity(count: number): number {
  let c = 4;
  while (c < count) c *= 2;
  return c;
}

/**
 * The capacity a backend's service gets, given what it had: it grows to the next power of two
 * when the servers no longer fit, and shrinks only when they fit in a quarter of it, so that
 * scaling down and back up needs no reload.
 */
export function keptCapacity(count: number, previous: number | undefined): number {
  const needed = slotCapacity(count);
  return previous !== undefined && previous >= needed && needed * 4 > previous ? previous : needed;
}

/**
 * Everything that needs a reload: routes, matches, options, backends and each backend's slot
 * capacity (taken from `slots` when given: route -> service -> slots). Not the servers' ids or
 * addresses, nor which slots are used, nor weights (all of those go through the Runtime API).
 */
export function structureKey(
  table: Pick<RouteTable, 'routes'>,
  slots?: Record<string, Record<string, unknown[]>>,
): string {
  const routes = [...table.routes]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((r) => ({
      ...r,
      backends: r.backends.map((b) => ({
        service: b.service,
        capacity: slots?.[r.name]?.[b.service]?.length ?? slotCapacity(b.servers.length),
      })),
    }));
  return canonicalJson(routes);
}

const maxTimerMs = 2_147_483_647; // HAProxy refuses longer timers
const namePart = '[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?';
const routeNameRe = new RegExp(`^${namePart}/${namePart}$`);
const serviceRe = /^[a-zA-Z0-9][-a-zA-Z0-9_.]{0,62}$/;
const hostLabel = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
const hostRe = new RegExp(`^(\\*\\.)?${hostLabel}(\\.${hostLabel})*$`);
const pathRe = /^\/[-A-Za-z0-9._~%!&()*+,;=:@/]*$/;
const cookieRe = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
const ipv4Re = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const balances: readonly Balance[] = ['roundrobin', 'leastconn', 'source', 'random'];
/** Checks an untrusted value (parsed JSON) and returns it typed, or throws TableError listing every problem. */
export function validateTable(input: unknown): RouteTable {
  const p: string[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  const intIn = (v: unknown, min: number, max: number) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
  const known = (o: Record<string, unknown>, at: string, keys: string[]) => {
    for (const k of Object.keys(o))
      if (!keys.includes(k)) p.push(`${at}.${k}: unknown field (known: ${keys.join(', ')})`);
  };
  if (!isObj(input)) throw new TableError(['the table must be a JSON object {generation, checksum, routes}']);
  known(input, 'table', ['generation', 'checksum', 'routes']);
  if (!intIn(input.generation, 0, Number.MAX_SAFE_INTEGER)) p.push('generation: must be a whole number >= 0');
  if (typeof input.checksum !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(input.checksum))
    p.push('checksum: must be "sha256:" and 64 lowercase hex digits');
  if (!Array.isArray(input.routes)) {
    p.push('routes: must be an array');
    throw new TableError(p);
  }
  const names = new Set<string>();
  const claims = new Map<string, string>();
  const tlsByHost = new Map<string, { secret: string; route: string }>();
  input.routes.forEach((r: unknown, i: number) => {
    const at = `routes[${i}]`;
    if (!isObj(r)) return void p.push(`${at}: must be an object`);
    known(r, at, [
      'name',
      'hosts',
      'pathPrefix',
      'stripPrefix',
      'sticky',
      'balance',
      'healthCheck',
      'timeouts',
      'redirectToHttps',
      'tls',
      'backends',
      'match',
    ]);
    const name = typeof r.name === 'string' ? r.name : '';
    const rat = name ? `${at} (${name})` : at;
    if (!routeNameRe.test(name))
      p.push(`${rat}.name: must be "namespace/name" in lowercase letters, digits, "-", "_", "."`);
    else if (names.has(name)) p.push(`${rat}.name: two routes are named ${JSON.stringify(name)}`);
    names.add(name);
    const hosts = Array.isArray(r.hosts) ? r.hosts : (p.push(`${rat}.hosts: must be an array (empty: any host)`), []);
    hosts.forEach((h: unknown, j: number) => {
      if (typeof h !== 'string' || !hostRe.test(h) || h.length > 253)
        p.push(`${rat}.hosts[${j}]: ${JSON.stringify(h)} is not a lowercase host name or "*.domain"`);
    });
    if (new Set(hosts).size !== hosts.length) p.push(`${rat}.hosts: a host is listed twice`);
    const prefix = r.pathPrefix;
    if (
      typeof prefix !== 'string' ||
      !pathRe.test(prefix) ||
      (prefix.length > 1 && prefix.endsWith('/')) ||
      prefix.includes('//') ||
      prefix.length > 1024
    ) {
      p.push(
        `${rat}.pathPrefix: ${JSON.stringify(prefix)} must start with "/", not end with "/" (except "/" itself), and use URL path characters only`,
      );
    } else {
      for (const h of hosts.length ? hosts : ['*']) {
        const key = `${String(h)} ${prefix}`;
        const other = claims.get(key);
        if (other !== undefined)
          p.push(`${rat}: host ${String(h)} and path ${prefix} are already claimed by route ${other}`);
        else claims.set(key, name);
      }
    }
    if (typeof r.stripPrefix !== 'boolean') p.push(`${rat}.stripPrefix: must be true or false`);
    if (typeof r.redirectToHttps !== 'boolean') p.push(`${rat}.redirectToHttps: must be true or false`);
    if (r.tls !== null) {
      if (!isObj(r.tls)) p.push(`${rat}.tls: must be null or {secret}`);
      else {
        known(r.tls, `${rat}.tls`, ['secret']);
        const secret = r.tls.secret;
        if (typeof secret !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/.test(secret))
          p.push(`${rat}.tls.secret: ${JSON.stringify(secret)} is not a Swarm secret name`);
        else {
          // SNI picks one certificate per host name, whatever the path.
          for (const h of hosts) {
            const other = tlsByHost.get(String(h));
            if (other && other.secret !== secret)
              p.push(
                `${rat}.tls.secret: host ${String(h)} already uses certificate ${other.secret} (route ${other.route}); a host name can have one certificate only`,
              );
            else tlsByHost.set(String(h), { secret, route: name });
          }
        }
      }
    }
    if (r.sticky !== null) {
      if (!isObj(r.sticky)) p.push(`${rat}.sticky: must be null or {cookie}`);
      else {
        known(r.sticky, `${rat}.sticky`, ['cookie']);
        if (typeof r.sticky.cookie !== 'string' || !cookieRe.test(r.sticky.cookie))
          p.push(
            `${rat}.sticky.cookie: ${JSON.stringify(r.sticky.cookie)} is not a cookie name (1-64 token characters)`,
          );
      }
    }
    if (!balances.includes(r.balance as Balance))
      p.push(`${rat}.balance: ${JSON.stringify(r.balance)} is not one of ${balances.join(', ')}`);
    if (r.healthCheck !== null) {
      if (!isObj(r.healthCheck)) p.push(`${rat}.healthCheck: must be null or {path, intervalMs}`);
      else {
        known(r.healthCheck, `${rat}.healthCheck`, ['path', 'intervalMs']);
        if (typeof r.healthCheck.path !== 'string' || !/^\/[-A-Za-z0-9._~%!&()*+,;=:@/?]*$/.test(r.healthCheck.path))
          p.push(`${rat}.healthCheck.path: must be a URL path starting with "/"`);
        if (!intIn(r.healthCheck.intervalMs, 100, maxTimerMs))
          p.push(`${rat}.healthCheck.intervalMs: must be a whole number of milliseconds from 100 to ${maxTimerMs}`);
      }
    }
    if (!isObj(r.timeouts)) p.push(`${rat}.timeouts: must be {connectMs, serverMs}`);
    else {
      known(r.timeouts, `${rat}.timeouts`, ['connectMs', 'serverMs']);
      for (const k of ['connectMs', 'serverMs'])
        if (!intIn(r.timeouts[k], 1, maxTimerMs))
          p.push(`${rat}.timeouts.${k}: must be a whole number of milliseconds from 1 to ${maxTimerMs}`);
    }
    if (!Array.isArray(r.backends) || r.backends.length === 0)
      return void p.push(`${rat}.backends: must be a non-empty array`);
    const services = new Set<string>();
    r.backends.forEach((b: unknown, j: number) => {
      const bat = `${rat}.backends[${j}]`;
      if (!isObj(b)) return void p.push(`${bat}: must be an object {service, weight, servers}`);
      known(b, bat, ['service', 'weight', 'servers']);
      if (typeof b.service !== 'string' || !serviceRe.test(b.service))
        p.push(`${bat}.service: ${JSON.stringify(b.service)} is not a service name`);
      else if (services.has(b.service)) p.push(`${bat}.service: ${b.service} is listed twice in this route`);
      services.add(String(b.service));
      if (!intIn(b.weight, 0, 256)) p.push(`${bat}.weight: must be a whole number from 0 to 256`);
      if (!Array.isArray(b.servers)) return void p.push(`${bat}.servers: must be an array`);
      const ids = new Set<string>();
      b.servers.forEach((s: unknown, k: number) => {
        const sat = `${bat}.servers[${k}]`;
        if (!isObj(s)) return void p.push(`${sat}: must be an object {id, address, port}`);
        known(s, sat, ['id', 'address', 'port']);
        if (typeof s.id !== 'string' || !/^[A-Za-z0-9][-A-Za-z0-9_.]{0,127}$/.test(s.id))
          p.push(`${sat}.id: ${JSON.stringify(s.id)} is not a task id`);
        else if (ids.has(s.id)) p.push(`${sat}.id: ${s.id} is listed twice`);
        ids.add(String(s.id));
        if (typeof s.address !== 'string' || !ipv4Re.test(s.address))
          p.push(`${sat}.address: ${JSON.stringify(s.address)} is not an IPv4 address`);
        if (!intIn(s.port, 1, 65535)) p.push(`${sat}.port: must be from 1 to 65535`);
      });
    });
    if (r.match !== undefined) {
      const mat = `${rat}.match`;
      if (!isObj(r.match)) return void p.push(`${mat}: must be an object {service, rules}`);
      known(r.match, mat, ['service', 'rules']);
      if (typeof r.match.service !== 'string' || !services.has(r.match.service))
        p.push(`${mat}.service: ${JSON.stringify(r.match.service)} is not one of the route's backends`);
      if (!Array.isArray(r.match.rules) || r.match.rules.length === 0 || r.match.rules.length > 16)
        return void p.push(`${mat}.rules: must be an array of 1 to 16 rules`);
      r.match.rules.forEach((m: unknown, j: number) => {
        const at2 = `${mat}.rules[${j}]`;
        if (!isObj(m)) return void p.push(`${at2}: must be an object {kind, name, value | regex}`);
        known(m, at2, ['kind', 'name', 'value', 'regex']);
        if (m.kind !== 'header' && m.kind !== 'cookie') p.push(`${at2}.kind: must be "header" or "cookie"`);
        if (typeof m.name !== 'string') return void p.push(`${at2}.name: must be a string`);
        for (const x of matchRuleProblems(m as unknown as RouteMatchRule)) p.push(`${at2}.${x.field}: ${x.problem}`);
      });
    }
  });
  if (p.length) throw new TableError(p);
  return input as unknown as RouteTable;
}
