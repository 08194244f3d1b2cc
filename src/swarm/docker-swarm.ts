/**
 * SwarmReader and SwarmWriter over the Docker Engine API, through dockerode (engine-client.ts).
 * Counts every read and write so callers can prove what a run did. Errors arrive typed
 * (engine-errors.ts); "already gone" on a removal is what was wanted and is not an error.
 */
import type Docker from 'dockerode';
import { parseImageRef } from '../api/image-ref.js';
import type { ImagePin } from '../api/image-ref.js';
import type {
  CallCounts,
  ImageRegistry,
  SwarmAccess,
  SwarmEvents,
  SwarmRecords,
  TaskFilter,
} from '../api/swarm-access.js';
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
} from '../api/swarm-types.js';
import { splitConfigs } from '../api/route-model.js';
import { NotFoundError, RegistryError, TerminalError, TransientError } from '../errors.js';
import { EngineClient } from './engine-client.js';
import type { EngineSelection } from './endpoint.js';
import { classifyRegistryError, type EngineCallError } from './engine-errors.js';
import { RegistryCredentials } from './registry-auth.js';

/** X-Registry-Auth for a write whose image needs credentials: base64url of the JSON, as the CLI sends it. */
export type RegistryAuth = string;

/** dockerode's auth parameter for a pre-encoded X-Registry-Auth value. */
const authConfig = (auth: RegistryAuth | undefined) =>
  auth ? ({ key: auth } as unknown as Docker.AuthConfig) : undefined;

export class DockerSwarm implements SwarmAccess, SwarmRecords, SwarmEvents, ImageRegistry {
  readonly calls: CallCounts = { reads: 0, writes: 0 };

  constructor(
    readonly engine: EngineClient,
    /** The user's registry logins: sent with every create and update whose image's registry has one. */
    private readonly credentials: RegistryCredentials = new RegistryCredentials(),
  ) {}

  static async connect(selection: EngineSelection = {}, env: NodeJS.ProcessEnv = process.env): Promise<DockerSwarm> {
    const engine = await EngineClient.connect(selection, env);
    const swarm = new DockerSwarm(engine, new RegistryCredentials(env));
    await swarm.requireManager();
    return swarm;
  }

  /** The X-Registry-Auth for a spec's image, as `--with-registry-auth` sends it; undefined when the user has no login for its registry. */
  private async authForSpec(spec: SwarmServiceSpec): Promise<RegistryAuth | undefined> {
    const image = spec.TaskTemplate?.ContainerSpec?.Image;
    return image ? this.credentials.authFor(parseImageRef(image).registry) : undefined;
  }

  /**
   * The digest a registry holds for `image` and its platforms (GET /distribution/{image}/json,
   * which the engine answers from the registry, with the user's login for it).
   */
  async resolveImage(image: string): Promise<ImagePin> {
    const { registry } = parseImageRef(image);
    const auth = await this.credentials.authFor(registry);
    this.calls.reads++;
    let answer: { Descriptor?: { digest?: string }; Platforms?: { architecture?: string; os?: string }[] };
    try {
      answer = await this.engine.rawDistribution(image, auth);
    } catch (err) {
      throw classifyRegistryError(err as EngineCallError, image, registry, auth !== undefined);
    }
    const digest = answer.Descriptor?.digest;
    if (!digest) {
      throw new RegistryError(
        'not-found',
        image,
        registry,
        `registry ${registry} gave no digest for "${image}"`,
        'check the image',
      );
    }
    return {
      digest,
      platforms: (answer.Platforms ?? []).map((p) => ({
        ...(p.architecture ? { Architecture: p.architecture } : {}),
        ...(p.os ? { OS: p.os } : {}),
      })),
    };
  }

  /** Where the engine is, how it was found, its version: for the line every command prints. */
  describe(): string {
    return this.engine.describe();
  }

  private async requireManager(): Promise<void> {
    this.calls.reads++;
    const info = await this.engine.call(
      'GET /info',
      (d) => d.info() as Promise<{ Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } }>,
    );
    if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
      throw new TerminalError(
        'SC5003',
        `the engine at ${this.engine.host} (${this.engine.endpoint.via}) is not a Swarm manager (state: ${info.Swarm?.LocalNodeState ?? 'unknown'}); run "docker swarm init" there or point at a manager`,
      );
    }
  }

  async readLiveState(): Promise<LiveState> {
    const [services, networks, allConfigs, secrets] = await Promise.all([
      this.listServices(),
      this.listNetworks(),
      this.listConfigs(),
      this.listSecrets(),
    ]);
    return { ...splitConfigs({ services, networks, secrets }, allConfigs), apiVersion: this.engine.version.apiVersion };
  }

  async listServices(): Promise<SwarmService[]> {
    this.calls.reads++;
    return this.engine.call('GET /services', (d) =>
      d.listServices({ status: true } as Docker.ServiceListOptions),
    ) as Promise<SwarmService[]>;
  }

  async listNetworks(): Promise<SwarmNetwork[]> {
    this.calls.reads++;
    return this.engine.call('GET /networks', (d) => d.listNetworks());
  }

  async getService(nameOrId: string): Promise<SwarmService | undefined> {
    this.calls.reads++;
    try {
      return (await this.engine.call(`GET /services/${nameOrId}`, (d) =>
        d.getService(nameOrId).inspect(),
      )) as SwarmService;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async listTasks(filter: TaskFilter = {}): Promise<SwarmTask[]> {
    this.calls.reads++;
    const filters: Record<string, string[]> = {};
    if (filter.service) filters.service = Array.isArray(filter.service) ? filter.service : [filter.service];
    if (filter.desiredState) filters['desired-state'] = [filter.desiredState];
    if (filter.id) filters.id = filter.id;
    try {
      return (await this.engine.call('GET /tasks', (d) => d.listTasks({ filters }))) as SwarmTask[];
    } catch (err) {
      // Filtering by a service that no longer exists: it has no tasks.
      if (err instanceof NotFoundError) return [];
      throw err;
    }
  }

  async createService(spec: SwarmServiceSpec): Promise<string> {
    const auth = await this.authForSpec(spec);
    this.calls.writes++;
    const created = await this.engine.call('POST /services/create', (d) =>
      auth
        ? d.createService(authConfig(auth)!, spec as Docker.ServiceSpec)
        : d.createService(spec as Docker.CreateServiceOptions),
    );
    return created.id;
  }

  async updateService(id: string, versionIndex: number, spec: SwarmServiceSpec): Promise<void> {
    const auth = await this.authForSpec(spec);
    this.calls.writes++;
    // dockerode takes the credentials as `authconfig` (sent as X-Registry-Auth, never in the URL).
    const opts = { _query: { version: versionIndex }, _body: spec, ...(auth ? { authconfig: authConfig(auth) } : {}) };
    await this.engine.call(`POST /services/${id}/update`, (d) => d.getService(id).update(opts));
  }

  async rollbackService(id: string, versionIndex: number, spec: SwarmServiceSpec): Promise<void> {
    this.calls.writes++;
    await this.engine.call(`POST /services/${id}/update`, (d) =>
      d.getService(id).update({ _query: { version: versionIndex, rollback: 'previous' }, _body: spec }),
    );
  }

  async removeService(id: string): Promise<void> {
    this.calls.writes++;
    await this.removing(`DELETE /services/${id}`, (d) => d.getService(id).remove());
  }

  async createNetwork(body: SwarmNetworkCreate): Promise<string> {
    this.calls.writes++;
    const network = await this.engine.call('POST /networks/create', (d) =>
      d.createNetwork(body as Docker.NetworkCreateOptions),
    );
    return network.id;
  }

  async removeNetwork(id: string): Promise<void> {
    this.calls.writes++;
    await this.removing(`DELETE /networks/${id}`, (d) => d.getNetwork(id).remove());
  }

  async listConfigs(labels: string[] = []): Promise<SwarmConfig[]> {
    this.calls.reads++;
    return this.engine.call('GET /configs', (d) =>
      d.listConfigs(labels.length ? { filters: { label: labels } } : {}),
    ) as Promise<SwarmConfig[]>;
  }

  async listSecrets(): Promise<SwarmSecret[]> {
    this.calls.reads++;
    return this.engine.call('GET /secrets', (d) => d.listSecrets()) as Promise<SwarmSecret[]>;
  }

  async containerHealth(
    containerId: string,
  ): Promise<{ status: string; failingStreak: number; lastOutput: string } | undefined> {
    this.calls.reads++;
    let c: Docker.ContainerInspectInfo;
    try {
      c = await this.engine.call(`GET /containers/${containerId}/json`, (d) => d.getContainer(containerId).inspect());
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    const h = c.State?.Health;
    if (!h?.Status) return undefined;
    const last = h.Log?.[h.Log.length - 1];
    const output = (last?.Output ?? '').trim().replace(/\s+/g, ' ').slice(0, 200);
    return {
      status: h.Status,
      failingStreak: h.FailingStreak ?? 0,
      lastOutput: output || (last ? `exit code ${last.ExitCode}` : ''),
    };
  }

  async removeConfig(id: string): Promise<void> {
    this.calls.writes++;
    await this.removing(`DELETE /configs/${id}`, (d) => d.getConfig(id).remove());
  }

  async createSecret(
    name: string,
    labels: Record<string, string>,
    data: string | Buffer,
    templating?: string,
  ): Promise<string> {
    this.calls.writes++;
    const secret = (await this.engine.call('POST /secrets/create', (d) =>
      d.createSecret({
        Name: name,
        Labels: labels,
        Data: Buffer.from(data).toString('base64'),
        ...(templating ? { Templating: { Name: templating } } : {}),
      }),
    )) as { id: string };
    return secret.id;
  }

  async removeSecret(id: string): Promise<void> {
    this.calls.writes++;
    await this.removing(`DELETE /secrets/${id}`, (d) => d.getSecret(id).remove());
  }

  async updateSecretLabels(secret: SwarmSecret, labels: Record<string, string>): Promise<void> {
    this.calls.writes++;
    await this.engine.call(`POST /secrets/${secret.ID}/update`, (d) =>
      d.getSecret(secret.ID).update({
        _query: { version: secret.Version.Index },
        _body: { Name: secret.Spec.Name, Labels: labels },
      }),
    );
  }

  async findConfig(name: string): Promise<SwarmConfig | undefined> {
    this.calls.reads++;
    // The name filter matches prefixes; keep the exact name only.
    const list = (await this.engine.call('GET /configs', (d) =>
      d.listConfigs({ filters: { name: [name] } }),
    )) as SwarmConfig[];
    return list.find((c) => c.Spec.Name === name);
  }

  async createConfig(
    name: string,
    labels: Record<string, string>,
    data: string | Buffer,
    templating?: string,
  ): Promise<string> {
    this.calls.writes++;
    const config = (await this.engine.call('POST /configs/create', (d) =>
      d.createConfig({
        Name: name,
        Labels: labels,
        Data: Buffer.from(data).toString('base64'),
        ...(templating ? { Templating: { Name: templating } } : {}),
      }),
    )) as { id: string };
    return config.id;
  }

  async updateConfigLabels(config: SwarmConfig, labels: Record<string, string>): Promise<void> {
    this.calls.writes++;
    await this.engine.call(`POST /configs/${config.ID}/update`, (d) =>
      d
        .getConfig(config.ID)
        .update({ _query: { version: config.Version.Index }, _body: { ...config.Spec, Labels: labels } }),
    );
  }

  async streamEvents(onEvent: (e: SwarmEvent) => void, signal: AbortSignal): Promise<void> {
    const filters = { type: ['service', 'network', 'config', 'secret', 'node'] };
    const stream = await this.engine.call('GET /events', (d) =>
      d.getEvents({ filters: JSON.stringify(filters), abortSignal: signal } as Docker.GetEventsOptions),
    );
    await readJsonLines(stream, (r) => onEvent(r as SwarmEvent), signal);
  }

  /**
   * The engine's recent events about one object (its last 256 are kept in memory): a bounded
   * read from `sinceSeconds` to now, which the engine ends by itself.
   */
  async recentEvents(
    filter: { type: string; name: string },
    sinceSeconds: number,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<SwarmEvent[]> {
    this.calls.reads++;
    const filters = { type: [filter.type], [filter.type]: [filter.name] };
    const until = Math.floor(Date.now() / 1000);
    const stream = await this.engine.call('GET /events', (d) =>
      d.getEvents({
        since: Math.floor(sinceSeconds),
        until,
        filters: JSON.stringify(filters),
        abortSignal: signal,
      } as Docker.GetEventsOptions),
    );
    const events: SwarmEvent[] = [];
    await readJsonLines(stream, (r) => events.push(r as SwarmEvent), signal);
    return events;
  }

  /** A removal; an object already gone is what was wanted. */
  private async removing(what: string, fn: (d: Docker) => Promise<unknown>): Promise<void> {
    try {
      await this.engine.call(what, fn);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
}

/** Newline-delimited JSON records of a stream (the event stream), until it ends or `signal` aborts. */
export async function readJsonLines(
  stream: NodeJS.ReadableStream,
  onRecord: (r: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  let buffer = '';
  await new Promise<void>((resolve, reject) => {
    const done = () => resolve();
    const destroy = () => (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    if (signal.aborted) {
      destroy();
      return done();
    }
    signal.addEventListener(
      'abort',
      () => {
        destroy();
        done();
      },
      { once: true },
    );
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        try {
          onRecord(JSON.parse(line));
        } catch {
          // a partial or foreign line: skip
        }
      }
    });
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', (e: Error) =>
      signal.aborted ? done() : reject(new TransientError(`event stream: ${e.message}`, e)),
    );
  });
}
