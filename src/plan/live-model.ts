/**
 * A live Swarm service as the canonical model (src/model/service.ts), with the image the
 * manifest asked for in place of the digest it was pinned to (image-pins.ts compares the pin),
 * so it can be diffed against the desired one. Pure.
 */
import type { SwarmService, SwarmServiceSpec } from '../api/swarm-types.js';
import { serviceModelFromSpec, type ServiceModel } from '../model/service.js';
import { liveImage } from './image-pins.js';

/** The image the service was asked to run (its digest pin aside: image-pins.ts compares that). */
export function imageOf(spec: SwarmServiceSpec): string {
  return liveImage(spec).requested;
}

export function serviceModelFromLive(service: SwarmService, networkNames: Map<string, string>): ServiceModel {
  return { ...serviceModelFromSpec(service.Spec, { networkNames }), image: imageOf(service.Spec) };
}
