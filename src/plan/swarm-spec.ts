/**
 * Builds the Swarm specs the controller writes, from the canonical desired model: sorted
 * lists, explicit values for every policy, networks only in TaskTemplate.Networks, the
 * ownership labels with the spec hash, and the live values that must be carried forward
 * (ForceUpdate, a pinned image digest, platforms). Pure.
 */
import { createHash } from 'node:crypto';
import {
  labelApplySet,
  labelImage,
  labelManagedBy,
  labelName,
  labelRevision,
  labelSpecHash,
  labelStackNamespace,
  managedByValue,
} from '../api/labels.js';
import type { DesiredNetwork, DesiredService, MountModel, QuantitiesModel, UpdatePolicyModel } from '../api/model.js';
import type { SwarmMount, SwarmNetworkCreate, SwarmServiceSpec, SwarmUpdateConfig } from '../api/swarm-types.js';
import { parseCpus, parseDuration, parseMemory } from '../units.js';
import { imageToWrite } from './image-pins.js';
import { stableJson } from './json-values.js';

/** The hash recorded on an object of the desired spec that produced it. */
export function specHash(kind: string, swarmName: string, model: unknown): string {
  return createHash('sha256').update(stableJson({ kind, swarmName, model })).digest('hex').slice(0, 32);
}

function ownershipLabels(
  d: DesiredService | DesiredNetwork,
  applySet: string,
  hash: string,
  revision?: string,
): Record<string, string> {
  return {
    ...(revision ? { [labelRevision]: revision } : {}),
    [labelManagedBy]: managedByValue,
    [labelApplySet]: applySet,
    [labelSpecHash]: hash,
    [labelName]: d.ref.name,
    ...(d.ref.namespace ? { [labelStackNamespace]: d.ref.namespace } : {}),
  };
}

const d = (text: string) => parseDuration(text) ?? 0;

function updateConfig(u: UpdatePolicyModel): SwarmUpdateConfig {
  return {
    Parallelism: u.parallelism,
    Delay: d(u.delay),
    FailureAction: u.failureAction,
    Monitor: d(u.monitor),
    MaxFailureRatio: u.maxFailureRatio,
    Order: u.order,
  };
}

function resources(q: QuantitiesModel) {
  return {
    ...(q.cpus ? { NanoCPUs: parseCpus(q.cpus) } : {}),
    ...(q.memory ? { MemoryBytes: parseMemory(q.memory) } : {}),
  };
}

function mount(m: MountModel): SwarmMount {
  return {
    Type: m.type,
    ...(m.source ? { Source: m.source } : {}),
    Target: m.target,
    ...(m.readOnly ? { ReadOnly: true } : {}),
    ...(m.volume
      ? {
          VolumeOptions: {
            ...(m.volume.noCopy ? { NoCopy: true } : {}),
            ...(Object.keys(m.volume.labels).length ? { Labels: m.volume.labels } : {}),
            ...(m.volume.driver ? { DriverConfig: { Name: m.volume.driver, Options: m.volume.driverOptions } } : {}),
          },
        }
      : {}),
    ...(m.bind ? { BindOptions: { Propagation: m.bind.propagation } } : {}),
    ...(m.tmpfs
      ? {
          TmpfsOptions: {
            ...(m.tmpfs.size ? { SizeBytes: parseMemory(m.tmpfs.size) } : {}),
            ...(m.tmpfs.mode ? { Mode: parseInt(m.tmpfs.mode, 8) } : {}),
          },
        }
      : {}),
  };
}

export interface ServiceSpecContext {
  applySet: string;
  /** Swarm network name -> ID. */
  networkIds: Map<string, string>;
  /** Swarm secret name -> ID (only needed when the service mounts secrets). */
  secretIds?: Map<string, string>;
  /** Swarm config name -> ID (only needed when the service mounts configs). */
  configIds?: Map<string, string>;
  /** The live spec being updated, to carry forward what Swarm owns. */
  live?: SwarmServiceSpec;
  /** The source revision being applied (`controller run`), recorded as a label. */
  revision?: string;
}

export function buildServiceSpec(s: DesiredService, ctx: ServiceSpecContext): SwarmServiceSpec {
  const m = s.model;
  const hash = specHash('Service', s.swarmName, m);
  const { image, platforms } = imageToWrite(s, ctx.live);
  const hc = m.healthcheck;
  return {
    Name: s.swarmName,
    Labels: { ...m.labels, ...ownershipLabels(s, ctx.applySet, hash, ctx.revision), [labelImage]: m.image },
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        ...(Object.keys(m.containerLabels).length ? { Labels: m.containerLabels } : {}),
        ...(m.command.length ? { Command: m.command } : {}),
        ...(m.args.length ? { Args: m.args } : {}),
        ...(m.hostname ? { Hostname: m.hostname } : {}),
        ...(Object.keys(m.env).length ? { Env: Object.entries(m.env).map(([k, v]) => `${k}=${v}`) } : {}),
        ...(m.workdir ? { Dir: m.workdir } : {}),
        ...(m.user ? { User: m.user } : {}),
        ...(m.mounts.length ? { Mounts: m.mounts.map(mount) } : {}),
        ...(m.secrets.length
          ? {
              Secrets: m.secrets.map((x) => ({
                File: { Name: x.target, UID: x.uid, GID: x.gid, Mode: parseInt(x.mode, 8) },
                SecretID: ctx.secretIds?.get(x.name) ?? x.name,
                SecretName: x.name,
              })),
            }
          : {}),
        ...(m.configs.length
          ? {
              Configs: m.configs.map((x) => ({
                File: { Name: x.target, UID: x.uid, GID: x.gid, Mode: parseInt(x.mode, 8) },
                ConfigID: ctx.configIds?.get(x.name) ?? x.name,
                ConfigName: x.name,
              })),
            }
          : {}),
        StopGracePeriod: d(m.stopGracePeriod),
        ...(hc
          ? {
              Healthcheck: {
                Test: hc.test,
                Interval: d(hc.interval),
                Timeout: d(hc.timeout),
                StartPeriod: d(hc.startPeriod),
                Retries: hc.retries,
              },
            }
          : {}),
      },
      Resources: { Limits: resources(m.resources.limits), Reservations: resources(m.resources.reservations) },
      RestartPolicy: {
        Condition: m.restartPolicy.condition,
        Delay: d(m.restartPolicy.delay),
        MaxAttempts: m.restartPolicy.maxAttempts,
        Window: d(m.restartPolicy.window),
      },
      Placement: {
        ...(m.placement.constraints.length ? { Constraints: m.placement.constraints } : {}),
        ...(m.placement.preferences.length
          ? { Preferences: m.placement.preferences.map((p) => ({ Spread: { SpreadDescriptor: p } })) }
          : {}),
        ...(m.placement.maxReplicasPerNode ? { MaxReplicas: m.placement.maxReplicasPerNode } : {}),
        ...(platforms?.length ? { Platforms: platforms } : {}),
      },
      Networks: m.networks.map((n) => ({
        Target: ctx.networkIds.get(n.name) ?? n.name,
        ...(n.aliases.length ? { Aliases: n.aliases } : {}),
      })),
      ForceUpdate: ctx.live?.TaskTemplate?.ForceUpdate ?? 0,
    },
    Mode: m.mode === 'global' ? { Global: {} } : { Replicated: { Replicas: m.replicas ?? 1 } },
    UpdateConfig: updateConfig(m.updateConfig),
    RollbackConfig: updateConfig(m.rollbackConfig),
    EndpointSpec: {
      Mode: m.endpointMode,
      ...(m.ports.length
        ? {
            Ports: m.ports.map((p) => ({
              Protocol: p.protocol,
              TargetPort: p.target,
              ...(p.published ? { PublishedPort: p.published } : {}),
              PublishMode: p.mode,
            })),
          }
        : {}),
    },
  };
}

export function buildNetworkCreate(n: DesiredNetwork, applySet: string, revision?: string): SwarmNetworkCreate {
  const m = n.model;
  return {
    Name: n.swarmName,
    Driver: m.driver,
    Attachable: m.attachable,
    Internal: m.internal,
    CheckDuplicate: true,
    Options: { ...m.options, ...(m.encrypted ? { encrypted: '' } : {}) },
    Labels: { ...m.labels, ...ownershipLabels(n, applySet, specHash('Network', n.swarmName, m), revision) },
    IPAM: {
      Driver: m.ipam.driver,
      Config: m.ipam.subnets.map((s) => ({
        Subnet: s.subnet,
        ...(s.gateway ? { Gateway: s.gateway } : {}),
        ...(s.ipRange ? { IPRange: s.ipRange } : {}),
      })),
    },
  };
}
