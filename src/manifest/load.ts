/**
 * Manifests in, desired state out: reads the files, parses them with positions, validates
 * each document against its kind's schema, runs the cross-object checks and, only when
 * nothing is wrong, builds the canonical desired state. All problems are returned together.
 * No Swarm I/O happens here.
 */
import type { NetworkManifest, RouteManifest, ServiceManifest } from '../api/schemas.js';
import type { DesiredRoute } from '../api/route-model.js';
import { swarmName, type ObjectRef } from '../api/object-ref.js';
import type { DesiredNetwork, DesiredService, DesiredState } from '../api/model.js';
import { sortDiagnostics, type Diagnostic } from '../errors.js';
import { limitDiagnostics } from './diagnostic-limit.js';
import { crossCheck, networkResolver, type CheckedObject } from './cross-checks.js';
import { networkModel, routeModel, serviceModel } from './desired-model.js';
import { validateDocument } from './schema-validation.js';
import { readSources } from './source-files.js';
import { parseDocuments, type ManifestDocument } from './yaml-documents.js';

export interface LoadedManifests {
  desired: DesiredState;
  diagnostics: Diagnostic[];
  /** Where each object was declared, by refId. */
  sources: Map<string, ManifestDocument>;
  /** Number of documents read. */
  documentCount: number;
}

export async function loadManifests(paths: string[], readStdin?: () => Promise<Buffer>): Promise<LoadedManifests> {
  const read = await readSources(paths, readStdin);
  const diagnostics = [...read.diagnostics];
  const documents: ManifestDocument[] = [];
  for (const file of read.files) {
    const parsed = parseDocuments(file);
    for (const d of parsed.diagnostics) diagnostics.push(d); // no spread: a file may hold 100 000s
    for (const d of parsed.documents) documents.push(d);
  }
  return buildDesiredState(documents, diagnostics);
}

export function buildDesiredState(documents: ManifestDocument[], diagnostics: Diagnostic[] = []): LoadedManifests {
  const services: CheckedObject<ServiceManifest>[] = [];
  const networks: CheckedObject<NetworkManifest>[] = [];
  const routes: CheckedObject<RouteManifest>[] = [];
  const all = [...diagnostics];
  for (const document of documents) {
    const { typed, diagnostics: ds } = validateDocument(document);
    for (const d of ds) all.push(d);
    if (!typed) continue;
    const value = document.value as ServiceManifest | NetworkManifest | RouteManifest;
    const ref: ObjectRef = { kind: typed.kind.kind, name: value.metadata.name, ...(value.metadata.namespace ? { namespace: value.metadata.namespace } : {}) };
    if (typed.kind.kind === 'Service') services.push({ ref, manifest: value as ServiceManifest, document });
    else if (typed.kind.kind === 'Route') routes.push({ ref, manifest: value as RouteManifest, document });
    else networks.push({ ref, manifest: value as NetworkManifest, document });
  }
  for (const d of crossCheck(services, networks, routes)) all.push(d);
  const sources = new Map<string, ManifestDocument>();
  for (const o of [...networks, ...services, ...routes]) sources.set(`${o.ref.kind}/${o.ref.namespace ? o.ref.namespace + '/' : ''}${o.ref.name}`, o.document);
  const errors = all.filter((d) => d.severity === 'error');
  const desired: DesiredState = { networks: [], services: [], routes: [] };
  if (errors.length === 0) {
    const resolver = networkResolver(networks);
    desired.networks = networks.map((n): DesiredNetwork => {
      const spec = (n.manifest.spec ?? {}) as { external?: boolean; name?: string };
      return {
        ref: n.ref as DesiredNetwork['ref'],
        swarmName: spec.external && spec.name ? spec.name : swarmName(n.ref),
        external: spec.external === true,
        model: networkModel(n.manifest),
      };
    });
    const networkSwarmName = new Map(networks.map((n, i) => [n, desired.networks[i]!.swarmName]));
    desired.services = services.map((s): DesiredService => ({
      ref: s.ref as DesiredService['ref'],
      swarmName: swarmName(s.ref),
      model: serviceModel(s.manifest, (name) => networkSwarmName.get(resolver.resolve(s.ref.namespace, name)!)!),
    }));
    desired.routes = routes.map((r): DesiredRoute => ({
      ref: r.ref as DesiredRoute['ref'],
      swarmName: swarmName(r.ref),
      model: routeModel(r.manifest, (name) => swarmName({ ...(r.ref.namespace ? { namespace: r.ref.namespace } : {}), name })),
    }));
  }
  return { desired, diagnostics: limitDiagnostics(sortDiagnostics(all)), sources, documentCount: documents.length };
}
