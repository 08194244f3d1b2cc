/**
 * The canonical models of an object with nothing set. A created object's plan shows its
 * difference from these, so only the fields the manifest sets are listed. Pure.
 */
import { networkModel } from './network.js';
import { serviceModel } from './service.js';

export const defaultServiceModel = serviceModel(
  {
    apiVersion: 'swarm.controller/v1alpha1',
    kind: 'Service',
    metadata: { name: 'default' },
    spec: { image: '' },
  },
  { network: (n) => n, data: (_kind, n) => n },
);

export const defaultNetworkModel = networkModel({
  apiVersion: 'swarm.controller/v1alpha1',
  kind: 'Network',
  metadata: { name: 'default' },
});
