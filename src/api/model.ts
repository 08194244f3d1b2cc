/**
 * The canonical model both sides are normalised into before diffing: every field present,
 * every default filled in, units in their one canonical spelling, lists in canonical order.
 * Desired manifests (manifest/desired-model.ts) and live Swarm specs (plan/live-model.ts) both become
 * these, so equal meaning gives equal values. Pure data; field names follow the manifest.
 */
import type { ObjectRef } from './object-ref.js';
import type { DesiredData } from './data-model.js';
import type { DesiredRoute } from './route-model.js';

export interface UpdatePolicyModel {
  parallelism: number;
  delay: string;
  order: 'stop-first' | 'start-first';
  failureAction: 'pause' | 'continue' | 'rollback';
  monitor: string;
  maxFailureRatio: number;
}

export interface QuantitiesModel {
  cpus: string | null;
  memory: string | null;
}

export interface MountModel {
  type: 'volume' | 'bind' | 'tmpfs';
  source: string;
  target: string;
  readOnly: boolean;
  volume: {
    noCopy: boolean;
    labels: Record<string, string>;
    driver: string;
    driverOptions: Record<string, string>;
  } | null;
  bind: { propagation: string } | null;
  tmpfs: { size: string | null; mode: string | null } | null;
}

export interface PortModel {
  target: number;
  published: number | null;
  protocol: 'tcp' | 'udp' | 'sctp';
  mode: 'ingress' | 'host';
}

export interface HealthcheckModel {
  test: string[];
  interval: string;
  timeout: string;
  startPeriod: string;
  retries: number;
}

export interface SecretMountModel {
  /** The Swarm secret's name. */
  name: string;
  /** File name under /run/secrets/. */
  target: string;
  uid: string;
  gid: string;
  /** Octal, "0444". */
  mode: string;
}

export interface ConfigMountModel {
  /** The Swarm config's name (for a Config manifest: its current version). */
  name: string;
  /** Absolute path in the container. */
  target: string;
  uid: string;
  gid: string;
  /** Octal, "0444". */
  mode: string;
}

export interface ServiceModel {
  labels: Record<string, string>;
  image: string;
  command: string[];
  args: string[];
  env: Record<string, string>;
  workdir: string;
  user: string;
  hostname: string;
  mode: 'replicated' | 'global';
  replicas: number | null;
  /** Swarm network names, sorted. */
  networks: { name: string; aliases: string[] }[];
  ports: PortModel[];
  endpointMode: 'vip' | 'dnsrr';
  placement: { constraints: string[]; preferences: string[]; maxReplicasPerNode: number };
  resources: { limits: QuantitiesModel; reservations: QuantitiesModel };
  updateConfig: UpdatePolicyModel;
  rollbackConfig: UpdatePolicyModel;
  restartPolicy: { condition: 'none' | 'on-failure' | 'any'; delay: string; maxAttempts: number; window: string };
  healthcheck: HealthcheckModel | null;
  stopGracePeriod: string;
  mounts: MountModel[];
  /** Sorted by target. */
  secrets: SecretMountModel[];
  configs: ConfigMountModel[];
  containerLabels: Record<string, string>;
  /** Live fields the manifest format cannot express, by Swarm path. Always empty when desired. */
  unmanaged: Record<string, unknown>;
}

export interface NetworkModel {
  labels: Record<string, string>;
  driver: string;
  attachable: boolean;
  internal: boolean;
  encrypted: boolean;
  options: Record<string, string>;
  ipam: { driver: string; subnets: { subnet: string; gateway: string | null; ipRange: string | null }[] };
}

/** A registry digest resolved for a service's image (--resolve-image), with the image's platforms. */
export interface ImagePin {
  digest: string;
  /** Placement.Platforms from the image's manifest list, as docker stack deploy writes them. */
  platforms: { Architecture?: string; OS?: string }[];
}

export interface DesiredService {
  ref: ObjectRef & { kind: 'Service' };
  swarmName: string;
  model: ServiceModel;
  /** Set when the image's digest was resolved for this run; never part of the spec hash. */
  pin?: ImagePin;
}

export interface DesiredNetwork {
  ref: ObjectRef & { kind: 'Network' };
  swarmName: string;
  external: boolean;
  model: NetworkModel;
}

export interface DesiredState {
  networks: DesiredNetwork[];
  services: DesiredService[];
  routes: DesiredRoute[];
  configs: DesiredData[];
  secrets: DesiredData[];
}

/** How a change to a top-level service field affects the running service. */
export type FieldEffect = 'replace' | 'restart' | 'scale' | 'metadata';

export const serviceFieldEffects: Record<keyof ServiceModel, FieldEffect> = {
  labels: 'metadata',
  image: 'restart',
  command: 'restart',
  args: 'restart',
  env: 'restart',
  workdir: 'restart',
  user: 'restart',
  hostname: 'restart',
  mode: 'replace',
  replicas: 'scale',
  networks: 'restart',
  ports: 'restart',
  endpointMode: 'replace',
  placement: 'restart',
  resources: 'restart',
  updateConfig: 'metadata',
  rollbackConfig: 'metadata',
  restartPolicy: 'restart',
  healthcheck: 'restart',
  stopGracePeriod: 'restart',
  mounts: 'restart',
  secrets: 'restart',
  configs: 'restart',
  containerLabels: 'restart',
  unmanaged: 'restart',
};

/** Swarm's defaults for an update or rollback policy (measured with insertDefaults=true). */
export const defaultUpdatePolicy: UpdatePolicyModel = {
  parallelism: 1,
  delay: '0s',
  order: 'stop-first',
  failureAction: 'pause',
  monitor: '5s',
  maxFailureRatio: 0,
};
