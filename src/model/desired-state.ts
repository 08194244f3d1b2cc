/**
 * What the manifests want, as the loader (manifest/) hands it to the planner and the applier:
 * each object's identity, its Swarm name and its canonical model. Pure data.
 */
import type { DesiredData } from '../api/data-model.js';
import type { ImagePin } from '../api/image-ref.js';
export type { ImagePin };
import type { ObjectRef } from '../api/object-ref.js';
import type { DesiredRoute } from '../api/route-model.js';
import type { NetworkModel } from './network.js';
import type { ServiceModel } from './service.js';

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
  /**
   * Named explicitly (spec.name, not external): other namespaces and apply sets may declare it
   * too; one that another set owns, or that no controller made, is used as it is.
   */
  shared?: true;
  model: NetworkModel;
}

export interface DesiredState {
  networks: DesiredNetwork[];
  services: DesiredService[];
  routes: DesiredRoute[];
  configs: DesiredData[];
  secrets: DesiredData[];
}
