/**
 * The manifest view of an object's canonical model: what `controller diff` and `describe` show,
 * shaped like a manifest (kind, metadata with namespace, name and labels, spec) with Swarm's
 * defaults filled in and keys sorted, so the live and the desired side compare line by line.
 * Fields the manifest format cannot express appear under `swarm:`. Values must already be
 * masked (plans mask secret-looking env values; Config and Secret models hold only a hash).
 * Pure.
 */
import { stringify } from 'yaml';

export interface ViewedObject {
  kind: string;
  namespace?: string;
  name: string;
  /** A canonical model (masked), or null when the object does not exist on that side. */
  model: unknown;
}

export function manifestView(o: ViewedObject): string {
  if (o.model === null || o.model === undefined) return '';
  const { labels, unmanaged, ...spec } = o.model as Record<string, unknown>;
  const doc: Record<string, unknown> = {
    kind: o.kind,
    metadata: {
      ...(o.namespace ? { namespace: o.namespace } : {}),
      name: o.name,
      ...(labels && Object.keys(labels).length ? { labels } : {}),
    },
    spec,
  };
  if (unmanaged && typeof unmanaged === 'object' && Object.keys(unmanaged).length) doc.swarm = unmanaged;
  return stringify(doc, { sortMapEntries: true, lineWidth: 0 });
}
