/**
 * The service's own labels (metadata.labels): Swarm's Spec.Labels without the controller's
 * ownership labels, which plan/swarm-spec.ts adds when writing. Changing them restarts nothing.
 */
import { userLabels } from '../../api/labels.js';
import { sortedRecord } from '../canonical.js';
import type { ServiceFieldGroup } from './group.js';

export interface LabelFields {
  labels: Record<string, string>;
}

export const labelFields: ServiceFieldGroup<LabelFields> = {
  swarmPaths: ['Labels'],
  // The labels are rewritten with the ownership labels (plan/swarm-spec.ts): never carried.
  specPaths: {},
  effects: { labels: 'metadata' },
  fromManifest: (m) => ({ labels: sortedRecord(m.metadata.labels) }),
  fromLive: (spec) => ({ labels: userLabels(spec.Labels) }),
  toSpec: (model, draft) => {
    draft.Labels = { ...model.labels };
  },
};
