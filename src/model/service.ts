/**
 * The canonical model of a Service, assembled from its field groups (service/*.ts): every
 * field present, defaults filled in as Swarm fills them, units in one spelling, lists in
 * canonical order. A manifest and a live Swarm spec of equal meaning give equal models;
 * whatever a live spec holds that no group reads is kept, by Swarm path, in `unmanaged`, so
 * it still shows in a diff. Adding a field means adding it to one group (DEVELOPERS.md).
 * Pure.
 */
import type { ServiceManifest } from '../api/schemas.js';
import type { SwarmServiceSpec } from '../api/swarm-types.js';
import { containerFields, type ContainerFields } from './service/container.js';
import { endpointFields, type EndpointFields } from './service/endpoint.js';
import { fileMountFields, type FileMountFields } from './service/file-mounts.js';
import type {
  ApiNeed,
  FieldEffect,
  LiveRefs,
  ManifestRefs,
  ServiceFieldGroup,
  SpecDraft,
  SpecRefs,
} from './service/group.js';
import { healthFields, type HealthFields } from './service/health.js';
import { labelFields, type LabelFields } from './service/labels.js';
import { loggingFields, type LoggingFields } from './service/logging.js';
import { modeFields, type ModeFields } from './service/mode.js';
import { mountFields, type MountFields } from './service/mounts.js';
import { nameResolutionFields, type NameResolutionFields } from './service/name-resolution.js';
import { networkFields, type NetworkFields } from './service/networks.js';
import { placementFields, type PlacementFields } from './service/placement.js';
import { policyFields, type PolicyFields } from './service/policies.js';
import { resourceFields, type ResourceFields } from './service/resources.js';
import { securityFields, type SecurityFields } from './service/security.js';

export type { FieldEffect, LiveRefs, ManifestRefs, SpecRefs } from './service/group.js';
export type { PortModel } from './service/endpoint.js';
export type { MountModel } from './service/mounts.js';
export type { ConfigMountModel, SecretMountModel } from './service/file-mounts.js';
export type { HealthcheckModel } from './service/health.js';
export type { GenericResourceModel, QuantitiesModel } from './service/resources.js';
export type { UlimitModel } from './service/security.js';
export type { DnsModel } from './service/name-resolution.js';
export { isJob, type ServiceMode } from './service/mode.js';
export type { RestartPolicyModel, UpdatePolicyModel } from './service/policies.js';
export { defaultUpdatePolicy } from './service/policies.js';

export interface ServiceModel
  extends
    LabelFields,
    ContainerFields,
    ModeFields,
    NetworkFields,
    EndpointFields,
    PlacementFields,
    ResourceFields,
    PolicyFields,
    HealthFields,
    MountFields,
    FileMountFields,
    SecurityFields,
    NameResolutionFields,
    LoggingFields {
  /** Live fields the manifest format cannot express, by Swarm path. Always empty when desired. */
  unmanaged: Record<string, unknown>;
}

/** The groups, in the order they write a spec (mode after policies: a job has no UpdateConfig). */
const groups: ServiceFieldGroup<object>[] = [
  labelFields,
  containerFields,
  securityFields,
  nameResolutionFields,
  mountFields,
  fileMountFields,
  healthFields,
  loggingFields,
  resourceFields,
  placementFields,
  networkFields,
  policyFields,
  modeFields,
  endpointFields,
] as ServiceFieldGroup<object>[];

/** The order of the model's fields: the order plans list changed fields in. */
const fieldOrder: (keyof ServiceModel)[] = [
  'labels',
  'image',
  'command',
  'args',
  'env',
  'workdir',
  'user',
  'hostname',
  'mode',
  'replicas',
  'completions',
  'concurrency',
  'networks',
  'ports',
  'endpointMode',
  'placement',
  'resources',
  'updateConfig',
  'rollbackConfig',
  'restartPolicy',
  'healthcheck',
  'stopGracePeriod',
  'stopSignal',
  'mounts',
  'secrets',
  'configs',
  'containerLabels',
  'init',
  'tty',
  'stdinOpen',
  'readOnly',
  'capAdd',
  'capDrop',
  'sysctls',
  'ulimits',
  'oomScoreAdj',
  'dns',
  'extraHosts',
  'logging',
  'unmanaged',
];

function assemble(parts: object[]): ServiceModel {
  const all = Object.assign({}, ...parts) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of fieldOrder) out[k] = all[k];
  for (const k of Object.keys(all)) if (!(k in out)) out[k] = all[k];
  return out as unknown as ServiceModel;
}

/** The Swarm spec subtrees each field writes (ServiceFieldGroup.specPaths), for representation.ts. */
export const serviceSpecPaths: [keyof ServiceModel, readonly string[]][] = groups.flatMap((g) =>
  Object.entries(g.specPaths).map(([f, paths]): [keyof ServiceModel, readonly string[]] => [
    f as keyof ServiceModel,
    paths as readonly string[],
  ]),
);

/** How a change to each top-level field affects the running service. */
export const serviceFieldEffects = Object.assign({ unmanaged: 'restart' }, ...groups.map((g) => g.effects)) as Record<
  keyof ServiceModel,
  FieldEffect
>;

/** The fields a model sets that need a newer Engine API than `api` ("1.41"), with the version each needs. */
export function fieldsNeedingApi(model: ServiceModel, api: string): ApiNeed[] {
  return groups.flatMap((g) => g.needsApi?.(model) ?? []).filter((n) => compareApi(n.api, api) > 0);
}

function compareApi(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return (am ?? 0) - (bm ?? 0) || (an ?? 0) - (bn ?? 0);
}

/** Dotted model paths of fields added later, with their defaults (see ServiceFieldGroup.laterDefaults). */
const laterDefaults: [string[], unknown][] = groups.flatMap((g) =>
  Object.entries(g.laterDefaults ?? {}).map(([path, value]): [string[], unknown] => [path.split('.'), value]),
);

/**
 * What the spec hash of a model covers: the model without the fields added later that are at
 * their default, so that adding a field changes the hash of no object that does not use it.
 */
export function serviceHashInput(model: ServiceModel): unknown {
  const out = structuredClone(model) as unknown as Record<string, unknown>;
  for (const [path, value] of laterDefaults) {
    let parent: unknown = out;
    for (const p of path.slice(0, -1))
      parent = parent && typeof parent === 'object' ? (parent as Record<string, unknown>)[p] : undefined;
    const last = path[path.length - 1];
    if (parent && typeof parent === 'object' && deepEqual((parent as Record<string, unknown>)[last], value))
      delete (parent as Record<string, unknown>)[last];
  }
  return out;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A validated Service manifest as its canonical model. */
export function serviceModel(manifest: ServiceManifest, refs: ManifestRefs): ServiceModel {
  return assemble([...groups.map((g) => g.fromManifest(manifest, refs)), { unmanaged: {} }]);
}

/**
 * A live Swarm spec as its canonical model, the image as stored (plan/live-model.ts puts the
 * requested image in place of a pinned one).
 */
export function serviceModelFromSpec(spec: SwarmServiceSpec, refs: LiveRefs): ServiceModel {
  return assemble([...groups.map((g) => g.fromLive(spec, refs)), { unmanaged: unmanagedFields(spec) }]);
}

/**
 * The Swarm spec of a model: every group's fields, sorted lists, explicit policies. The name,
 * the ownership labels and what is carried forward from the live spec are plan/swarm-spec.ts's.
 */
export function serviceSpecFromModel(model: ServiceModel, refs: SpecRefs): SpecDraft {
  const draft: SpecDraft = { TaskTemplate: { ContainerSpec: {} } };
  for (const g of groups) g.toSpec(model, draft, refs);
  return draft;
}

/** Fields Swarm or the CLI fill in, or the controller carries forward unchanged; never a diff. */
const ignoredServicePaths = [
  'Name',
  'TaskTemplate.ForceUpdate',
  'TaskTemplate.Runtime',
  'TaskTemplate.Placement.Platforms',
  'TaskTemplate.ContainerSpec.Isolation',
];

/** Paths of the Swarm spec that the groups read. */
export const modelledServicePaths: readonly string[] = groups.flatMap((g) => g.swarmPaths);

let skippedPaths: Set<string> | undefined;

/** Every non-empty leaf of the spec that is neither modelled nor ignored, by dotted path. */
export function unmanagedFields(spec: SwarmServiceSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  skippedPaths ??= new Set([...modelledServicePaths, ...ignoredServicePaths]);
  const skip = skippedPaths;
  // A map is walked, not tested for emptiness first: an empty one adds no leaf either way, and
  // testing each level would walk every subtree once per level above it.
  const visit = (value: unknown, path: string) => {
    if (skip.has(path)) return;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) visit(v, path ? `${path}.${k}` : k);
      return;
    }
    if (!isEmpty(value)) out[path] = value;
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
