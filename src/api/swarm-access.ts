/**
 * The interfaces through which everything outside src/swarm/ reads and writes the Swarm.
 * src/swarm/docker-swarm.ts implements them against the Docker Engine; unit tests use
 * in-memory fakes. Reading and writing are separate so a planner can be handed a reader only.
 */
import type { ImagePin } from './image-ref.js';
import type {
  LiveState,
  SwarmConfig,
  SwarmEvent,
  SwarmNetwork,
  SwarmNetworkCreate,
  SwarmSecret,
  SwarmService,
  SwarmServiceSpec,
  SwarmTask,
} from './swarm-types.js';

export interface TaskFilter {
  /** A service name or ID, or several (any of them). */
  service?: string | string[];
  desiredState?: 'running' | 'shutdown' | 'accepted';
  /** Task IDs (any of them). */
  id?: string[];
}

export interface SwarmReader {
  /** Services (with ServiceStatus), networks, route configs and secrets: four list calls, whatever their number. */
  readLiveState(): Promise<LiveState>;
  /** One service by name or ID; undefined when it does not exist. */
  getService(nameOrId: string): Promise<SwarmService | undefined>;
  listServices(): Promise<SwarmService[]>;
  listNetworks(): Promise<SwarmNetwork[]>;
  listTasks(filter?: TaskFilter): Promise<SwarmTask[]>;
  /** Configs carrying every given label ("key" or "key=value"), with their data. */
  listConfigs(labels?: string[]): Promise<SwarmConfig[]>;
  listSecrets(): Promise<SwarmSecret[]>;
  /**
   * A container's health as its engine reports it, when this engine has the container (tasks
   * on other nodes are not visible); undefined when it has none or no health check.
   */
  containerHealth?(
    containerId: string,
  ): Promise<{ status: string; failingStreak: number; lastOutput: string } | undefined>;
}

export interface SwarmWriter {
  createService(spec: SwarmServiceSpec): Promise<string>;
  updateService(id: string, versionIndex: number, spec: SwarmServiceSpec): Promise<void>;
  removeService(id: string): Promise<void>;
  /** Asks Swarm to return the service to its PreviousSpec (what `docker service rollback` does). */
  rollbackService(id: string, versionIndex: number, spec: SwarmServiceSpec): Promise<void>;
  createNetwork(body: SwarmNetworkCreate): Promise<string>;
  removeNetwork(id: string): Promise<void>;
  /** Fails (TerminalError, status 409) when a config of that name exists. `templating`: a template driver ("golang"). */
  createConfig(
    name: string,
    labels: Record<string, string>,
    data: string | Buffer,
    templating?: string,
  ): Promise<string>;
  /** A config already gone is not an error. */
  removeConfig(id: string): Promise<void>;
  /** Fails (TerminalError, status 409) when a secret of that name exists. */
  createSecret(
    name: string,
    labels: Record<string, string>,
    data: string | Buffer,
    templating?: string,
  ): Promise<string>;
  /** A secret already gone is not an error; one in use is a TransientError. */
  removeSecret(id: string): Promise<void>;
  /** Replaces a secret's labels (the only thing Swarm lets change). */
  updateSecretLabels(secret: SwarmSecret, labels: Record<string, string>): Promise<void>;
  /** Replaces a config's labels; `config` must carry its Data as read. */
  updateConfigLabels(config: SwarmConfig, labels: Record<string, string>): Promise<void>;
}

export interface SwarmAccess extends SwarmReader, SwarmWriter {}

/**
 * Image digests from the registries, as the engine sees them (GET /distribution/{image}/json),
 * with the user's registry credentials. Fails with RegistryError: the registry refused the
 * credentials, has no such image, or could not be reached.
 */
export interface ImageRegistry {
  resolveImage(image: string): Promise<ImagePin>;
}

/**
 * Small shared records kept in the Swarm itself (the leader lease, the suspend flag): configs
 * whose labels are updated with the version index as a compare-and-swap.
 */
export interface SwarmRecords {
  findConfig(name: string): Promise<SwarmConfig | undefined>;
  /** Fails (TerminalError, status 409) when a config of that name exists: creation is atomic. */
  createConfig(name: string, labels: Record<string, string>, data: string | Buffer): Promise<string>;
  /** Replaces the labels if the config is still at `versionIndex`; a stale index is a TransientError. */
  updateConfigLabels(config: SwarmConfig, labels: Record<string, string>): Promise<void>;
}

export interface SwarmEvents {
  /** Streams service, network, config and node events until the stream ends or `signal` aborts. */
  streamEvents(onEvent: (e: SwarmEvent) => void, signal: AbortSignal): Promise<void>;
  /** Past events of one object ("service", name) since a Unix time, as far as the engine keeps them. */
  recentEvents?(filter: { type: string; name: string }, sinceSeconds: number): Promise<SwarmEvent[]>;
}

/** Counts of the calls made, for tests and benchmarks ("a no-op apply writes nothing"). */
export interface CallCounts {
  reads: number;
  writes: number;
}
