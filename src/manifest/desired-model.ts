/**
 * Turns a validated Service or Network manifest into the canonical model (api/model.ts):
 * defaults filled in exactly as Swarm fills them, units parsed and re-spelt canonically,
 * lists sorted where order has no meaning, network references resolved to Swarm names.
 * Pure; assumes schema validation passed (units match their patterns).
 */
import type { NetworkManifest, RouteManifest, ServiceManifest } from '../api/schemas.js';
import { rolloutDefaults, type RolloutModel, type RouteModel } from '../api/route-model.js';
import type { RouteRollout } from '../api/route.generated.js';
import {
  defaultUpdatePolicy,
  type MountModel,
  type SecretMountModel,
  type ConfigMountModel,
  type NetworkModel,
  type PortModel,
  type QuantitiesModel,
  type ServiceModel,
  type UpdatePolicyModel,
} from '../api/model.js';
import { canonicalImage } from '../api/image-ref.js';
import { formatCpus, formatDuration, formatMemory, parseCpus, parseDuration, parseMemory } from '../units.js';

type ServiceSpec = ServiceManifest['spec'];
type NetworkSpec = NonNullable<NetworkManifest['spec']>;

export const defaultRestartDelay = '5s';
export const defaultStopGracePeriod = '10s';

/** Canonical duration; `fallback` when absent. */
export function duration(text: string | undefined, fallback = '0s'): string {
  if (text === undefined) return fallback;
  return formatDuration(parseDuration(text) ?? 0);
}

function quantities(q: { cpus?: string | number; memory?: string | number } | undefined): QuantitiesModel {
  const cpus = q?.cpus === undefined ? undefined : parseCpus(q.cpus);
  const memory = q?.memory === undefined ? undefined : parseMemory(q.memory);
  return {
    cpus: cpus ? formatCpus(cpus) : null,
    memory: memory ? formatMemory(memory) : null,
  };
}

function updatePolicy(p: Partial<Record<keyof UpdatePolicyModel, unknown>> | undefined): UpdatePolicyModel {
  return {
    parallelism: (p?.parallelism as number | undefined) ?? defaultUpdatePolicy.parallelism,
    delay: duration(p?.delay as string | undefined, defaultUpdatePolicy.delay),
    order: (p?.order as UpdatePolicyModel['order'] | undefined) ?? defaultUpdatePolicy.order,
    failureAction:
      (p?.failureAction as UpdatePolicyModel['failureAction'] | undefined) ?? defaultUpdatePolicy.failureAction,
    monitor: duration(p?.monitor as string | undefined, defaultUpdatePolicy.monitor),
    maxFailureRatio: (p?.maxFailureRatio as number | undefined) ?? defaultUpdatePolicy.maxFailureRatio,
  };
}

export function sortedRecord(
  r: Record<string, string | number | boolean | undefined> | undefined | null,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r ?? {}).sort()) out[k] = String(r![k]);
  return out;
}

export function comparePorts(a: PortModel, b: PortModel): number {
  return (
    a.target - b.target ||
    (a.published ?? 0) - (b.published ?? 0) ||
    a.protocol.localeCompare(b.protocol) ||
    a.mode.localeCompare(b.mode)
  );
}

export function compareMounts(a: MountModel, b: MountModel): number {
  return a.target.localeCompare(b.target) || a.source.localeCompare(b.source);
}

function mount(m: NonNullable<ServiceSpec['mounts']>[number]): MountModel {
  const octal = m.tmpfs?.mode;
  return {
    type: m.type,
    source: m.source ?? '',
    target: m.target,
    readOnly: m.readOnly ?? false,
    volume:
      m.type === 'volume'
        ? {
            noCopy: m.volume?.noCopy ?? false,
            labels: sortedRecord(m.volume?.labels),
            driver: m.volume?.driver ?? '',
            driverOptions: sortedRecord(m.volume?.driverOptions),
          }
        : null,
    bind: m.type === 'bind' ? { propagation: m.bind?.propagation ?? 'rprivate' } : null,
    tmpfs:
      m.type === 'tmpfs'
        ? {
            size: m.tmpfs?.size !== undefined ? formatMemory(parseMemory(m.tmpfs.size) ?? 0) : null,
            mode: octal !== undefined ? canonicalMode(octal) : null,
          }
        : null,
  };
}

/** "0700", "700" or 448 -> "0700". */
export function canonicalMode(mode: string | number): string {
  const n = typeof mode === 'number' ? mode : parseInt(mode, 8);
  return '0' + n.toString(8).padStart(3, '0');
}

export function serviceModel(
  manifest: ServiceManifest,
  resolveNetwork: (name: string) => string,
  /** The Swarm name a secret or config reference mounts: a Config/Secret manifest's current version, else the name itself. */
  resolveData: (kind: 'Config' | 'Secret', name: string) => string = (_kind, name) => name,
): ServiceModel {
  const s = manifest.spec;
  const global = s.mode === 'global';
  const hc = s.healthcheck;
  return {
    labels: sortedRecord(manifest.metadata.labels),
    image: canonicalImage(s.image),
    command: s.command ?? [],
    args: s.args ?? [],
    env: sortedRecord(s.env),
    workdir: s.workdir ?? '',
    user: s.user ?? '',
    hostname: s.hostname ?? '',
    mode: global ? 'global' : 'replicated',
    replicas: global ? null : (s.replicas ?? 1),
    networks: (s.networks ?? [])
      .map((n) =>
        typeof n === 'string'
          ? { name: resolveNetwork(n), aliases: [] }
          : { name: resolveNetwork(n.name), aliases: [...(n.aliases ?? [])].sort() },
      )
      .sort((a, b) => a.name.localeCompare(b.name)),
    ports: (s.ports ?? [])
      .map((p): PortModel => ({
        target: p.target,
        published: p.published ?? null,
        protocol: p.protocol ?? 'tcp',
        mode: p.mode ?? 'ingress',
      }))
      .sort(comparePorts),
    endpointMode: s.endpointMode ?? 'vip',
    placement: {
      constraints: [...(s.placement?.constraints ?? [])].map(canonicalConstraint).sort(),
      preferences: (s.placement?.preferences ?? []).map((p) => p.spread),
      maxReplicasPerNode: s.placement?.maxReplicasPerNode ?? 0,
    },
    resources: { limits: quantities(s.resources?.limits), reservations: quantities(s.resources?.reservations) },
    updateConfig: updatePolicy(s.updateConfig),
    rollbackConfig: updatePolicy(s.rollbackConfig),
    restartPolicy: {
      condition: s.restartPolicy?.condition ?? 'any',
      delay: duration(s.restartPolicy?.delay, defaultRestartDelay),
      maxAttempts: s.restartPolicy?.maxAttempts ?? 0,
      window: duration(s.restartPolicy?.window),
    },
    healthcheck:
      hc === undefined
        ? null
        : hc.disable
          ? { test: ['NONE'], interval: '0s', timeout: '0s', startPeriod: '0s', retries: 0 }
          : {
              test: hc.test === undefined ? [] : typeof hc.test === 'string' ? ['CMD-SHELL', hc.test] : [...hc.test],
              interval: duration(hc.interval),
              timeout: duration(hc.timeout),
              startPeriod: duration(hc.startPeriod),
              retries: hc.retries ?? 0,
            },
    stopGracePeriod: duration(s.stopGracePeriod, defaultStopGracePeriod),
    mounts: (s.mounts ?? []).map(mount).sort(compareMounts),
    secrets: (s.secrets ?? []).map((m) => secretMount(m, resolveData)).sort(compareSecrets),
    configs: (s.configs ?? []).map((m) => configMount(m, resolveData)).sort(compareSecrets),
    containerLabels: sortedRecord(s.containerLabels),
    unmanaged: {},
  };
}

function secretMount(
  m: NonNullable<ServiceSpec['secrets']>[number],
  resolve: (kind: 'Secret', name: string) => string,
): SecretMountModel {
  if (typeof m === 'string') return { name: resolve('Secret', m), target: m, uid: '0', gid: '0', mode: '0444' };
  return {
    name: resolve('Secret', m.name),
    target: m.target ?? m.name,
    uid: m.uid ?? '0',
    gid: m.gid ?? '0',
    mode: canonicalMode(m.mode ?? '0444'),
  };
}

function configMount(
  m: NonNullable<ServiceSpec['configs']>[number],
  resolve: (kind: 'Config', name: string) => string,
): ConfigMountModel {
  if (typeof m === 'string') return { name: resolve('Config', m), target: `/${m}`, uid: '0', gid: '0', mode: '0444' };
  return {
    name: resolve('Config', m.name),
    target: m.target ?? `/${m.name}`,
    uid: m.uid ?? '0',
    gid: m.gid ?? '0',
    mode: canonicalMode(m.mode ?? '0444'),
  };
}

/** Secret and config mounts: by target (unique within a service), then name. */
export function compareSecrets(a: { target: string; name: string }, b: { target: string; name: string }): number {
  return a.target.localeCompare(b.target) || a.name.localeCompare(b.name);
}

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
        : (r.steps ?? d.steps).map((x) => ({ weight: x.weight, hold: duration(x.hold, d.hold) })),
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
  };
}

/** "node.role==manager" and "node.role == manager" mean the same; Swarm keeps the text as given. */
export function canonicalConstraint(c: string): string {
  const m = /^\s*(.+?)\s*(==|!=)\s*(.+?)\s*$/.exec(c);
  return m ? `${m[1]} ${m[2]} ${m[3]}` : c.trim();
}

export function networkModel(manifest: NetworkManifest): NetworkModel {
  const s: NetworkSpec = manifest.spec ?? {};
  return {
    labels: sortedRecord(manifest.metadata.labels),
    driver: s.driver ?? 'overlay',
    attachable: s.attachable ?? false,
    internal: s.internal ?? false,
    encrypted: s.encrypted ?? false,
    options: sortedRecord(s.options),
    ipam: {
      driver: s.ipam?.driver ?? 'default',
      subnets: (s.ipam?.subnets ?? [])
        .map((n) => ({ subnet: n.subnet, gateway: n.gateway ?? null, ipRange: n.ipRange ?? null }))
        .sort((a, b) => a.subnet.localeCompare(b.subnet)),
    },
  };
}
