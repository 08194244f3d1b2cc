/**
 * Builds the Swarm specs the controller writes, from the canonical desired model
 * (src/model/ writes the fields): the ownership labels with the spec hash, and the live
 * values that must be carried forward (ForceUpdate, a pinned image digest, platforms, and the
 * live spelling of every field whose meaning is unchanged, src/model/representation.ts). Pure.
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
import type { DesiredNetwork, DesiredService } from '../model/desired-state.js';
import { networkCreateFromModel } from '../model/network.js';
import { keepLiveRepresentation } from '../model/representation.js';
import { serviceHashInput, serviceSpecFromModel, type ServiceModel } from '../model/service.js';
import { serviceModelFromLive } from './live-model.js';
import type { SwarmNetworkCreate, SwarmServiceSpec } from '../api/swarm-types.js';
import { imageToWrite } from './image-pins.js';
import { stableJson } from './json-values.js';

/** Hashes already made, by model object: a desired model is built once per revision and never changed. */
const hashes = new WeakMap<object, Map<string, string>>();

/**
 * The hash recorded on an object of the desired spec that produced it. Remembered per model
 * object (the reconciler asks for the same desired service's hash on every resync).
 */
export function specHash(kind: string, swarmName: string, model: unknown): string {
  const byName = typeof model === 'object' && model !== null ? hashes.get(model) : undefined;
  const known = byName?.get(`${kind}\0${swarmName}`);
  if (known !== undefined) return known;
  const input = kind === 'Service' ? serviceHashInput(model as ServiceModel) : model;
  const hash = createHash('sha256')
    .update(stableJson({ kind, swarmName, model: input }))
    .digest('hex')
    .slice(0, 32);
  if (typeof model === 'object' && model !== null) {
    if (byName) byName.set(`${kind}\0${swarmName}`, hash);
    else hashes.set(model, new Map([[`${kind}\0${swarmName}`, hash]]));
  }
  return hash;
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
  let spec = serviceSpecFromModel(m, ctx);
  if (ctx.live) {
    const names = new Map([...ctx.networkIds].map(([name, id]) => [id, name]));
    const current = serviceModelFromLive({ ID: '', Version: { Index: 0 }, Spec: ctx.live }, names);
    spec = keepLiveRepresentation(spec, ctx.live, m, current) as typeof spec;
  }
  spec.TaskTemplate.ContainerSpec.Image = image;
  if (platforms?.length) spec.TaskTemplate.Placement = { ...spec.TaskTemplate.Placement, Platforms: platforms };
  spec.TaskTemplate.ForceUpdate = ctx.live?.TaskTemplate?.ForceUpdate ?? 0;
  return {
    Name: s.swarmName,
    ...spec,
    Labels: { ...m.labels, ...ownershipLabels(s, ctx.applySet, hash, ctx.revision), [labelImage]: m.image },
  };
}

export function buildNetworkCreate(n: DesiredNetwork, applySet: string, revision?: string): SwarmNetworkCreate {
  const m = n.model;
  return {
    Name: n.swarmName,
    ...networkCreateFromModel(m),
    Labels: { ...m.labels, ...networkOwnershipLabels(n, applySet, revision) },
  };
}

/** The ownership labels of a network: on the network, or on its record when it was adopted. */
export function networkOwnershipLabels(n: DesiredNetwork, applySet: string, revision?: string): Record<string, string> {
  return ownershipLabels(n, applySet, specHash('Network', n.swarmName, n.model), revision);
}
