/**
 * What a field group of the Service model is: one module per group of related fields (the
 * container, its mounts, placement, ...), each knowing, for its fields only, the manifest ->
 * model mapping (defaults filled in, units canonical, lists sorted), the live Swarm spec ->
 * model mapping (Swarm's defaults measured in docs/swarm-defaults.md), the model -> Swarm spec
 * mapping, the Swarm paths it reads, and what a change to each field does to the service.
 * service.ts assembles the groups. Pure.
 */
import type { ServiceManifest } from '../../api/schemas.js';
import type { SwarmServiceSpec } from '../../api/swarm-types.js';

export type ServiceManifestSpec = ServiceManifest['spec'];

/** How a change to a top-level service field affects the running service. */
export type FieldEffect = 'replace' | 'restart' | 'scale' | 'metadata';

/** Names a manifest refers to, resolved to Swarm names by the loader. */
export interface ManifestRefs {
  /** A Network manifest name (as written in the service) -> the network's Swarm name. */
  network(name: string): string;
  /** The Swarm name a secret or config reference mounts: a Config/Secret manifest's current version, else the name itself. */
  data(kind: 'Config' | 'Secret', name: string): string;
}

/** What reading a live spec needs: network IDs back to names. */
export interface LiveRefs {
  networkNames: Map<string, string>;
}

/** What writing a spec needs: Swarm names to IDs (a name is written where no ID is known). */
export interface SpecRefs {
  networkIds: Map<string, string>;
  secretIds?: Map<string, string>;
  configIds?: Map<string, string>;
}

/**
 * A spec being built: the containers every service has are present. Groups add their fields;
 * the order in which service.ts runs them is the order of the keys written.
 */
export interface SpecDraft extends SwarmServiceSpec {
  TaskTemplate: NonNullable<SwarmServiceSpec['TaskTemplate']> & {
    ContainerSpec: NonNullable<NonNullable<SwarmServiceSpec['TaskTemplate']>['ContainerSpec']>;
  };
}

/** A field that needs Engine API `api` (Docker Engine `engine` or later). */
export interface ApiNeed {
  field: string;
  api: string;
  engine: string;
}

export interface ServiceFieldGroup<F extends object> {
  /** The Swarm spec paths (dotted) this group reads; any other non-empty live path is unmanaged. */
  readonly swarmPaths: readonly string[];
  /**
   * The Swarm spec subtrees each field writes. Where a field means the same on both sides, the
   * spec written keeps the live spec's spelling of these (src/model/representation.ts), since
   * Swarm restarts tasks on any difference in the task template, spelling included. A path
   * several fields write is kept only when all of them are unchanged.
   */
  readonly specPaths: { readonly [K in keyof F]?: readonly string[] };
  /** What changing each field does. */
  readonly effects: { readonly [K in keyof F]: FieldEffect };
  /**
   * Fields added after objects were first written, by dotted model path, with their default:
   * left out of the spec hash while at that default, so adding them changed no object's hash.
   */
  readonly laterDefaults?: Readonly<Record<string, unknown>>;
  /**
   * The fields set in this model that an older Engine API does not have (it would drop them
   * silently, and every plan would show them again), with the API version they need.
   */
  needsApi?(model: F): ApiNeed[];
  fromManifest(manifest: ServiceManifest, refs: ManifestRefs): F;
  fromLive(spec: SwarmServiceSpec, refs: LiveRefs): F;
  /** Writes the group's fields into the draft. */
  toSpec(model: F, draft: SpecDraft, refs: SpecRefs): void;
}
