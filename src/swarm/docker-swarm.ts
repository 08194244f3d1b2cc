/**
 * SwarmReader and SwarmWriter over the Docker Engine API (through engine-client.ts).
 * Counts every read and write so callers can prove what a run did.
 */
import type { CallCounts, SwarmAccess, SwarmEvents, SwarmRecords, TaskFilter } from '../api/swarm-access.js';
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
import { statusCodeOf, TerminalError } from '../errors.js';
import { EngineClient, streamJsonLines } from './engine-client.js';

export class DockerSwarm implements SwarmAccess, SwarmRecords, SwarmEvents {
  readonly calls: CallCounts = { reads: 0, writes: 0 };

  constructor(readonly engine: EngineClient) {}

  static async connect(host?: string): Promise<DockerSwarm> {
    const engine = await EngineClient.connect(host);
    const swarm = new DockerSwarm(engine);
    await swarm.requireManager();
    return swarm;
  }

  private async requireManager(): Promise<void> {
    const info = await this.engine.request<{ Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } }>(
      'GET',
      '/info',
    );
    this.calls.reads++;
    if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
      throw new TerminalError(
        'SC5003',
        `the engine at ${this.engine.host} is not a Swarm manager (state: ${info.Swarm?.LocalNodeState ?? 'unknown'}); run "docker swarm init" there or point DOCKER_HOST at a manager`,
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
    return this.engine.request<SwarmService[]>('GET', '/services', { query: { status: true } });
  }

  async listNetworks(): Promise<SwarmNetwork[]> {
    this.calls.reads++;
    return this.engine.request<SwarmNetwork[]>('GET', '/networks');
  }

  async getService(nameOrId: string): Promise<SwarmService | undefined> {
    this.calls.reads++;
    try {
      return await this.engine.request<SwarmService>('GET', `/services/${encodeURIComponent(nameOrId)}`);
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
  }

  async listTasks(filter: TaskFilter = {}): Promise<SwarmTask[]> {
    this.calls.reads++;
    const filters: Record<string, string[]> = {};
    if (filter.service) filters.service = Array.isArray(filter.service) ? filter.service : [filter.service];
    if (filter.desiredState) filters['desired-state'] = [filter.desiredState];
    try {
      return await this.engine.request<SwarmTask[]>('GET', '/tasks', { query: { filters: JSON.stringify(filters) } });
    } catch (err) {
      // Filtering by a service that no longer exists is "service ... not found": it has no tasks.
      if (statusCodeOf(err) === 404 || /service .* not found/.test((err as Error).message)) return [];
      throw err;
    }
  }

  async createService(spec: SwarmServiceSpec): Promise<string> {
    this.calls.writes++;
    const r = await this.engine.request<{ ID: string }>('POST', '/services/create', { body: spec });
    return r.ID;
  }

  async updateService(id: string, versionIndex: number, spec: SwarmServiceSpec): Promise<void> {
    this.calls.writes++;
    await this.engine.request('POST', `/services/${encodeURIComponent(id)}/update`, {
      query: { version: versionIndex },
      body: spec,
    });
  }

  async rollbackService(id: string, versionIndex: number, spec: SwarmServiceSpec): Promise<void> {
    this.calls.writes++;
    await this.engine.request('POST', `/services/${encodeURIComponent(id)}/update`, {
      query: { version: versionIndex, rollback: 'previous' },
      body: spec,
    });
  }

  async removeService(id: string): Promise<void> {
    this.calls.writes++;
    try {
      await this.engine.request('DELETE', `/services/${encodeURIComponent(id)}`);
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err; // already gone is what we wanted
    }
  }

  async createNetwork(body: SwarmNetworkCreate): Promise<string> {
    this.calls.writes++;
    const r = await this.engine.request<{ Id: string }>('POST', '/networks/create', { body });
    return r.Id;
  }

  async removeNetwork(id: string): Promise<void> {
    this.calls.writes++;
    try {
      await this.engine.request('DELETE', `/networks/${encodeURIComponent(id)}`);
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
    }
  }

  async listConfigs(labels: string[] = []): Promise<SwarmConfig[]> {
    this.calls.reads++;
    const query = labels.length ? { filters: JSON.stringify({ label: labels }) } : {};
    return this.engine.request<SwarmConfig[]>('GET', '/configs', { query });
  }

  async listSecrets(): Promise<SwarmSecret[]> {
    this.calls.reads++;
    return this.engine.request<SwarmSecret[]>('GET', '/secrets');
  }

  async containerHealth(
    containerId: string,
  ): Promise<{ status: string; failingStreak: number; lastOutput: string } | undefined> {
    this.calls.reads++;
    try {
      const c = await this.engine.request<{
        State?: {
          Health?: { Status?: string; FailingStreak?: number; Log?: { Output?: string; ExitCode?: number }[] };
        };
      }>('GET', `/containers/${encodeURIComponent(containerId)}/json`);
      const h = c.State?.Health;
      if (!h?.Status) return undefined;
      const last = h.Log?.[h.Log.length - 1];
      const output = (last?.Output ?? '').trim().replace(/\s+/g, ' ').slice(0, 200);
      return {
        status: h.Status,
        failingStreak: h.FailingStreak ?? 0,
        lastOutput: output || (last ? `exit code ${last.ExitCode}` : ''),
      };
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
  }

  async removeConfig(id: string): Promise<void> {
    this.calls.writes++;
    try {
      await this.engine.request('DELETE', `/configs/${encodeURIComponent(id)}`);
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
    }
  }

  async createSecret(
    name: string,
    labels: Record<string, string>,
    data: string | Buffer,
    templating?: string,
  ): Promise<string> {
    this.calls.writes++;
    const r = await this.engine.request<{ ID: string }>('POST', '/secrets/create', {
      body: {
        Name: name,
        Labels: labels,
        Data: Buffer.from(data).toString('base64'),
        ...(templating ? { Templating: { Name: templating } } : {}),
      },
    });
    return r.ID;
  }

  async removeSecret(id: string): Promise<void> {
    this.calls.writes++;
    try {
      await this.engine.request('DELETE', `/secrets/${encodeURIComponent(id)}`);
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
    }
  }

  async updateSecretLabels(secret: SwarmSecret, labels: Record<string, string>): Promise<void> {
    this.calls.writes++;
    await this.engine.request('POST', `/secrets/${encodeURIComponent(secret.ID)}/update`, {
      query: { version: secret.Version.Index },
      body: { Name: secret.Spec.Name, Labels: labels },
    });
  }

  async findConfig(name: string): Promise<SwarmConfig | undefined> {
    this.calls.reads++;
    // The name filter matches prefixes; keep the exact name only.
    const list = await this.engine.request<SwarmConfig[]>('GET', '/configs', {
      query: { filters: JSON.stringify({ name: [name] }) },
    });
    return list.find((c) => c.Spec.Name === name);
  }

  async createConfig(name: string, labels: Record<string, string>, data: string, templating?: string): Promise<string> {
    this.calls.writes++;
    const r = await this.engine.request<{ ID: string }>('POST', '/configs/create', {
      body: {
        Name: name,
        Labels: labels,
        Data: Buffer.from(data).toString('base64'),
        ...(templating ? { Templating: { Name: templating } } : {}),
      },
    });
    return r.ID;
  }

  async updateConfigLabels(config: SwarmConfig, labels: Record<string, string>): Promise<void> {
    this.calls.writes++;
    await this.engine.request('POST', `/configs/${encodeURIComponent(config.ID)}/update`, {
      query: { version: config.Version.Index },
      body: { ...config.Spec, Labels: labels },
    });
  }

  async streamEvents(onEvent: (e: SwarmEvent) => void, signal: AbortSignal): Promise<void> {
    const filters = { type: ['service', 'network', 'config', 'secret', 'node'] };
    await streamJsonLines(
      this.engine,
      '/events',
      { filters: JSON.stringify(filters) },
      (r) => onEvent(r as SwarmEvent),
      signal,
    );
  }
}
