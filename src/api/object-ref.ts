/**
 * Identity of a managed object: kind, optional namespace, name. The Swarm name is
 * `<namespace>_<name>` (like `docker stack deploy`) or just the name. Pure.
 */

export type Kind = 'Network' | 'Service' | 'Route' | 'Config' | 'Secret';

export interface ObjectRef {
  kind: Kind;
  namespace?: string;
  name: string;
}

export function swarmName(ref: { namespace?: string; name: string }): string {
  return ref.namespace ? `${ref.namespace}_${ref.name}` : ref.name;
}

/** "Service/shop/web" or "Network/backend": the key of an object in plans and queues. */
export function refId(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace ? ref.namespace + '/' : ''}${ref.name}`;
}

/** `Service "shop/web"`, for messages. */
export function refLabel(ref: ObjectRef): string {
  return `${ref.kind} "${ref.namespace ? ref.namespace + '/' : ''}${ref.name}"`;
}

/** Kinds in the order they are created; deletion runs in reverse. */
export const kindOrder: Kind[] = ['Network', 'Config', 'Secret', 'Service', 'Route'];
