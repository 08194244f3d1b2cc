/**
 * Manifests in, desired state out: reads the files, parses them with positions, validates
 * each document against its kind's schema, runs the cross-object checks and, only when
 * nothing is wrong, builds the canonical desired state. All problems are returned together.
 * No Swarm I/O happens here.
 */
import type {
  ConfigManifest,
  NetworkManifest,
  RouteManifest,
  SecretManifest,
  ServiceManifest,
} from '../api/schemas.js';
import { mountedName, type DesiredData } from '../api/data-model.js';
import type { DesiredRoute } from '../api/route-model.js';
import { swarmName, type ObjectRef } from '../api/object-ref.js';
import type { DesiredNetwork, DesiredService, DesiredState } from '../model/desired-state.js';
import { networkModel } from '../model/network.js';
import { routeModel } from '../model/route.js';
import { serviceModel } from '../model/service.js';
import { sortDiagnostics, type Diagnostic } from '../errors.js';
import { limitDiagnostics } from './diagnostic-limit.js';
import { crossCheck, networkResolver, type CheckedObject } from './cross-checks.js';
import { validateDocument } from './schema-validation.js';
import { resolveData, type DataSourceContext } from './data-sources.js';
import { readSources } from './source-files.js';
import { decryptSopsDocuments, maskEncryptedDiagnostics, type SopsLoadOptions } from './sops-documents.js';
import { substituteVariables, type ManifestVariables } from './variables.js';
import { parseDocuments, type ManifestDocument } from './yaml-documents.js';

export interface LoadedManifests {
  desired: DesiredState;
  diagnostics: Diagnostic[];
  /** Where each object was declared, by refId. */
  sources: Map<string, ManifestDocument>;
  /** Number of documents read. */
  documentCount: number;
}

export interface LoadOptions {
  /** Where Secret and Config manifests with `env` read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Age keys for SOPS-encrypted files; without them such a file is refused (SC7001). */
  sops?: SopsLoadOptions;
  /**
   * Values for `${NAME}` references (src/manifest/variables.ts). Without them references are
   * still substituted: a default applies, and a reference without one is an error (SC1201).
   */
  variables?: ManifestVariables;
}

export async function loadManifests(
  paths: string[],
  readStdin?: () => Promise<Buffer>,
  options: LoadOptions = {},
): Promise<LoadedManifests> {
  const read = await readSources(paths, readStdin);
  const diagnostics = [...read.diagnostics];
  const documents: ManifestDocument[] = [];
  for (const file of read.files) {
    const parsed = parseDocuments(file);
    for (const d of parsed.diagnostics) diagnostics.push(d); // no spread: a file may hold 100 000s
    const decrypted = await decryptSopsDocuments(file, parsed, options.sops); // before schema validation
    for (const d of decrypted.diagnostics) diagnostics.push(d);
    for (const d of decrypted.documents) documents.push(d);
  }
  // After decryption, before the schema; a file without a "$" has nothing to substitute (skipping its walk is most of the cost).
  const withDollar = new Set(read.files.filter((f) => f.text.includes('$')).map((f) => f.path));
  const substituted = substituteVariables(documents, options.variables, (doc) => withDollar.has(doc.file));
  for (const d of substituted.diagnostics) diagnostics.push(d);
  const roots = new Map(read.files.map((f) => [f.path, f.root]));
  const loaded = buildDesiredState(substituted.documents, diagnostics, {
    rootOf: (file) => roots.get(file),
    env: options.env ?? process.env,
  });
  // A field whose substitution failed has its SC12xx error; a schema error about its unsubstituted text adds nothing.
  const shown = loaded.diagnostics.filter(
    (d) =>
      d.code.startsWith('SC12') || !d.position || !d.field || !substituted.failed.get(d.position.file)?.has(d.field),
  );
  return { ...loaded, diagnostics: maskEncryptedDiagnostics(shown, substituted.documents) };
}

/** Text given without files (tests, stdin): no file references resolve; env is the process's. */
const noFiles: DataSourceContext = { rootOf: () => undefined, env: process.env };

export function buildDesiredState(
  documents: ManifestDocument[],
  diagnostics: Diagnostic[] = [],
  dataContext: DataSourceContext = noFiles,
): LoadedManifests {
  const configs: CheckedObject<ConfigManifest>[] = [];
  const secrets: CheckedObject<SecretManifest>[] = [];
  const services: CheckedObject<ServiceManifest>[] = [];
  const networks: CheckedObject<NetworkManifest>[] = [];
  const routes: CheckedObject<RouteManifest>[] = [];
  const all = [...diagnostics];
  for (const document of documents) {
    const { typed, diagnostics: ds } = validateDocument(document);
    for (const d of ds) all.push(d);
    if (!typed) continue;
    const value = document.value as ServiceManifest | NetworkManifest | RouteManifest | ConfigManifest | SecretManifest;
    const ref: ObjectRef = {
      kind: typed.kind.kind,
      name: value.metadata.name,
      ...(value.metadata.namespace ? { namespace: value.metadata.namespace } : {}),
    };
    if (typed.kind.kind === 'Service') services.push({ ref, manifest: value as ServiceManifest, document });
    else if (typed.kind.kind === 'Route') routes.push({ ref, manifest: value as RouteManifest, document });
    else if (typed.kind.kind === 'Config') configs.push({ ref, manifest: value as ConfigManifest, document });
    else if (typed.kind.kind === 'Secret') secrets.push({ ref, manifest: value as SecretManifest, document });
    else networks.push({ ref, manifest: value as NetworkManifest, document });
  }
  for (const d of crossCheck(services, networks, routes, [...configs, ...secrets])) all.push(d);
  // Content is read only for objects that passed their schema; problems are diagnostics like any other.
  const data: DesiredData[] = [];
  for (const o of [...configs, ...secrets]) {
    const r = resolveData(o, dataContext);
    for (const d of r.diagnostics) all.push(d);
    if (r.desired) data.push(r.desired);
  }
  const sources = new Map<string, ManifestDocument>();
  for (const o of [...networks, ...configs, ...secrets, ...services, ...routes])
    sources.set(`${o.ref.kind}/${o.ref.namespace ? o.ref.namespace + '/' : ''}${o.ref.name}`, o.document);
  const errors = all.filter((d) => d.severity === 'error');
  const desired: DesiredState = { networks: [], services: [], routes: [], configs: [], secrets: [] };
  if (errors.length === 0) {
    const resolver = networkResolver(networks);
    const allNetworks = networks.map((n): DesiredNetwork => {
      const spec = (n.manifest.spec ?? {}) as { external?: boolean; name?: string };
      return {
        ref: n.ref as DesiredNetwork['ref'],
        swarmName: spec.name ?? swarmName(n.ref),
        external: spec.external === true,
        ...(spec.name && !spec.external ? { shared: true as const } : {}),
        model: networkModel(n.manifest),
      };
    });
    const networkSwarmName = new Map(networks.map((n, i) => [n, allNetworks[i].swarmName]));
    // A network named explicitly by several namespaces (cross-checks made them alike) is one object.
    desired.networks = allNetworks.filter(
      (n, i) => n.external || allNetworks.findIndex((m) => !m.external && m.swarmName === n.swarmName) === i,
    );
    desired.configs = data.filter((d) => d.ref.kind === 'Config');
    desired.secrets = data.filter((d) => d.ref.kind === 'Secret');
    const dataById = new Map(data.map((d) => [`${d.ref.kind}/${d.ref.namespace ?? ''}/${d.ref.name}`, d]));
    desired.services = services.map((s): DesiredService => ({
      ref: s.ref as DesiredService['ref'],
      swarmName: swarmName(s.ref),
      model: serviceModel(s.manifest, {
        network: (name) => networkSwarmName.get(resolver.resolve(s.ref.namespace, name)!)!,
        data: (kind, name) => {
          const d = dataById.get(`${kind}/${s.ref.namespace ?? ''}/${name}`);
          return d ? mountedName(d) : name;
        },
      }),
    }));
    desired.routes = routes.map((r): DesiredRoute => ({
      ref: r.ref as DesiredRoute['ref'],
      swarmName: swarmName(r.ref),
      model: routeModel(r.manifest, (name) =>
        swarmName({ ...(r.ref.namespace ? { namespace: r.ref.namespace } : {}), name }),
      ),
    }));
  }
  return { desired, diagnostics: limitDiagnostics(sortDiagnostics(all)), sources, documentCount: documents.length };
}
