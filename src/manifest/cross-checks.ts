/**
 * Checks that need more than one document, or more than the schema can say: duplicate
 * objects, network references, names Swarm would refuse, port and mode combinations.
 * Every finding is a diagnostic at the position of the field it is about. Pure.
 */
import type { NetworkManifest, ServiceManifest } from '../api/schemas.js';
import { refId, refLabel, swarmName, type ObjectRef } from '../api/object-ref.js';
import { diagnostic, type Diagnostic } from '../errors.js';
import { closest } from './suggest.js';
import { formatPath, type FieldPath, type ManifestDocument } from './yaml-documents.js';

export interface CheckedObject<M> {
  ref: ObjectRef;
  manifest: M;
  document: ManifestDocument;
}

export type AnyObject = CheckedObject<ServiceManifest> | CheckedObject<NetworkManifest>;

/** Swarm refuses service names longer than 63 characters (they become DNS names). */
export const maxSwarmNameLength = 63;

export interface NetworkResolver {
  /** The declared network a service in `namespace` means by `name`, or undefined. */
  resolve(namespace: string | undefined, name: string): CheckedObject<NetworkManifest> | undefined;
}

export function networkResolver(networks: CheckedObject<NetworkManifest>[]): NetworkResolver {
  const byId = new Map(networks.map((n) => [refId(n.ref), n]));
  return {
    resolve(namespace, name) {
      if (namespace) {
        const local = byId.get(refId({ kind: 'Network', namespace, name }));
        if (local) return local;
      }
      return byId.get(refId({ kind: 'Network', name }));
    },
  };
}

export function crossCheck(services: CheckedObject<ServiceManifest>[], networks: CheckedObject<NetworkManifest>[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (o: AnyObject, path: FieldPath, code: Diagnostic['code'], message: string, fix: string, severity: Diagnostic['severity'] = 'error') =>
    out.push(diagnostic(code, message, { position: o.document.positionOf(path), object: refLabel(o.ref), field: formatPath(path), fix, severity }));

  const seen = new Map<string, AnyObject>();
  for (const o of [...networks, ...services] as AnyObject[]) {
    const id = refId(o.ref);
    const first = seen.get(id);
    if (first) {
      const p = first.document.positionOf(['metadata', 'name']);
      at(o, ['metadata', 'name'], 'SC3001', `declared twice; first at ${p.file}:${p.line}`, 'rename one of them or delete the duplicate');
    } else {
      seen.set(id, o);
    }
    const full = swarmName(o.ref);
    if (full.length > maxSwarmNameLength) {
      at(o, ['metadata', 'name'], 'SC3006', `the Swarm name "${full}" is ${full.length} characters; Swarm allows ${maxSwarmNameLength}`, 'shorten the name or the namespace');
    }
  }

  for (const n of networks) {
    const spec = (n.manifest.spec ?? {}) as Record<string, unknown>;
    if (spec.external === true) {
      const others = Object.keys(spec).filter((k) => k !== 'external' && k !== 'name');
      if (others.length) at(n, ['spec', others[0]!], 'SC3007', `an external network is only looked up, so "${others.join('", "')}" would never be applied`, 'remove these fields, or drop "external: true" to let the controller manage the network');
    } else if (spec.name !== undefined) {
      at(n, ['spec', 'name'], 'SC3007', 'spec.name only names an existing network and needs "external: true"', 'remove spec.name (the Swarm name comes from metadata), or add "external: true"');
    }
  }

  const resolver = networkResolver(networks);
  const declaredNames = networks.map((n) => n.ref.name);
  const ingressPorts = new Map<string, { o: CheckedObject<ServiceManifest>; i: number }>();
  for (const s of services) {
    const spec = s.manifest.spec;
    (spec.networks ?? []).forEach((n, i) => {
      const name = typeof n === 'string' ? n : n.name;
      if (!resolver.resolve(s.ref.namespace, name)) {
        const hint = closest(name, declaredNames);
        at(s, typeof n === 'string' ? ['spec', 'networks', i] : ['spec', 'networks', i, 'name'], 'SC3002', `network "${name}" is not declared`,
          `${hint ? `did you mean "${hint}"? Otherwise a` : 'a'}dd a Network manifest named "${name}"${s.ref.namespace ? ` (in namespace "${s.ref.namespace}" or without a namespace)` : ''}, with "external: true" if it already exists in the Swarm`);
      }
    });
    if (spec.mode === 'global' && spec.replicas !== undefined) {
      at(s, ['spec', 'replicas'], 'SC3005', 'a global service runs one task per node, so replicas has no meaning', 'remove replicas, or remove "mode: global"');
    }
    (spec.ports ?? []).forEach((p, i) => {
      const mode = p.mode ?? 'ingress';
      if (spec.endpointMode === 'dnsrr' && mode === 'ingress') {
        at(s, ['spec', 'ports', i], 'SC3004', `port ${p.target} is published in ingress mode, which needs a virtual IP (endpointMode vip)`, 'add "mode: host" to the port, or use endpointMode vip');
      }
      if (mode === 'ingress' && p.published !== undefined) {
        const key = `${p.published}/${p.protocol ?? 'tcp'}`;
        const other = ingressPorts.get(key);
        if (other) {
          at(s, ['spec', 'ports', i, 'published'], 'SC3008', `port ${key} is already published by ${refLabel(other.o.ref)}`, 'publish a different port; an ingress port belongs to one service across the whole Swarm');
        } else ingressPorts.set(key, { o: s, i });
      }
    });
    if ((spec.rollbackConfig as { failureAction?: string } | undefined)?.failureAction === 'rollback') {
      at(s, ['spec', 'rollbackConfig', 'failureAction'], 'SC3009', 'a rollback cannot itself be rolled back', 'use "pause" or "continue"');
    }
    (spec.mounts ?? []).forEach((m, i) => {
      const wrong = (['volume', 'bind', 'tmpfs'] as const).filter((t) => t !== m.type && (m as unknown as Record<string, unknown>)[t] !== undefined);
      for (const t of wrong) at(s, ['spec', 'mounts', i, t], 'SC3010', `"${t}" options do not apply to a ${m.type} mount`, `remove "${t}", or change type to ${t}`);
      if (m.type === 'tmpfs' && m.source !== undefined) at(s, ['spec', 'mounts', i, 'source'], 'SC3010', 'a tmpfs mount has no source', 'remove source');
      if (m.type === 'bind' && !m.source?.startsWith('/')) at(s, ['spec', 'mounts', i, 'source'], 'SC3010', 'a bind mount needs an absolute host path as source', 'set source to an absolute path such as /srv/data');
    });
  }
  return out;
}
