/**
 * Routes as the controller stores them. Swarm has no custom objects, so each Route manifest
 * becomes one Swarm config: its name is `<swarm name>.route.<hash10>` (configs are immutable,
 * so a changed route gets a new config and the old one is removed), its labels mark it as
 * ours, and its data is the canonical JSON of the route's model. `controller apply` from a
 * laptop and `controller run` in the cluster read and write the same configs: one truth.
 * Pure: encoding, parsing and choosing the current config; no I/O.
 */
import { createHash } from 'node:crypto';
import {
  labelApplySet,
  labelManagedBy,
  labelName,
  labelSpecHash,
  labelStackNamespace,
  managedByValue,
  ownershipOf,
} from './labels.js';
import type { ObjectRef } from './object-ref.js';
import type { LiveState, SwarmConfig } from './swarm-types.js';
import { canonicalJson } from './canonical-json.js';

export type RouteBalance = 'roundrobin' | 'leastconn' | 'source' | 'random';
export const routeBalances: readonly RouteBalance[] = ['roundrobin', 'leastconn', 'source', 'random'];

export interface RouteBackendModel {
  /** The Swarm service name ("shop_web"). */
  service: string;
  /** The port the service's tasks listen on. */
  port: number;
  /** 0-256; a service's share of traffic is weight x its running tasks. */
  weight: number;
}

/** The canonical model of a Route: every default filled in, lists in canonical order. */
export interface RouteModel {
  labels: Record<string, string>;
  /** Lowercase, sorted; exact ("shop.example.com") or wildcard ("*.example.com"); empty: any host. */
  hosts: string[];
  /** "/" or "/a/b" (no trailing slash). */
  pathPrefix: string;
  stripPrefix: boolean;
  /** Sorted by service. */
  backends: RouteBackendModel[];
  sticky: { cookie: string } | null;
  balance: RouteBalance;
  /** Durations in their canonical spelling (units.ts). */
  healthCheck: { path: string; interval: string } | null;
  timeouts: { connect: string; server: string };
  /** The Swarm secret holding the PEM certificate and key; the proxy service must mount it. */
  tls: { secret: string } | null;
  redirectToHttps: boolean;
  /** Progressive delivery of the route's one service; absent when the route has none (so older configs keep their hash). */
  rollout?: RolloutModel;
}

/** A route's rollout strategy, every default filled in (docs/rollouts.md). */
export interface RolloutModel {
  strategy: 'canary' | 'blueGreen';
  /** Canary weights (1-100, growing) and hold times; blueGreen: one step at 100 held for switchHold. */
  steps: { weight: number; hold: string }[];
  /** Tasks of the canary service; null: as many as the service has. */
  canaryReplicas: number | null;
  interval: string;
  maxExtension: string;
  startTimeout: string;
  analysis: {
    minRequests: number;
    maxErrorRate: number;
    maxErrorRateRatio: number | null;
    latency: { quantile: number; maxRatio: number }[];
    latencyTolerance: string;
    failConfidence: number;
    passConfidence: number;
  };
  /** Header or cookie rules sending matching requests to the canary; absent when none (older configs keep their hash). */
  match?: RolloutMatchModel[];
}

/** One header or cookie rule: exactly one of value (exact) and regex. */
export interface RolloutMatchModel {
  kind: 'header' | 'cookie';
  name: string;
  value?: string;
  regex?: string;
}

/** Header and cookie names a match rule may test: token characters that need no quoting in haproxy.cfg. */
export const matchNameRe = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Values and regexes: visible ASCII and spaces (what a header value holds), at most 256 characters. */
export const matchValueRe = /^[\x20-\x7e]{1,256}$/;

/** Problems of one match rule ("" prefix: the caller's path), for the table check and the manifest check alike. */
export function matchRuleProblems(rule: RolloutMatchModel): { field: string; problem: string }[] {
  const out: { field: string; problem: string }[] = [];
  if (!matchNameRe.test(rule.name))
    out.push({
      field: 'name',
      problem: `${JSON.stringify(rule.name)} is not a ${rule.kind} name (letters, digits, "-", "_", ".", at most 64)`,
    });
  const has = (rule.value !== undefined ? 1 : 0) + (rule.regex !== undefined ? 1 : 0);
  if (has !== 1) out.push({ field: 'value', problem: 'give exactly one of value and regex' });
  for (const f of ['value', 'regex'] as const) {
    const v = rule[f];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !matchValueRe.test(v))
      out.push({
        field: f,
        problem: `${JSON.stringify(v)} must be 1-256 visible ASCII characters or spaces (no control characters)`,
      });
    else if (f === 'regex')
      try {
        new RegExp(v);
      } catch (err) {
        out.push({ field: f, problem: `${JSON.stringify(v)} is not a regular expression: ${(err as Error).message}` });
      }
  }
  return out;
}

/** The defaults of a rollout; the analysis ones equal src/rollout/analysis.ts's defaultThresholds (a unit test checks). */
export const rolloutDefaults = {
  steps: [
    { weight: 5, hold: '1m' },
    { weight: 25, hold: '1m' },
    { weight: 50, hold: '1m' },
    { weight: 100, hold: '1m' },
  ],
  hold: '1m',
  switchHold: '5m',
  interval: '10s',
  maxExtension: '5m',
  startTimeout: '5m',
  analysis: {
    minRequests: 100,
    maxErrorRate: 0.01,
    maxErrorRateRatio: 2,
    latency: [
      { quantile: 0.5, maxRatio: 1.5 },
      { quantile: 0.99, maxRatio: 2 },
    ],
    latencyTolerance: '5ms',
    failConfidence: 0.99,
    passConfidence: 0.95,
  },
} as const;

export interface DesiredRoute {
  ref: ObjectRef & { kind: 'Route' };
  /** `<namespace>_<name>`: the stem of its config names. */
  swarmName: string;
  model: RouteModel;
}

/** A route config read back from the Swarm. */
export interface StoredRoute {
  ref: ObjectRef & { kind: 'Route' };
  swarmName: string;
  configId: string;
  configName: string;
  /** The config's version index: the older of two routes claiming the same host and path keeps it. */
  versionIndex: number;
  applySet: string;
  model: RouteModel;
  /** Other configs of the same route (left over from an interrupted update), to be removed. */
  stale: { id: string; name: string }[];
}

export const labelKind = 'swarm.controller/kind';
/** The route's swarm name, the same on every config the route has had. */
export const labelRoute = 'swarm.controller/route';

const storedApiVersion = 'swarm.controller/v1alpha1';

export function routeSpecHash(model: RouteModel): string {
  return createHash('sha256').update(canonicalJson(model)).digest('hex');
}

export function routeConfigName(swarmName: string, model: RouteModel): string {
  return `${swarmName}.route.${routeSpecHash(model).slice(0, 10)}`;
}

/** The longest swarm name a route may have: config names are at most 64 characters. */
export const maxRouteSwarmName = 64 - '.route.'.length - 10;

export function routeConfigLabels(
  route: DesiredRoute,
  applySet: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...route.model.labels,
    ...extra,
    [labelManagedBy]: managedByValue,
    [labelApplySet]: applySet,
    [labelSpecHash]: routeSpecHash(route.model),
    [labelKind]: 'Route',
    [labelRoute]: route.swarmName,
    [labelName]: route.ref.name,
    ...(route.ref.namespace ? { [labelStackNamespace]: route.ref.namespace } : {}),
  };
}

export function encodeRouteData(route: DesiredRoute): string {
  return canonicalJson({
    apiVersion: storedApiVersion,
    kind: 'Route',
    namespace: route.ref.namespace ?? null,
    name: route.ref.name,
    spec: route.model,
  });
}

export type ParsedRouteConfig =
  { ok: true; route: Omit<StoredRoute, 'stale'> } | { ok: false; configName: string; problem: string };

/** Reads one route config; `Data` is base64 as the Engine API returns it. */
export function parseRouteConfig(config: SwarmConfig): ParsedRouteConfig {
  const configName = config.Spec.Name;
  const bad = (problem: string): ParsedRouteConfig => ({ ok: false, configName, problem });
  const own = ownershipOf(config.Spec.Labels);
  if (own.state !== 'owned' || config.Spec.Labels?.[labelKind] !== 'Route')
    return bad('not a route config owned by swarm-controller');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(config.Spec.Data ?? '', 'base64').toString('utf8'));
  } catch {
    return bad('its data is not JSON');
  }
  const d = doc as { apiVersion?: unknown; kind?: unknown; namespace?: unknown; name?: unknown; spec?: unknown };
  if (!d || typeof d !== 'object' || d.apiVersion !== storedApiVersion || d.kind !== 'Route')
    return bad(`its data is not a ${storedApiVersion} Route`);
  if (typeof d.name !== 'string' || (d.namespace !== null && typeof d.namespace !== 'string'))
    return bad('its data has no name');
  const problem = checkRouteModel(d.spec);
  if (problem) return bad(problem);
  const ref = { kind: 'Route' as const, ...(d.namespace ? { namespace: d.namespace } : {}), name: d.name };
  return {
    ok: true,
    route: {
      ref,
      swarmName: config.Spec.Labels?.[labelRoute] ?? '',
      configId: config.ID,
      configName,
      versionIndex: config.Version.Index,
      applySet: own.applySet,
      model: d.spec as RouteModel,
    },
  };
}

/**
 * Groups route configs by route and picks the current one of each: the newest (highest
 * version index), the others listed as stale. Unreadable configs are returned apart.
 */
export function currentRoutes(configs: SwarmConfig[]): {
  routes: StoredRoute[];
  unreadable: { configName: string; problem: string }[];
} {
  const byRoute = new Map<string, { config: SwarmConfig; parsed: Omit<StoredRoute, 'stale'> }[]>();
  const unreadable: { configName: string; problem: string }[] = [];
  for (const c of configs) {
    const p = parseRouteConfig(c);
    if (!p.ok) {
      unreadable.push({ configName: p.configName, problem: p.problem });
      continue;
    }
    const list = byRoute.get(p.route.swarmName) ?? [];
    list.push({ config: c, parsed: p.route });
    byRoute.set(p.route.swarmName, list);
  }
  const routes: StoredRoute[] = [];
  for (const list of byRoute.values()) {
    list.sort((a, b) => b.config.Version.Index - a.config.Version.Index);
    const [head, ...rest] = list;
    routes.push({ ...head.parsed, stale: rest.map((r) => ({ id: r.config.ID, name: r.config.Spec.Name })) });
  }
  routes.sort((a, b) => (a.swarmName < b.swarmName ? -1 : a.swarmName > b.swarmName ? 1 : 0));
  return { routes, unreadable };
}

/** A light shape check of a stored model (it was validated when written; this guards against hand edits). */
function checkRouteModel(spec: unknown): string | undefined {
  const s = spec as Partial<RouteModel> | null;
  if (!s || typeof s !== 'object') return 'its data has no spec';
  if (!Array.isArray(s.hosts) || !s.hosts.every((h) => typeof h === 'string'))
    return 'spec.hosts is not a list of names';
  if (typeof s.pathPrefix !== 'string' || !s.pathPrefix.startsWith('/'))
    return 'spec.pathPrefix does not start with "/"';
  if (!Array.isArray(s.backends) || !s.backends.length) return 'spec.backends is empty';
  for (const b of s.backends) {
    if (!b || typeof b.service !== 'string' || !Number.isInteger(b.port) || !Number.isInteger(b.weight))
      return 'spec.backends holds an entry without service, port and weight';
  }
  if (!routeBalances.includes(s.balance as RouteBalance)) return 'spec.balance is unknown';
  if (!s.timeouts || typeof s.timeouts.connect !== 'string' || typeof s.timeouts.server !== 'string')
    return 'spec.timeouts is incomplete';
  if (typeof s.stripPrefix !== 'boolean' || typeof s.redirectToHttps !== 'boolean')
    return 'spec.stripPrefix or spec.redirectToHttps is not a boolean';
  return undefined;
}

/**
 * LiveState from one list of every config: route configs keep their data (the routes are in
 * it); the others drop it (only names, labels and IDs matter, and data can be large).
 */
export function splitConfigs(rest: Omit<LiveState, 'routeConfigs' | 'configs'>, all: SwarmConfig[]): LiveState {
  const routeConfigs = all.filter((c) => c.Spec.Labels?.[labelKind] === 'Route');
  // The data of other configs is dropped, except of configs no controller made: --adopt compares it.
  const configs = all.map((c) =>
    c.Spec.Labels?.[labelKind] === 'Route'
      ? c
      : {
          ...c,
          Spec: {
            Name: c.Spec.Name,
            ...(c.Spec.Labels ? { Labels: c.Spec.Labels } : {}),
            ...(c.Spec.Templating ? { Templating: c.Spec.Templating } : {}),
            ...(c.Spec.Data !== undefined && ownershipOf(c.Spec.Labels).state !== 'owned' ? { Data: c.Spec.Data } : {}),
          },
        },
  );
  return { ...rest, routeConfigs, configs };
}
