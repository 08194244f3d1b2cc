/**
 * A live Swarm service as the canonical model (src/model/service.ts), with the image the
 * manifest asked for in place of the digest the CLI pinned, so it can be diffed against the
 * desired one. Pure.
 */
import { labelImage } from '../api/labels.js';
import type { SwarmService, SwarmServiceSpec } from '../api/swarm-types.js';
import { serviceModelFromSpec, type ServiceModel } from '../model/service.js';

export function imageOf(spec: SwarmServiceSpec): string {
  const live = spec.TaskTemplate?.ContainerSpec?.Image ?? '';
  const requested = spec.Labels?.[labelImage];
  // The CLI pins "repo:tag" to "repo:tag@sha256:..."; compare what was asked for.
  if (requested && (live === requested || live.startsWith(requested + '@'))) return requested;
  return live;
}

export function serviceModelFromLive(service: SwarmService, networkNames: Map<string, string>): ServiceModel {
  return { ...serviceModelFromSpec(service.Spec, { networkNames }), image: imageOf(service.Spec) };
}
