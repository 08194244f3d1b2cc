/**
 * An in-memory Swarm for fast unit tests of planning and applying logic. It keeps versions
 * like Swarm (an update with a stale version fails "update out of sequence") and counts
 * writes. It is not a stand-in for the engine: test/e2e/ proves behaviour on a real Swarm.
 */
import type { ImageRegistry, SwarmAccess, TaskFilter } from '../../src/api/swarm-access.js';
import type { ImagePin } from '../../src/api/image-ref.js';
import { parseImageRef } from '../../src/api/image-ref.js';
import { splitConfigs } from '../../src/api/route-model.js';
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
} from '../../src/api/swarm-types.js';
import {
  AlreadyExistsError,
  ConflictError,
  InUseError,
  NotFoundError,
  RegistryError,
  TerminalError,
} from '../../src/errors.js';

export class FakeSwarm implements SwarmAccess, ImageRegistry {
  services = new Map<string, SwarmService>();
  /** What a registry holds: image -> digest. Any other image's registry is unreachable (as offline). */
  registry = new Map<string, ImagePin>();
  networks = new Map<string, SwarmNetwork>();
  configs = new Map<string, SwarmConfig>();
  secrets = new Map<string, SwarmSecret>();
  tasks: SwarmTask[] = [];
  writes: string[] = [];
  /** Errors to throw from the next calls of a method, in order. */
  failNext: Partial<
    Record<'createService' | 'updateService' | 'removeService' | 'createNetwork' | 'removeNetwork', Error[]>
  > = {};
  private nextId = 1;

  async resolveImage(image: string): Promise<ImagePin> {
    const pin = this.registry.get(image);
    if (pin) return pin;
    const { registry } = parseImageRef(image);
    throw new RegistryError(
      'unreachable',
      image,
      registry,
      `registry ${registry} could not be reached (fake)`,
      'use --resolve-image never',
    );
  }

  private fail(method: keyof FakeSwarm['failNext']): void {
    const e = this.failNext[method]?.shift();
    if (e) throw e;
  }

  async readLiveState(): Promise<LiveState> {
    return splitConfigs(
      { services: await this.listServices(), networks: await this.listNetworks(), secrets: await this.listSecrets() },
      await this.listConfigs(),
    );
  }
  async listServices(): Promise<SwarmService[]> {
    return [...this.services.values()].map((s) => structuredClone(s));
  }
  async listNetworks(): Promise<SwarmNetwork[]> {
    return [...this.networks.values()].map((n) => structuredClone(n));
  }
  async getService(nameOrId: string): Promise<SwarmService | undefined> {
    const s = this.services.get(nameOrId) ?? [...this.services.values()].find((x) => x.Spec.Name === nameOrId);
    return s && structuredClone(s);
  }
  async listTasks(filter: TaskFilter = {}): Promise<SwarmTask[]> {
    const wanted =
      filter.service === undefined
        ? undefined
        : new Set(Array.isArray(filter.service) ? filter.service : [filter.service]);
    const idOf = (nameOrId: string) =>
      this.services.get(nameOrId)?.ID ??
      [...this.services.values()].find((x) => x.Spec.Name === nameOrId)?.ID ??
      nameOrId;
    const ids = wanted && new Set([...wanted].map(idOf));
    return this.tasks
      .filter(
        (t) =>
          (!ids || ids.has(t.ServiceID)) &&
          (!filter.desiredState || t.DesiredState === filter.desiredState) &&
          (!filter.id || filter.id.includes(t.ID)),
      )
      .map((t) => structuredClone(t));
  }
  async listConfigs(labels: string[] = []): Promise<SwarmConfig[]> {
    const has = (c: SwarmConfig, l: string) => {
      const [k, v] = l.split('=', 2) as [string, string | undefined];
      const value = c.Spec.Labels?.[k];
      return value !== undefined && (v === undefined || value === v);
    };
    return [...this.configs.values()].filter((c) => labels.every((l) => has(c, l))).map((c) => structuredClone(c));
  }
  async listSecrets(): Promise<SwarmSecret[]> {
    return [...this.secrets.values()].map((s) => structuredClone(s));
  }
  async createConfig(name: string, labels: Record<string, string>, data: string | Buffer): Promise<string> {
    if ([...this.configs.values()].some((c) => c.Spec.Name === name))
      throw new AlreadyExistsError(`config ${name} already exists`);
    const id = `cfg${this.nextId++}`;
    this.configs.set(id, {
      ID: id,
      Version: { Index: this.nextId++ },
      Spec: { Name: name, Labels: { ...labels }, Data: Buffer.from(data).toString('base64') },
    });
    this.writes.push(`createConfig ${name}`);
    return id;
  }
  async removeConfig(id: string): Promise<void> {
    const inUse = [...this.services.values()].some((svc) =>
      (svc.Spec.TaskTemplate?.ContainerSpec?.Configs ?? []).some((r) => r.ConfigID === id),
    );
    if (inUse) throw new InUseError(`config ${id} is in use`);
    const c = this.configs.get(id);
    this.configs.delete(id);
    this.writes.push(`removeConfig ${c?.Spec.Name ?? id}`);
  }
  async rollbackService(id: string, versionIndex: number): Promise<void> {
    const s = this.services.get(id);
    if (!s || !s.PreviousSpec) throw new TerminalError('SC5004', `service ${id} has no previous spec`);
    if (s.Version.Index !== versionIndex) throw new ConflictError('update out of sequence');
    [s.Spec, s.PreviousSpec] = [s.PreviousSpec, s.Spec];
    s.Version.Index = this.nextId++;
    this.writes.push(`rollbackService ${s.Spec.Name}`);
  }
  async removeSecret(id: string): Promise<void> {
    const inUse = [...this.services.values()].some((svc) =>
      (svc.Spec.TaskTemplate?.ContainerSpec?.Secrets ?? []).some((r) => r.SecretID === id),
    );
    if (inUse) throw new InUseError(`secret ${id} is in use`);
    const x = this.secrets.get(id);
    this.secrets.delete(id);
    this.writes.push(`removeSecret ${x?.Spec.Name ?? id}`);
  }
  async updateSecretLabels(secret: SwarmSecret, labels: Record<string, string>): Promise<void> {
    const x = this.secrets.get(secret.ID);
    if (!x) throw new NotFoundError('secret', secret.ID, `secret ${secret.ID} not found`);
    x.Spec.Labels = { ...labels };
    x.Version.Index = this.nextId++;
    this.writes.push(`updateSecretLabels ${x.Spec.Name}`);
  }
  async updateConfigLabels(config: SwarmConfig, labels: Record<string, string>): Promise<void> {
    const x = this.configs.get(config.ID);
    if (!x) throw new NotFoundError('config', config.ID, `config ${config.ID} not found`);
    x.Spec.Labels = { ...labels };
    x.Version.Index = this.nextId++;
    this.writes.push(`updateConfigLabels ${x.Spec.Name}`);
  }
  async createSecret(name: string, labels: Record<string, string>, _data: string | Buffer): Promise<string> {
    const id = `sec${this.nextId++}`;
    this.secrets.set(id, { ID: id, Version: { Index: this.nextId++ }, Spec: { Name: name, Labels: { ...labels } } });
    this.writes.push(`createSecret ${name}`);
    return id;
  }
  async createService(spec: SwarmServiceSpec): Promise<string> {
    this.fail('createService');
    if ([...this.services.values()].some((s) => s.Spec.Name === spec.Name))
      throw new AlreadyExistsError(`service ${spec.Name} already exists`);
    const id = `svc${this.nextId++}`;
    this.services.set(id, { ID: id, Version: { Index: this.nextId }, Spec: structuredClone(spec) });
    this.writes.push(`createService ${spec.Name}`);
    return id;
  }
  async updateService(id: string, versionIndex: number, spec: SwarmServiceSpec): Promise<void> {
    this.fail('updateService');
    const s = this.services.get(id);
    if (!s) throw new NotFoundError('service', id, `no such service ${id}`);
    if (s.Version.Index !== versionIndex) throw new ConflictError('update out of sequence');
    s.PreviousSpec = s.Spec;
    s.Spec = structuredClone(spec);
    s.Version = { Index: this.nextId++ + 100 };
    this.writes.push(`updateService ${spec.Name}`);
  }
  async removeService(id: string): Promise<void> {
    this.fail('removeService');
    const s = this.services.get(id);
    this.services.delete(id);
    this.writes.push(`removeService ${s?.Spec.Name ?? id}`);
  }
  async createNetwork(body: SwarmNetworkCreate): Promise<string> {
    this.fail('createNetwork');
    const id = `net${this.nextId++}`;
    this.networks.set(id, {
      Id: id,
      Name: body.Name,
      Driver: body.Driver,
      Scope: 'swarm',
      Attachable: body.Attachable,
      Internal: body.Internal,
      Options: { ...body.Options, 'com.docker.network.driver.overlay.vxlanid_list': '4097' },
      Labels: body.Labels,
      IPAM: {
        Driver: body.IPAM.Driver,
        Config: body.IPAM.Config.length ? body.IPAM.Config : [{ Subnet: '10.213.9.0/24', Gateway: '10.213.9.1' }],
      },
    });
    this.writes.push(`createNetwork ${body.Name}`);
    return id;
  }
  async removeNetwork(id: string): Promise<void> {
    this.fail('removeNetwork');
    const n = this.networks.get(id);
    if (
      n &&
      [...this.services.values()].some((s) => (s.Spec.TaskTemplate?.Networks ?? []).some((a) => a.Target === id))
    ) {
      throw new InUseError(`network ${n.Name} is in use`);
    }
    this.networks.delete(id);
    this.writes.push(`removeNetwork ${n?.Name ?? id}`);
  }
}

/** FakeSwarm plus the record lookup (lease, suspend record) and the event stream `controller run` needs. */
export class RunnableFakeSwarm extends FakeSwarm {
  async findConfig(name: string): Promise<SwarmConfig | undefined> {
    const c = [...this.configs.values()].find((x) => x.Spec.Name === name);
    return c && structuredClone(c);
  }
  async streamEvents(_on: (e: SwarmEvent) => void, signal: AbortSignal): Promise<void> {
    await new Promise((r) => signal.addEventListener('abort', r));
  }
}
