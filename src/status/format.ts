/**
 * The status format, version 1 (docs/status-format.md): what the leader of `controller run`
 * writes into the Swarm about each apply set (or app) and about the route tier, so that
 * `controller status`, `controller get`, `controller describe` and the dashboard can read it
 * from any machine that reaches a manager, with no published port.
 *
 * Pure types and names: imports nothing, so the CLI, the dashboard and the apps loops can all
 * import it. The carrier (a Swarm config per document version, rotated by name) is described
 * by the labels and names below; codec.ts encodes and bounds a document, reader.ts finds and
 * decodes the current one.
 *
 * Compatibility: within v1, fields are only ever added, and only as optional; readers ignore
 * fields they do not know. A change that removes or redefines a field is v2 (a new
 * `apiVersion`, and a new value of the format label), and readers refuse what they cannot read.
 */

export const statusApiVersion = 'status.swarm-controller.io/v1';
/** The value of `labelFormat` on every config of this version. */
export const statusFormatLabelValue = 'v1';

/** What a status document is about. Apply sets today; apps when `controller run` runs several. */
export type StatusKind = 'ApplySet' | 'App' | 'Routes';

/** Identifies a document stream: one writer at a time (the leader), many versions over time. */
export interface StatusRef {
  kind: StatusKind;
  /** The apply set or app name; for Routes, the proxy service. */
  name: string;
}

// --- the carrier: labels and names of the Swarm configs -------------------------------------

/** `<kind>/<name>` of the document the config holds; readers list configs by this label. */
export const labelStatusOf = 'swarm.controller/status-of';
/** `v1`. */
export const labelFormat = 'swarm.controller/status-format';
/** The document's sequence number, increasing per ref across writers. */
export const labelSequence = 'swarm.controller/status-sequence';
/** How the config's data is encoded: `gzip` (gzip of the UTF-8 JSON). */
export const labelEncoding = 'swarm.controller/status-encoding';
/** When the document was written (ISO 8601), for `docker config ls` readers. */
export const labelWrittenAt = 'swarm.controller/status-written-at';
/** The controller replica that wrote it. */
export const labelWriter = 'swarm.controller/status-writer';

/** `ApplySet/shop`, the value of `labelStatusOf`. */
export const statusOfValue = (ref: StatusRef) => `${ref.kind}/${ref.name}`;

/**
 * The config name of one version of a document: `swarm-controller-status.<name>.<seq>` for an
 * apply set (beside `swarm-controller-lease.<name>` and `-state.<name>`),
 * `swarm-controller-status.app.<name>.<seq>` for an app and
 * `swarm-controller-routes.<proxy service>.<seq>` for the route tier. Names are for people;
 * readers go by the labels.
 */
export function statusConfigName(ref: StatusRef, sequence: number): string {
  if (ref.kind === 'Routes') return `swarm-controller-routes.${ref.name}.${sequence}`;
  if (ref.kind === 'App') return `swarm-controller-status.app.${ref.name}.${sequence}`;
  return `swarm-controller-status.${ref.name}.${sequence}`;
}

// --- the documents ------------------------------------------------------------------------

interface DocumentBase {
  apiVersion: typeof statusApiVersion;
  kind: StatusKind;
  name: string;
  /** Increases with every version written for this ref, across leaders. */
  sequence: number;
  /** When this version was written (ISO 8601, the writer's clock). */
  writtenAt: string;
  /** The replica that wrote it (`controller run --identity`) and its version. */
  writer: { identity: string; version: string };
  /**
   * The writer rewrites the document at least this often while it leads: a reader calls a
   * document older than three times this "stale" (the leader is gone or cannot write).
   */
  heartbeatMs: number;
  /** Present when the document had to be cut to stay within the size budget: what was left out. */
  truncated?: { objects: number; syncs: number; reasons: number };
}

/**
 * Ready: in sync. Progressing: being applied or converging. Pending: waiting for a dependency.
 * Failed: the last attempt failed (retried with backoff), blocked, or drifted under
 * --drift=report. Stalled: a terminal error, not retried until something changes.
 */
export type ObjectPhase = 'Ready' | 'Progressing' | 'Failed' | 'Stalled' | 'Pending';

export interface ObjectDrift {
  /** When the drift was seen. */
  at: string;
  /** Manifest paths that differed (`spec.env.LOG_LEVEL`). */
  fields: string[];
  /** Repaired (--drift=repair) or only reported. */
  repaired: boolean;
}

export interface ObjectEntry {
  /** `Service/shop/web`: kind, namespace, name, as plans name objects. */
  id: string;
  kind: string;
  /** The object's name in the Swarm (`shop_web`). */
  swarmName: string;
  phase: ObjectPhase;
  /** Why it is in that phase; empty when Ready. Secret values never appear (plans mask them). */
  reason: string;
  /** The revision of the manifests this was computed against. */
  revision?: string;
  /** When the phase or reason last changed. */
  updatedAt: string;
  /** The last drift seen on this object, if any since the controller started. */
  drift?: ObjectDrift;
}

/** waiting (apps): a new revision held back by a sync window or a dependency; applied when allowed. */
export type SyncResult = 'success' | 'failed' | 'invalid' | 'fetch-failed' | 'waiting';
/** manual: `controller sync` (passes sync windows that allow it); dependency: an app it depends on synced. */
export type SyncTrigger = 'startup' | 'poll' | 'webhook' | 'resume' | 'manual' | 'dependency';

/** One sync of a revision: the history the dashboard shows. */
export interface SyncEntry {
  /** The commit (or directory hash) synced; absent when the fetch failed. */
  revision?: string;
  /** The commit message's first line. */
  message?: string;
  trigger: SyncTrigger;
  startedAt: string;
  durationMs: number;
  result: SyncResult;
  /** What failed, or a summary of what was applied. */
  detail: string;
}

/**
 * Synced: the last sync succeeded and every object is Ready. Progressing: objects converging.
 * Degraded: some object is Failed or Stalled. SyncFailed: the last sync failed or the revision
 * was refused. Unknown: no revision yet.
 */
export type SyncState = 'Synced' | 'Progressing' | 'Degraded' | 'SyncFailed' | 'Unknown';

export interface ImagesEntry {
  mode: 'always' | 'changed' | 'never';
  /** 0 when images are not checked between revisions. */
  checkIntervalMs: number;
  pinned: number;
  lastCheck?: ImageCheckEntry;
  lastChange?: ImageCheckEntry;
}

export interface ImageCheckEntry {
  at: string;
  checked: number;
  changed: { image: string; from?: string; to: string }[];
  failed: { image: string; error: string }[];
}

/** An apply set, or an app: what its leader knows. */
export interface AppStatusDocument extends DocumentBase {
  kind: 'ApplySet' | 'App';
  /** The apply set its objects carry (an app's own name for apps). */
  applySet: string;
  /** Where the manifests come from (a git URL with ref and path, or a directory). */
  source: string;
  /** The replica that leads (writes) and whether reconciling is suspended. */
  leader: string;
  suspended: boolean;
  suspendedReason?: string;
  driftMode: 'repair' | 'report';
  /** The revision being applied (the last good one). */
  revision?: string;
  syncState: SyncState;
  lastSync?: SyncEntry;
  nextSyncAt?: string;
  /** Newest first, at most `historyLimit`. */
  history: SyncEntry[];
  /** Sorted by id; the non-Ready ones kept first when the document is cut. */
  objects: ObjectEntry[];
  /** Over every object, also those cut from `objects`. */
  counts: Record<ObjectPhase, number>;
  /** Objects with a drift recorded. */
  drifted: number;
  images?: ImagesEntry;
  /** Apps only: the apps that must be Ready before this one syncs. */
  dependsOn?: string[];
  /** Apps only: a newer valid revision held back by a sync window or a dependency, and why. */
  pendingRevision?: string;
  waiting?: string;
}

export interface RouteServerEntry {
  /** The Swarm task. */
  task: string;
  address: string;
  port: number;
  /**
   * Added in v1 (optional): the server's health as the proxy replicas' HAProxy sees it, merged:
   * one value when every replica that reported agrees, `mixed` when they differ, `unknown` when
   * none reported it. Absent when the writer does not read the replicas.
   */
  health?: ServerHealth;
  /** Added in v1 (optional): each replica's view of this server, by replica task. */
  proxies?: ProxyServerView[];
}

/**
 * up: passing checks (or "UP 1/3": still up, checks starting to fail); down: failing checks
 * (also "DOWN 1/2", coming back); maint: disabled; drain: takes no new traffic; unchecked: the
 * route has no health check (HAProxy's "no check"), traffic goes to it; unknown: not reported;
 * mixed (merged only): replicas disagree.
 */
export type ServerHealth = 'up' | 'down' | 'maint' | 'drain' | 'unchecked' | 'unknown' | 'mixed';

/** One proxy replica's view of one server. */
export interface ProxyServerView {
  /** The proxy replica's Swarm task. */
  replica: string;
  health: ServerHealth;
  /** HAProxy's `status` text as read (`UP`, `DOWN`, `UP 1/3`, `no check`, ...); absent when not reported. */
  state?: string;
  /** HAProxy's effective weight of the server on that replica. */
  weight?: number;
}

export interface RouteBackendEntry {
  service: string;
  /** The backend's weight in the manifest (its share of the route's traffic). */
  weight: number;
  servers: RouteServerEntry[];
}

export interface ServedRouteEntry {
  /** `namespace/name`. */
  route: string;
  hosts: string[];
  pathPrefix: string;
  backends: RouteBackendEntry[];
}

export interface ProxyReplicaEntry {
  task: string;
  address: string;
  /** The table generation it holds, as it last reported; null until it answered once. */
  generation: number | null;
  checksum: string | null;
  /** Holds the current table. */
  inSync: boolean;
  lastError: string | null;
  lastPushAt: string | null;
  /**
   * Added in v1 (optional): why the replica's view of the servers (GET /v1/stats) could not be
   * read at the last try; null when it was read. Absent when the writer does not read the replicas.
   */
  statsError?: string | null;
}

/** The route tier as the leader pushes it. */
export interface RoutesStatusDocument extends DocumentBase {
  kind: 'Routes';
  /** The proxy service (also `name`) and the control network. */
  proxyService: string;
  proxyNetwork: string;
  /** False when this controller does not push (no token); `note` says why. */
  active: boolean;
  note?: string;
  /** The table's generation and checksum. */
  generation: number;
  checksum: string;
  served: ServedRouteEntry[];
  broken: { route: string; problem: string }[];
  unreadable: { configName: string; problem: string }[];
  replicas: ProxyReplicaEntry[];
  /** Added in v1 (optional): how often the leader reads each replica's view of the servers. */
  observeIntervalMs?: number;
  /** Added in v1 (optional): the progressive rollouts of the routed services (docs/rollouts.md). */
  rollouts?: RolloutStatusEntry[];
  lastChangeAt: string | null;
  lastError: string | null;
}

/** One side of a rollout's last judgement: the traffic of its window. */
export interface RolloutWindowEntry {
  requests: number;
  /** Answered 5xx and connection errors over requests; null with no request. */
  errorRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** A rollout as the leader runs it: its record, and the leader's last judgement of the current step. */
export interface RolloutStatusEntry {
  /** The stable service's Swarm name, and the canary's. */
  service: string;
  canary: string;
  /** `namespace/name` of the route. */
  route: string;
  strategy: 'canary' | 'blueGreen';
  /** progressing, promoting, finalizing, succeeded, rolling-back, rolled-back. */
  phase: string;
  /** The current step, 1-based, and how many there are. */
  step: number;
  steps: number;
  /** The canary's share of the route's traffic now, in percent. */
  weight: number;
  revision: string;
  reason: string;
  startedAt: string;
  updatedAt: string;
  /** A pending `controller rollout promote|abort`. */
  request?: 'promote' | 'abort';
  /** The leader's last judgement of the current step; absent before the first, and after the end. */
  judgement?: {
    verdict: 'pass' | 'fail' | 'inconclusive';
    reason: string;
    canary: RolloutWindowEntry;
    stable: RolloutWindowEntry;
    /** Optional: the stable version before the first step (the latency baseline). */
    baseline?: RolloutWindowEntry;
    /** Optional: the stable side's drift from its baseline ("stable p50 1.80x its baseline (a shared delay of 80 ms removed)"). */
    drift?: string;
  };
}

export type StatusDocument = AppStatusDocument | RoutesStatusDocument;

/** What readers return: a document and what the carrier says about it. */
export interface StoredStatus<D extends StatusDocument = StatusDocument> {
  document: D;
  /** The Swarm config it was read from. */
  configName: string;
  /** Encoded size in the Swarm (bytes). */
  storedBytes: number;
  /** Older than three heartbeats by the reader's clock. */
  stale: boolean;
  /** Milliseconds since it was written, by the reader's clock (negative: clocks differ). */
  ageMs: number;
}

// --- bounds ------------------------------------------------------------------------------

/**
 * Swarm refuses config data over swarmkit's MaxConfigSize: 500 KiB on engine 20.10 (1000 KiB on
 * later engines); documents stay well under the lower one.
 */
export const swarmConfigLimitBytes = 500 * 1024;
/** The encoded size a writer keeps to: objects are cut (non-Ready kept first) beyond it. */
export const statusBudgetBytes = 256 * 1024;
/** Syncs kept in `history`. */
export const historyLimit = 20;
/** Characters kept of one reason or sync detail. */
export const reasonLimit = 1000;
