/**
 * The registry of manifest kinds: their apiVersion, kind, plural and JSON Schema (for ajv),
 * plus the TypeScript types of the manifests.
 *
 * Everything here comes from crds/*.yaml through the generated files next to this one
 * (run `npm run gen` after changing a CRD); nothing is read from disk at runtime.
 */
import { crds } from './schemas.generated.js';
import type { NetworkManifest } from './network.generated.js';
import type { ServiceManifest } from './service.generated.js';
import type { RouteManifest } from './route.generated.js';
import type { ConfigManifest } from './config.generated.js';
import type { SecretManifest } from './secret.generated.js';

export type {
  BindOptions,
  Capability,
  ConfigMount,
  CpuQuantity,
  DnsConfig,
  Duration,
  ExtraHost,
  GenericResource,
  Healthcheck,
  Logging,
  MemoryQuantity,
  NetworkAttachment,
  ObjectMeta,
  Placement,
  PlacementPreference,
  ResourceLimits,
  ResourceReservations,
  Resources,
  RestartPolicy,
  RollbackPolicy,
  SecretMount,
  ServiceManifest,
  ServiceMount,
  ServicePort,
  ServiceSpec,
  TmpfsOptions,
  Ulimit,
  UpdatePolicy,
  VolumeOptions,
} from './service.generated.js';
export type {
  HostPattern,
  RouteBackend,
  RouteHealthCheck,
  RouteManifest,
  RouteSpec,
  RouteTimeouts,
  RouteTls,
  StickySessions,
} from './route.generated.js';
export type { ConfigManifest, ConfigSpec } from './config.generated.js';
export type { SecretManifest, SecretSpec } from './secret.generated.js';
export type {
  IpamConfig,
  IpamSubnet,
  Ipv4Address,
  Ipv4Cidr,
  NetworkManifest,
  NetworkSpec,
} from './network.generated.js';

/** The manifest kinds. Adding a CRD with a new kind makes `kinds` below fail to compile until it is listed here. */
export type KindName = 'Network' | 'Service' | 'Route' | 'Config' | 'Secret';

/** Any manifest, discriminated by `kind`. */
export type Manifest = NetworkManifest | ServiceManifest | RouteManifest | ConfigManifest | SecretManifest;

/** The manifest type of each kind. */
export interface ManifestByKind {
  Network: NetworkManifest;
  Service: ServiceManifest;
  Route: RouteManifest;
  Config: ConfigManifest;
  Secret: SecretManifest;
}

export interface KindInfo {
  /** `group/version`, e.g. "swarm.controller/v1alpha1". */
  apiVersion: string;
  /** e.g. "swarm.controller". */
  group: string;
  /** e.g. "v1alpha1". */
  version: string;
  kind: KindName;
  /** Lowercase plural, e.g. "services". */
  plural: string;
  /** The JSON Schema of a whole manifest (the CRD's openAPIV3Schema), ready for `ajv.compile`. */
  schema: object;
}

/** Every supported kind, in the order of the CRD files (sorted by file name). */
export const kinds: KindInfo[] = crds.map((crd) => ({
  apiVersion: `${crd.group}/${crd.version}`,
  group: crd.group,
  version: crd.version,
  kind: crd.kind,
  plural: crd.plural,
  schema: crd.schema,
}));

/** The apiVersion values manifests may use, e.g. ["swarm.controller/v1alpha1"]. */
export const supportedApiVersions: string[] = [...new Set(kinds.map((k) => k.apiVersion))];

/** The kind with this apiVersion and kind name, or undefined when it is not supported. */
export function findKind(apiVersion: string, kind: string): KindInfo | undefined {
  return kinds.find((k) => k.apiVersion === apiVersion && k.kind === kind);
}
