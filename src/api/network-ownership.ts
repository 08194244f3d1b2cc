/**
 * Who owns a network. Swarm cannot change a network's labels after it is created, so a
 * network the controller took over (--adopt) keeps the labels its maker gave it, and its
 * ownership labels live on a record instead: a Swarm config named
 * `swarm-controller.network.<network ID>` carrying exactly the labels an owned network would
 * carry (managed-by, apply set, spec hash, name, namespace). The record names the network by
 * ID, so a network removed and made again under the same name is not owned by an old record.
 * Pure: naming and lookup; src/apply/ writes and removes records.
 */
import { ownershipOf, type Ownership } from './labels.js';

export const networkRecordPrefix = 'swarm-controller.network.';
export const labelRecordFor = 'swarm.controller/record-for';

export function networkRecordName(networkId: string): string {
  return `${networkRecordPrefix}${networkId}`;
}

interface Network {
  Id: string;
  Labels?: Record<string, string> | null;
}

interface Config {
  Spec: { Name: string; Labels?: Record<string, string> };
}

/**
 * The labels that say who owns a network: its own when they make it ours, else those of its
 * ownership record (an adopted network), else its own.
 */
export function networkOwnerLabels(n: Network, configs: readonly Config[]): Record<string, string> {
  const own = n.Labels ?? {};
  if (ownershipOf(own).state === 'owned') return own;
  const record = configs.find((c) => c.Spec.Name === networkRecordName(n.Id));
  return record && ownershipOf(record.Spec.Labels).state === 'owned' ? (record.Spec.Labels ?? {}) : own;
}

export function networkOwnership(n: Network, configs: readonly Config[]): Ownership {
  return ownershipOf(networkOwnerLabels(n, configs));
}
