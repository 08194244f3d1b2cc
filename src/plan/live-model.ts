/**
 * Normalises a live Swarm service or network into the canonical model (api/model.ts), so it
 * can be diffed against the desired one. Whatever Swarm or the CLI fills in by default, pins
 * or reorders becomes the same canonical value a manifest produces; whatever the manifest
 * format cannot express is kept, by Swarm path, in `unmanaged` so it still shows in a diff.
 * Pure.
 */
import { userLabels } from '../api/labels.js';
import { liveImage } from './image-pins.js';
import {
  defaultUpdatePolicy,
  type MountModel,
  type NetworkModel,
  type QuantitiesModel,
  type SecretMountModel,
  type ServiceModel,
  type UpdatePolicyModel,
} from '../api/model.js';
import type {
  SwarmNetwork,
  SwarmResources,
  SwarmService,
  SwarmServiceSpec,
  SwarmUpdateConfig,
} from '../api/swarm-types.js';
import {
  canonicalConstraint,
  canonicalMode,
  compareMounts,
  compareSecrets,
  comparePorts,
  defaultRestartDelay,
  defaultStopGracePeriod,
  sortedRecord,
} from '../manifest/desired-model.js';
import { formatCpus, formatDuration, formatMemory } from '../units.js';

/** Option keys Swarm adds to networks by itself. */
const serverNetworkOptions = ['com.docker.network.driver.overlay.vxlanid_list'];

/** Fields Swarm or the CLI fill in, or the controller carries forward unchanged; never a diff. */
const ignoredServicePaths = [
  'Name',
  'Labels',
  'TaskTemplate.ForceUpdate',
  'TaskTemplate.Runtime',
  'TaskTemplate.Placement.Platforms',
  'TaskTemplate.ContainerSpec.Isolation',
];

/** The image the service was asked to run (its digest pin aside: image-pins.ts compares that). */
export function imageOf(spec: SwarmServiceSpec): string {
  return liveImage(spec).requested;
}

function ns(n: number | undefined, fallback = '0s'): string {
  return n === undefined || n === null ? fallback : formatDuration(n);
}

function quantities(r: SwarmResources | undefined): QuantitiesModel {
  return {
    cpus: r?.NanoCPUs ? formatCpus(r.NanoCPUs) : null,
    memory: r?.MemoryBytes ? formatMemory(r.MemoryBytes) : null,
  };
}

function updatePolicy(u: SwarmUpdateConfig | undefined): UpdatePolicyModel {
  if (!u) return { ...defaultUpdatePolicy };
  // Present but partial: Swarm stores Go zero values for the missing fields.
  return {
    parallelism: u.Parallelism ?? 0,
    delay: ns(u.Delay),
    order: u.Order || 'stop-first',
    failureAction: u.FailureAction || 'pause',
    monitor: ns(u.Monitor),
    maxFailureRatio: u.MaxFailureRatio ?? 0,
  };
}

export function serviceModelFromLive(service: SwarmService, networkNames: Map<string, string>): ServiceModel {
  const spec = service.Spec;
  const t = spec.TaskTemplate ?? {};
  const c = t.ContainerSpec ?? {};
  const hc = c.Healthcheck;
  const replicated = spec.Mode?.Replicated !== undefined || spec.Mode?.Global === undefined;
  const attachments = t.Networks ?? spec.Networks ?? [];
  const env: Record<string, string> = {};
  for (const e of c.Env ?? []) {
    const i = e.indexOf('=');
    env[i < 0 ? e : e.slice(0, i)] = i < 0 ? '' : e.slice(i + 1);
  }
  return {
    labels: userLabels(spec.Labels),
    image: imageOf(spec),
    command: c.Command ?? [],
    args: c.Args ?? [],
    env: sortedRecord(env),
    workdir: c.Dir ?? '',
    user: c.User ?? '',
    hostname: c.Hostname ?? '',
    mode: replicated ? 'replicated' : 'global',
    replicas: replicated ? (spec.Mode?.Replicated?.Replicas ?? 1) : null,
    networks: attachments
      .map((n) => ({
        name: networkNames.get(n.Target ?? '') ?? n.Target ?? '',
        aliases: [...(n.Aliases ?? [])].sort(),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    ports: (spec.EndpointSpec?.Ports ?? [])
      .map((p) => ({
        target: p.TargetPort ?? 0,
        published: p.PublishedPort || null,
        protocol: p.Protocol ?? 'tcp',
        mode: p.PublishMode ?? 'ingress',
      }))
      .sort(comparePorts),
    endpointMode: spec.EndpointSpec?.Mode ?? 'vip',
    placement: {
      constraints: (t.Placement?.Constraints ?? []).map(canonicalConstraint).sort(),
      preferences: (t.Placement?.Preferences ?? []).map((p) => p.Spread?.SpreadDescriptor ?? ''),
      maxReplicasPerNode: t.Placement?.MaxReplicas ?? 0,
    },
    resources: { limits: quantities(t.Resources?.Limits), reservations: quantities(t.Resources?.Reservations) },
    updateConfig: updatePolicy(spec.UpdateConfig),
    rollbackConfig: updatePolicy(spec.RollbackConfig),
    restartPolicy: {
      condition: t.RestartPolicy?.Condition ?? 'any',
      delay: ns(t.RestartPolicy?.Delay, defaultRestartDelay),
      maxAttempts: t.RestartPolicy?.MaxAttempts ?? 0,
      window: ns(t.RestartPolicy?.Window),
    },
    healthcheck: hc
      ? {
          test: hc.Test ?? [],
          interval: ns(hc.Interval),
          timeout: ns(hc.Timeout),
          startPeriod: ns(hc.StartPeriod),
          retries: hc.Retries ?? 0,
        }
      : null,
    stopGracePeriod: ns(c.StopGracePeriod, defaultStopGracePeriod),
    mounts: (c.Mounts ?? [])
      .map((m): MountModel => ({
        type: (m.Type ?? 'volume') as MountModel['type'],
        source: m.Source ?? '',
        target: m.Target ?? '',
        readOnly: m.ReadOnly ?? false,
        volume:
          (m.Type ?? 'volume') === 'volume'
            ? {
                noCopy: m.VolumeOptions?.NoCopy ?? false,
                labels: sortedRecord(m.VolumeOptions?.Labels),
                driver: m.VolumeOptions?.DriverConfig?.Name ?? '',
                driverOptions: sortedRecord(m.VolumeOptions?.DriverConfig?.Options),
              }
            : null,
        bind: m.Type === 'bind' ? { propagation: m.BindOptions?.Propagation || 'rprivate' } : null,
        tmpfs:
          m.Type === 'tmpfs'
            ? {
                size: m.TmpfsOptions?.SizeBytes ? formatMemory(m.TmpfsOptions.SizeBytes) : null,
                mode: m.TmpfsOptions?.Mode ? canonicalMode(m.TmpfsOptions.Mode) : null,
              }
            : null,
      }))
      .sort(compareMounts),
    secrets: (c.Secrets ?? []).map((r) => fileMount(r.SecretName ?? r.SecretID, r.File)).sort(compareSecrets),
    configs: (c.Configs ?? []).map((r) => fileMount(r.ConfigName ?? r.ConfigID, r.File)).sort(compareSecrets),
    containerLabels: sortedRecord(c.Labels),
    unmanaged: unmanagedFields(spec),
  };
}

/** A secret or config mounted as a file, as the model holds it. */
function fileMount(
  name: string | undefined,
  file: { Name?: string; UID?: string; GID?: string; Mode?: number } | undefined,
): SecretMountModel {
  return {
    name: name ?? '',
    target: file?.Name ?? '',
    uid: file?.UID ?? '0',
    gid: file?.GID ?? '0',
    mode: canonicalMode(file?.Mode ?? 0o444),
  };
}

/** Paths of the Swarm spec that the model above reads. */
const modelledServicePaths = [
  'TaskTemplate.ContainerSpec.Image',
  'TaskTemplate.ContainerSpec.Labels',
  'TaskTemplate.ContainerSpec.Command',
  'TaskTemplate.ContainerSpec.Args',
  'TaskTemplate.ContainerSpec.Hostname',
  'TaskTemplate.ContainerSpec.Env',
  'TaskTemplate.ContainerSpec.Dir',
  'TaskTemplate.ContainerSpec.User',
  'TaskTemplate.ContainerSpec.Mounts',
  'TaskTemplate.ContainerSpec.StopGracePeriod',
  'TaskTemplate.ContainerSpec.Healthcheck',
  'TaskTemplate.ContainerSpec.Secrets',
  'TaskTemplate.ContainerSpec.Configs',
  'TaskTemplate.Resources.Limits.NanoCPUs',
  'TaskTemplate.Resources.Limits.MemoryBytes',
  'TaskTemplate.Resources.Reservations.NanoCPUs',
  'TaskTemplate.Resources.Reservations.MemoryBytes',
  'TaskTemplate.RestartPolicy',
  'TaskTemplate.Placement.Constraints',
  'TaskTemplate.Placement.Preferences',
  'TaskTemplate.Placement.MaxReplicas',
  'TaskTemplate.Networks',
  'Networks',
  'Mode.Replicated',
  'Mode.Global',
  'UpdateConfig',
  'RollbackConfig',
  'EndpointSpec.Mode',
  'EndpointSpec.Ports',
];

/** Every non-empty leaf of the spec that is neither modelled nor ignored, by dotted path. */
export function unmanagedFields(spec: SwarmServiceSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const skip = new Set([...modelledServicePaths, ...ignoredServicePaths]);
  const visit = (value: unknown, path: string) => {
    if (skip.has(path) || isEmpty(value)) return;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) visit(v, path ? `${path}.${k}` : k);
      return;
    }
    out[path] = value;
  };
  visit(spec, '');
  return Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((k) => [k, out[k]]),
  );
}

/** Absent, null, false, 0, "" and empty lists or maps all mean "not set". */
export function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v).every(isEmpty);
  return false;
}

export function networkModelFromLive(n: SwarmNetwork): NetworkModel {
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(n.Options ?? {})) {
    if (k !== 'encrypted' && !serverNetworkOptions.includes(k)) options[k] = v;
  }
  return {
    labels: userLabels(n.Labels),
    driver: n.Driver ?? 'overlay',
    attachable: n.Attachable ?? false,
    internal: n.Internal ?? false,
    encrypted: n.Options ? 'encrypted' in n.Options : false,
    options: sortedRecord(options),
    ipam: {
      driver: n.IPAM?.Driver || 'default',
      subnets: (n.IPAM?.Config ?? [])
        .map((c) => ({ subnet: c.Subnet ?? '', gateway: c.Gateway || null, ipRange: c.IPRange || null }))
        .sort((a, b) => a.subnet.localeCompare(b.subnet)),
    },
  };
}

/**
 * Swarm assigns a subnet and gateway when the manifest names none; those are not changes.
 * Returns the live model with server-assigned addressing replaced by the desired (absent) one.
 */
export function withoutServerAddressing(live: NetworkModel, desired: NetworkModel): NetworkModel {
  if (desired.ipam.subnets.length === 0) return { ...live, ipam: { ...live.ipam, subnets: [] } };
  const subnets = live.ipam.subnets.map((s) => {
    const d = desired.ipam.subnets.find((x) => x.subnet === s.subnet);
    return d && d.gateway === null ? { ...s, gateway: null } : s;
  });
  return { ...live, ipam: { ...live.ipam, subnets } };
}
