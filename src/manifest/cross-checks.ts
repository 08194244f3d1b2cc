/**
 * Checks that need more than one document, or more than the schema can say: duplicate
 * objects, network references, names Swarm would refuse, port and mode combinations.
 * Every finding is a diagnostic at the position of the field it is about. Pure.
 */
import type {
  ConfigManifest,
  NetworkManifest,
  RouteManifest,
  SecretManifest,
  ServiceManifest,
} from '../api/schemas.js';
import { matchRuleProblems, maxRouteSwarmName } from '../api/route-model.js';
import { parseDuration } from '../units.js';
import { refId, refLabel, swarmName, type ObjectRef } from '../api/object-ref.js';
import { diagnostic, type Diagnostic } from '../errors.js';
import { closest } from './suggest.js';
import { checkPathFields } from './path-fields.js';
import { formatPath, preview, type FieldPath, type ManifestDocument } from './yaml-documents.js';

export interface CheckedObject<M> {
  ref: ObjectRef;
  manifest: M;
  document: ManifestDocument;
}

export type AnyObject =
  | CheckedObject<ServiceManifest>
  | CheckedObject<NetworkManifest>
  | CheckedObject<RouteManifest>
  | CheckedObject<ConfigManifest | SecretManifest>;

/** Swarm refuses service names longer than 63 characters (they become DNS names). */
export const maxSwarmNameLength = 63;

export interface NetworkResolver {
  /** The declared network a service in `namespace` means by `name`, or undefined. */
  resolve(namespace: string | undefined, name: string): CheckedObject<NetworkManifest> | undefined;
}

export function networkResolver(networks: CheckedObject<NetworkManifest>[]): NetworkResolver {
  const byId = new Map(networks.map((n) => [refId(n.ref), n]));
  return {
    resolve(namespace, name) {
      if (namespace) {
        const local = byId.get(refId({ kind: 'Network', namespace, name }));
        if (local) return local;
      }
      return byId.get(refId({ kind: 'Network', name }));
    },
  };
}

/** Fields that belong to one service mode only (SC3020). */
function checkModeFields(
  s: CheckedObject<ServiceManifest>,
  report: (path: FieldPath, message: string, fix: string) => void,
): void {
  const spec = s.manifest.spec;
  const mode = spec.mode ?? 'replicated';
  const job = mode === 'replicated-job' || mode === 'global-job';
  if (job && spec.replicas !== undefined)
    report(
      ['spec', 'replicas'],
      `a ${mode} runs its tasks to completion, so replicas has no meaning`,
      mode === 'replicated-job'
        ? 'write completions (tasks to complete in all) and concurrency (tasks at a time) instead'
        : 'remove replicas: a global job runs once on every node that fits',
    );
  for (const k of ['completions', 'concurrency'] as const)
    if (mode !== 'replicated-job' && spec[k] !== undefined)
      report(['spec', k], `${k} is for mode "replicated-job" only`, `remove ${k}, or write "mode: replicated-job"`);
  if (job && spec.updateConfig !== undefined)
    report(
      ['spec', 'updateConfig'],
      'Swarm refuses an update policy for a job: a job runs again, whole, on every update',
      'remove updateConfig',
    );
}

export function crossCheck(
  services: CheckedObject<ServiceManifest>[],
  networks: CheckedObject<NetworkManifest>[],
  routes: CheckedObject<RouteManifest>[] = [],
  data: CheckedObject<ConfigManifest | SecretManifest>[] = [],
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (
    o: AnyObject,
    path: FieldPath,
    code: Diagnostic['code'],
    message: string,
    fix: string,
    severity: Diagnostic['severity'] = 'error',
  ) =>
    out.push(
      diagnostic(code, message, {
        position: o.document.positionOf(path),
        object: refLabel(o.ref),
        field: formatPath(path),
        fix,
        severity,
      }),
    );

  const seen = new Map<string, AnyObject>();
  const swarmNames = new Map<string, AnyObject>();
  for (const o of [...networks, ...data, ...services, ...routes] as AnyObject[]) {
    const id = refId(o.ref);
    const first = seen.get(id);
    if (first) {
      const p = first.document.positionOf(['metadata', 'name']);
      at(
        o,
        ['metadata', 'name'],
        'SC3001',
        `declared twice; first at ${p.file}:${p.line}`,
        'rename one of them or delete the duplicate',
      );
    } else {
      seen.set(id, o);
      // Swarm keeps one object of a kind per name whatever its case ("Web" and "web" collide).
      const key = `${o.ref.kind}/${swarmName(o.ref).toLowerCase()}`;
      const other = swarmNames.get(key);
      if (other && refId(other.ref) !== id) {
        const p = other.document.positionOf(['metadata', 'name']);
        at(
          o,
          ['metadata', 'name'],
          'SC3001',
          `its Swarm name "${swarmName(o.ref)}" differs only in case from "${swarmName(other.ref)}" (${p.file}:${p.line}); Swarm names are unique whatever their case`,
          'rename one of them',
        );
      } else swarmNames.set(key, o);
    }
    const full = swarmName(o.ref);
    if (o.ref.kind === 'Config' || o.ref.kind === 'Secret') {
      // stored as "<name>.<hash>": checked where the content is read (data-sources.ts)
    } else if (o.ref.kind === 'Route' && full.length > maxRouteSwarmName) {
      at(
        o,
        ['metadata', 'name'],
        'SC3006',
        `the route is stored as the Swarm config "${full}.route.<hash>", and "${full}" is ${full.length} characters; at most ${maxRouteSwarmName} fit`,
        'shorten the name or the namespace',
      );
    } else if (full.length > maxSwarmNameLength) {
      at(
        o,
        ['metadata', 'name'],
        'SC3006',
        `the Swarm name "${full}" is ${full.length} characters; Swarm allows ${maxSwarmNameLength}`,
        'shorten the name or the namespace',
      );
    }
  }

  for (const n of networks) {
    const spec = (n.manifest.spec ?? {}) as Record<string, unknown>;
    if (spec.external === true) {
      const others = Object.keys(spec).filter((k) => k !== 'external' && k !== 'name');
      if (others.length)
        at(
          n,
          ['spec', others[0]],
          'SC3007',
          `an external network is only looked up, so "${others.join('", "')}" would never be applied`,
          'remove these fields, or drop "external: true" to let the controller manage the network',
        );
    }
  }
  // One Swarm network may be declared by several namespaces under its explicit name: alike.
  const named = new Map<string, CheckedObject<NetworkManifest>>();
  for (const n of networks) {
    const spec = n.manifest.spec;
    if (!spec?.name || spec.external) continue;
    const first = named.get(spec.name.toLowerCase());
    if (!first) {
      named.set(spec.name.toLowerCase(), n);
      continue;
    }
    const alike =
      JSON.stringify({ ...first.manifest.spec, name: spec.name }) === JSON.stringify(spec) &&
      JSON.stringify(first.manifest.metadata.labels ?? {}) === JSON.stringify(n.manifest.metadata.labels ?? {});
    if (!alike) {
      const p = first.document.positionOf(['spec', 'name']);
      at(
        n,
        ['spec', 'name'],
        'SC3001',
        `network "${spec.name}" is also declared at ${p.file}:${p.line} with other settings; one Swarm network has one spec`,
        'make the two declarations the same, or give one of them another spec.name',
      );
    }
  }

  const resolver = networkResolver(networks);
  const declaredNames = networks.map((n) => n.ref.name);
  const ingressPorts = new Map<string, { o: CheckedObject<ServiceManifest>; i: number }>();
  for (const s of services) {
    const spec = s.manifest.spec;
    (spec.networks ?? []).forEach((n, i) => {
      const name = typeof n === 'string' ? n : n.name;
      if (!resolver.resolve(s.ref.namespace, name)) {
        const hint = closest(name, declaredNames);
        at(
          s,
          typeof n === 'string' ? ['spec', 'networks', i] : ['spec', 'networks', i, 'name'],
          'SC3002',
          `network ${preview(name)} is not declared`,
          `${hint ? `did you mean "${hint}"? Otherwise a` : 'a'}dd a Network manifest named ${preview(name)}${s.ref.namespace ? ` (in namespace "${s.ref.namespace}" or without a namespace)` : ''}, with "external: true" if it already exists in the Swarm`,
        );
      }
    });
    if (spec.mode === 'global' && spec.replicas !== undefined) {
      at(
        s,
        ['spec', 'replicas'],
        'SC3005',
        'a global service runs one task per node, so replicas has no meaning',
        'remove replicas, or remove "mode: global"',
      );
    }
    checkModeFields(s, (path, message, fix) => at(s, path, 'SC3020', message, fix));
    (spec.ports ?? []).forEach((p, i) => {
      const mode = p.mode ?? 'ingress';
      if (spec.endpointMode === 'dnsrr' && mode === 'ingress') {
        at(
          s,
          ['spec', 'ports', i],
          'SC3004',
          `port ${p.target} is published in ingress mode, which needs a virtual IP (endpointMode vip)`,
          'add "mode: host" to the port, or use endpointMode vip',
        );
      }
      if (mode === 'ingress' && p.published !== undefined) {
        const key = `${p.published}/${p.protocol ?? 'tcp'}`;
        const other = ingressPorts.get(key);
        if (other) {
          at(
            s,
            ['spec', 'ports', i, 'published'],
            'SC3008',
            `port ${key} is already published by ${refLabel(other.o.ref)}`,
            'publish a different port; an ingress port belongs to one service across the whole Swarm',
          );
        } else ingressPorts.set(key, { o: s, i });
      }
    });
    if ((spec.rollbackConfig as { failureAction?: string } | undefined)?.failureAction === 'rollback') {
      at(
        s,
        ['spec', 'rollbackConfig', 'failureAction'],
        'SC3009',
        'a rollback cannot itself be rolled back',
        'use "pause" or "continue"',
      );
    }
    const targets = new Map<string, number>();
    (spec.secrets ?? []).forEach((x, i) => {
      const target = typeof x === 'string' ? x : (x.target ?? x.name);
      if (targets.has(target))
        at(
          s,
          ['spec', 'secrets', i],
          'SC3001',
          `two secrets are mounted as /run/secrets/${target}`,
          'give one of them another target',
        );
      targets.set(target, i);
    });
    const configTargets = new Set<string>();
    (spec.configs ?? []).forEach((x, i) => {
      const target = typeof x === 'string' ? `/${x}` : (x.target ?? `/${x.name}`);
      if (configTargets.has(target))
        at(
          s,
          ['spec', 'configs', i],
          'SC3001',
          `two configs are mounted as ${target}`,
          'give one of them another target',
        );
      configTargets.add(target);
    });
    (spec.mounts ?? []).forEach((m, i) => {
      const wrong = (['volume', 'bind', 'tmpfs'] as const).filter(
        (t) => t !== m.type && (m as unknown as Record<string, unknown>)[t] !== undefined,
      );
      for (const t of wrong)
        at(
          s,
          ['spec', 'mounts', i, t],
          'SC3010',
          `"${t}" options do not apply to a ${m.type} mount`,
          `remove "${t}", or change type to ${t}`,
        );
      if (m.type === 'tmpfs' && m.source !== undefined)
        at(s, ['spec', 'mounts', i, 'source'], 'SC3010', 'a tmpfs mount has no source', 'remove source');
      if (m.type === 'bind' && !m.source?.startsWith('/'))
        at(
          s,
          ['spec', 'mounts', i, 'source'],
          'SC3010',
          'a bind mount needs an absolute host path as source',
          'set source to an absolute path such as /srv/data',
        );
    });
  }
  out.push(...checkRoutes(routes, services), ...checkPathFields(services, routes));
  return out;
}

/** The ports a service's tasks listen on, as far as its manifest says: ports[].target and expose. */
export function listeningPorts(spec: ServiceManifest['spec']): number[] {
  return [...new Set([...(spec.ports ?? []).map((p) => p.target), ...(spec.expose ?? [])])].sort((a, b) => a - b);
}

const maxTimerNs = 2_147_483_647 * 1e6;

function checkRoutes(routes: CheckedObject<RouteManifest>[], services: CheckedObject<ServiceManifest>[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (
    o: CheckedObject<RouteManifest>,
    path: FieldPath,
    code: Diagnostic['code'],
    message: string,
    fix: string,
  ) =>
    out.push(
      diagnostic(code, message, {
        position: o.document.positionOf(path),
        object: refLabel(o.ref),
        field: formatPath(path),
        fix,
      }),
    );
  const byId = new Map(services.map((s) => [refId(s.ref), s]));
  const claims = new Map<string, CheckedObject<RouteManifest>>();
  for (const r of routes) {
    const spec = r.manifest.spec;
    const ns = r.ref.namespace;
    const inNs = services.filter((s) => s.ref.namespace === ns).map((s) => s.ref.name);
    const checkTarget = (service: string, port: number | undefined, path: FieldPath) => {
      const s = byId.get(refId({ kind: 'Service', ...(ns ? { namespace: ns } : {}), name: service }));
      if (!s) {
        const hint = closest(service, inNs);
        at(
          r,
          [...path, 'service'],
          'SC3012',
          `service ${preview(service)} is not declared${ns ? ` in namespace "${ns}"` : ''}`,
          `${hint ? `did you mean "${hint}"? Otherwise d` : 'D'}eclare a Service manifest named ${preview(service)}${ns ? ` in namespace "${ns}"` : ''}; a route only sends traffic to services in its own namespace`,
        );
        return;
      }
      if (port === undefined) return;
      const ports = listeningPorts(s.manifest.spec);
      if (!ports.includes(port)) {
        at(
          r,
          [...path, 'port'],
          'SC3013',
          `${refLabel(s.ref)} does not listen on port ${port}${ports.length ? ` (it declares ${ports.join(', ')})` : ' (it declares no port)'}`,
          `use one of its ports, or add ${port} to spec.expose of ${refLabel(s.ref)}`,
        );
      }
    };
    const hasSingle = spec.service !== undefined || spec.port !== undefined;
    if (spec.backends && hasSingle) {
      at(
        r,
        ['spec', spec.service !== undefined ? 'service' : 'port'],
        'SC3015',
        'a route names either service and port, or backends, not both',
        'move the service into backends, or remove backends',
      );
    } else if (spec.backends) {
      const seen = new Set<string>();
      spec.backends.forEach((b, i) => {
        if (seen.has(b.service))
          at(
            r,
            ['spec', 'backends', i, 'service'],
            'SC3001',
            `service "${b.service}" is listed twice`,
            'list each service once and give it the combined weight',
          );
        seen.add(b.service);
        checkTarget(b.service, b.port, ['spec', 'backends', i]);
      });
      if (spec.backends.every((b) => (b.weight ?? 1) === 0))
        at(
          r,
          ['spec', 'backends'],
          'SC3015',
          'every backend has weight 0, so the route would send traffic nowhere',
          'give at least one backend a weight above 0',
        );
    } else if (spec.service === undefined) {
      at(
        r,
        ['spec'],
        'SC3012',
        'the route names no service',
        'add "service: <name>" and "port: <port>", or a list of backends',
      );
    } else {
      if (spec.port === undefined)
        at(
          r,
          ['spec', 'service'],
          'SC3015',
          `service "${spec.service}" needs the port its tasks listen on`,
          'add "port: <port>" next to service',
        );
      checkTarget(spec.service, spec.port, ['spec']);
    }
    if (spec.redirectToHttps && !spec.tls) {
      at(
        r,
        ['spec', 'redirectToHttps'],
        'SC3015',
        'redirectToHttps sends clients to HTTPS, which this route does not serve',
        'add tls with the secret holding the certificate, or remove redirectToHttps',
      );
    }
    if (spec.healthCheck?.interval !== undefined) {
      const ns2 = parseDuration(spec.healthCheck.interval) ?? 0;
      if (ns2 < 100e6 || ns2 > maxTimerNs)
        at(
          r,
          ['spec', 'healthCheck', 'interval'],
          'SC2007',
          `${spec.healthCheck.interval} is outside 100ms to 24d`,
          'use an interval such as "2s"',
        );
    }
    for (const k of ['connect', 'server'] as const) {
      const v = spec.timeouts?.[k];
      if (v === undefined) continue;
      const n = parseDuration(v) ?? 0;
      if (n < 1e6 || n > maxTimerNs)
        at(
          r,
          ['spec', 'timeouts', k],
          'SC2007',
          `${v} is outside 1ms to 24d`,
          `use a timeout such as "${k === 'connect' ? '2s' : '60s'}"`,
        );
    }
    if (spec.rollout) checkRollout(r, spec.rollout, !!spec.backends, at);
    const prefix = spec.pathPrefix ?? '/';
    const hosts = spec.hosts?.length ? spec.hosts : ['*'];
    hosts.forEach((h, i) => {
      const key = `${h} ${prefix}`;
      const other = claims.get(key);
      if (other && other !== r) {
        const p = other.document.positionOf(['metadata', 'name']);
        at(
          r,
          spec.hosts?.length ? ['spec', 'hosts', i] : ['spec', 'pathPrefix'],
          'SC3014',
          `${h === '*' ? 'any host' : `host ${h}`} with path ${prefix} is already routed by ${refLabel(other.ref)} (${p.file}:${p.line})`,
          'change the host or path prefix of one route, or merge them into one route with weighted backends',
        );
      } else claims.set(key, r);
    });
  }
  return out;
}

/** A route's rollout: one service, growing canary weights, an interval the loop can keep, usable thresholds. */
function checkRollout(
  r: CheckedObject<RouteManifest>,
  ro: NonNullable<RouteManifest['spec']['rollout']>,
  hasBackends: boolean,
  at: (
    o: CheckedObject<RouteManifest>,
    path: FieldPath,
    code: Diagnostic['code'],
    message: string,
    fix: string,
  ) => void,
): void {
  const base: FieldPath = ['spec', 'rollout'];
  if (hasBackends)
    at(
      r,
      base,
      'SC3021',
      'a rollout needs a route with one service (service and port); this route has backends',
      'use service and port; the controller adds the canary beside it during a rollout',
    );
  if (ro.strategy === 'blueGreen' && ro.steps)
    at(
      r,
      [...base, 'steps'],
      'SC3021',
      'blueGreen switches at once and takes no steps',
      'remove steps, or use strategy canary',
    );
  if (ro.match?.length && ro.strategy === 'blueGreen')
    at(
      r,
      [...base, 'match'],
      'SC3021',
      'blueGreen switches all traffic at once; header or cookie matching needs canary steps',
      'remove match, or use strategy canary with a first step {weight: 0, hold: 2m} for the matched requests',
    );
  (ro.match ?? []).forEach((m, i) => {
    const kind = m.header ? 'header' : 'cookie';
    const c = m.header ?? m.cookie;
    if (!c) return;
    for (const x of matchRuleProblems({ kind, ...c }))
      at(
        r,
        [
          ...base,
          'match',
          i,
          kind,
          x.field === 'value' && c.value === undefined && c.regex === undefined ? 'name' : x.field,
        ],
        'SC3021',
        `${kind} ${x.problem}`,
        x.field === 'regex'
          ? 'fix the regular expression (PCRE syntax, e.g. "^(alice|bob)$"), or use value for an exact match'
          : x.field === 'name'
            ? `use a ${kind} name such as ${kind === 'header' ? 'X-Canary' : 'canary'}`
            : 'give value: "1" for an exact match, or regex: "^1$"',
      );
  });
  (ro.steps ?? []).forEach((step, i, all) => {
    if (step.weight === 0 && (i > 0 || !ro.match?.length))
      at(
        r,
        [...base, 'steps', i, 'weight'],
        'SC3021',
        i > 0
          ? 'only the first step may have weight 0 (the match phase)'
          : 'a step of weight 0 sends the canary no traffic without match',
        i > 0
          ? 'give this step a weight above the previous one'
          : 'add match (e.g. - header: {name: X-Canary, value: "1"}) or give the step a weight, e.g. 5',
      );
    if (i > 0 && step.weight <= all[i - 1].weight)
      at(
        r,
        [...base, 'steps', i, 'weight'],
        'SC3021',
        `step weights must grow: ${step.weight} follows ${all[i - 1].weight}`,
        'order the steps by weight, e.g. 5, 25, 50, 100',
      );
  });
  const intervalNs = ro.interval === undefined ? 10e9 : (parseDuration(ro.interval) ?? 0);
  if (intervalNs < 1e9)
    at(
      r,
      [...base, 'interval'],
      'SC3021',
      `interval ${ro.interval} is below 1s`,
      'use an interval of at least "1s", e.g. "10s"',
    );
  const a = ro.analysis;
  if (a?.failConfidence !== undefined && a.passConfidence !== undefined && a.passConfidence > a.failConfidence)
    at(
      r,
      [...base, 'analysis', 'passConfidence'],
      'SC3021',
      `passConfidence ${a.passConfidence} is above failConfidence ${a.failConfidence}`,
      'keep failConfidence at least as high (defaults: 0.99 and 0.95): a rollback needs the stronger evidence',
    );
  if (a?.maxErrorRateRatio !== undefined && a.maxErrorRateRatio !== null && !(a.maxErrorRateRatio >= 1))
    at(
      r,
      [...base, 'analysis', 'maxErrorRateRatio'],
      'SC3021',
      `maxErrorRateRatio ${a.maxErrorRateRatio} is below 1`,
      'use a ratio of at least 1 (default 2), or null to not compare with the stable version',
    );
}
