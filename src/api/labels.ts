/**
 * The labels the controller writes on every object it owns. Ownership needs all of
 * managed-by, apply-set and a well-formed spec-hash; a copied managed-by label alone does
 * not make an object ours.
 */

export const labelManagedBy = 'swarm.controller/managed-by';
export const managedByValue = 'swarm-controller';
export const labelApplySet = 'swarm.controller/apply-set';
export const labelSpecHash = 'swarm.controller/spec-hash';
/** The image as the manifest asked for it, before any digest pinning. */
export const labelImage = 'swarm.controller/image';
/** The manifest's own name (without namespace), for `docker service ls` readers. */
export const labelName = 'swarm.controller/name';
/** The source revision (git commit) whose manifests last changed this object (`controller run`). */
export const labelRevision = 'swarm.controller/revision';
/** Makes `docker stack ls/services/ps` show a namespace like a stack. */
export const labelStackNamespace = 'com.docker.stack.namespace';

export const controllerLabels = [
  labelManagedBy,
  labelApplySet,
  labelSpecHash,
  labelImage,
  labelName,
  labelRevision,
  labelStackNamespace,
];

export type Ownership = { state: 'owned'; applySet: string; specHash: string } | { state: 'unmanaged' };

export function ownershipOf(labels: Record<string, string> | undefined | null): Ownership {
  const l = labels ?? {};
  const set = l[labelApplySet];
  const hash = l[labelSpecHash];
  if (l[labelManagedBy] === managedByValue && set && hash && /^[0-9a-f]{16,64}$/.test(hash)) {
    return { state: 'owned', applySet: set, specHash: hash };
  }
  return { state: 'unmanaged' };
}

/** Labels without the controller's own: what the user's labels are. */
export function userLabels(labels: Record<string, string> | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) if (!controllerLabels.includes(k)) out[k] = v;
  return out;
}
