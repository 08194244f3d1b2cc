/**
 * The connection to one Docker Engine, through dockerode. Finds the engine as the docker CLI
 * does (endpoint.ts: --host, --context, DOCKER_HOST, DOCKER_CONTEXT, the current context),
 * speaks unix sockets, TCP with or without TLS, and ssh (ssh-agent.ts), negotiates the API
 * version (the engine's own, up to the newest this controller was tested with), and turns the
 * engine's errors into types (engine-errors.ts). Nothing outside src/swarm/ sees dockerode.
 */
import './deferred-modules.js';
import Docker from 'dockerode';
import Modem from 'docker-modem';
import { Agent as HttpsAgent } from 'node:https';
import { TerminalError } from '../errors.js';
import { classifyEngineError, connectionProblem, type EngineCallError } from './engine-errors.js';
import { resolveEndpoint, type EngineEndpoint, type EngineSelection } from './endpoint.js';
import { SshDialAgent } from './ssh-agent.js';

/** The oldest API with everything we use (ServiceStatus on list needs 1.41: Docker 20.10). */
export const minApiVersion = '1.41';
/** The newest API this controller was tested with (Docker 28.5); a newer engine is spoken to in it. */
export const maxApiVersion = '1.51';

export interface EngineVersion {
  engineVersion: string;
  engineApiVersion: string;
  engineMinApiVersion: string;
  /** The API version this client uses. */
  apiVersion: string;
}

export function compareApiVersions(a: string, b: string): number {
  const [a1 = 0, a2 = 0] = a.split('.').map(Number);
  const [b1 = 0, b2 = 0] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

/** The engine's own version when we know it, else the newest we know; or why there is none. */
export function negotiateApiVersion(engineApi: string, engineMin: string): string {
  const chosen = compareApiVersions(engineApi, maxApiVersion) < 0 ? engineApi : maxApiVersion;
  if (compareApiVersions(chosen, minApiVersion) < 0) {
    throw new TerminalError(
      'SC5002',
      `the engine speaks Docker API ${engineApi}; swarm-controller needs ${minApiVersion} or later (Docker Engine 20.10+)`,
    );
  }
  if (compareApiVersions(chosen, engineMin) < 0) {
    throw new TerminalError(
      'SC5002',
      `the engine needs Docker API ${engineMin} or later; swarm-controller speaks up to ${maxApiVersion}`,
    );
  }
  return chosen;
}

type ModemOptions = NonNullable<ConstructorParameters<typeof Modem>[0]>;

/** docker-modem options for an endpoint (dockerode's transport). */
export function modemOptions(endpoint: EngineEndpoint): ModemOptions {
  const a = endpoint.address;
  switch (a.kind) {
    case 'unix':
      return { socketPath: a.path };
    case 'ssh':
      // The host name only fills the Host header; the agent's ssh process is the connection.
      return { protocol: 'http', host: 'docker', port: 80, agent: new SshDialAgent(a) };
    case 'tcp': {
      const tls = endpoint.tls;
      if (!tls) return { protocol: 'http', host: a.host, port: a.port || 2375 };
      const agent = new HttpsAgent({
        keepAlive: true,
        rejectUnauthorized: tls.verify,
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
      });
      return { protocol: 'https', host: a.host, port: a.port || 2376, agent };
    }
  }
}

/** What docker-modem would otherwise take from the environment when constructed. */
const modemEnv = [
  'DOCKER_HOST',
  'DOCKER_TLS_VERIFY',
  'DOCKER_CERT_PATH',
  'DOCKER_CLIENT_TIMEOUT',
  'DOCKER_PATH_PREFIX',
];

/**
 * dockerode over a docker-modem made from exactly these options. docker-modem's constructor reads
 * DOCKER_HOST, DOCKER_CERT_PATH and friends itself and merges them UNDER the options given: a
 * tcp:// DOCKER_HOST would win over a --host unix socket, and a DOCKER_CERT_PATH without cert.pem
 * throws. endpoint.ts has already decided everything the docker CLI's way, so the modem is built
 * with those variables hidden (the constructor is synchronous) and with every key explicit.
 */
function dockerFor(options: ModemOptions): Docker {
  const saved = modemEnv.map((k) => [k, process.env[k]] as const);
  for (const k of modemEnv) delete process.env[k];
  try {
    const explicit: ModemOptions = {
      socketPath: undefined,
      host: undefined,
      port: undefined,
      protocol: undefined,
      ca: undefined,
      cert: undefined,
      key: undefined,
      ...options,
    };
    return new Docker({ modem: new Modem(explicit) } as Docker.DockerOptions);
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
}

/** One request to the engine as `call` ended it: the request's name and its typed error, if any. */
export interface EngineRequest {
  what: string;
  error?: Error;
}

export class EngineClient {
  private readonly observers: ((r: EngineRequest) => void)[] = [];

  private constructor(
    readonly docker: Docker,
    readonly version: EngineVersion,
    readonly endpoint: EngineEndpoint,
  ) {}

  /** The engine's address as given: unix:///..., tcp://..., ssh://... */
  get host(): string {
    return this.endpoint.url;
  }

  /** `ssh://root@m1 (context "prod" (DOCKER_CONTEXT)), engine 28.5.2, API 1.51` */
  describe(): string {
    return `${this.endpoint.url} (${this.endpoint.via}), engine ${this.version.engineVersion}, API ${this.version.apiVersion}`;
  }

  static async connect(selection: EngineSelection = {}, env: NodeJS.ProcessEnv = process.env): Promise<EngineClient> {
    const endpoint = resolveEndpoint(selection, env);
    const options = modemOptions(endpoint);
    const probe = dockerFor(options);
    let v: Docker.DockerVersion;
    try {
      v = await probe.version();
    } catch (err) {
      const problem = connectionProblem(err);
      const fix = problem.startsWith('ssh to ')
        ? ''
        : '. Check the host, context or DOCKER_HOST, or start the engine (scripts/local-swarm.sh up starts a local one)';
      throw new TerminalError(
        'SC5001',
        `cannot reach the Docker engine at ${endpoint.url} (${endpoint.via}): ${problem}${fix}`,
      );
    }
    const apiVersion = negotiateApiVersion(v.ApiVersion ?? '1.24', v.MinAPIVersion ?? '1.12');
    // The same transport (and for ssh, the same open connection) in the negotiated version.
    const docker = dockerFor({ ...options, version: `v${apiVersion}` });
    return new EngineClient(
      docker,
      {
        engineVersion: v.Version ?? 'unknown',
        engineApiVersion: v.ApiVersion ?? 'unknown',
        engineMinApiVersion: v.MinAPIVersion ?? 'unknown',
        apiVersion,
      },
      endpoint,
    );
  }

  /**
   * Runs one call through dockerode; an engine error comes back typed (NotFoundError,
   * AlreadyExistsError, ConflictError, InUseError, TransientError, or TerminalError SC5004).
   * `what` names the call in messages ("POST /services/create").
   */
  async call<T>(what: string, fn: (docker: Docker) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await fn(this.docker);
    } catch (err) {
      const typed = classifyEngineError(err as EngineCallError, what);
      this.notify({ what, error: typed });
      throw typed;
    }
    this.notify({ what });
    return result;
  }

  /** Called after every request `call` sends (the controller counts them: metrics). */
  onRequest(observer: (r: EngineRequest) => void): void {
    this.observers.push(observer);
  }

  private notify(r: EngineRequest): void {
    for (const o of this.observers) o(r);
  }

  /**
   * GET /distribution/{image}/json with the registry login (X-Registry-Auth), unclassified: the
   * caller knows the image and registry the error is about (engine-errors.ts classifyRegistryError).
   */
  async rawDistribution<T>(image: string, auth: string | undefined): Promise<T> {
    return (await this.docker.getImage(image).distribution(auth ? { authconfig: { key: auth } } : {})) as T;
  }

  /** A raw Engine API request, for the few calls dockerode has no method for. */
  async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    opts: { query?: Record<string, unknown>; body?: unknown; auth?: string } = {},
  ): Promise<T> {
    const options: Record<string, unknown> = {};
    if (opts.query) options._query = opts.query;
    if (opts.body !== undefined) options._body = opts.body;
    return this.call(
      `${method} ${path}`,
      () =>
        new Promise<T>((resolve, reject) => {
          this.docker.modem.dial(
            {
              path: `${path}?`,
              method,
              options: Object.keys(options).length ? options : undefined,
              ...(opts.auth ? { authconfig: { key: opts.auth } } : {}),
              statusCodes: { 200: true, 201: true, 204: true, 304: true },
            },
            (err: Error | null, data: unknown) => {
              if (err) reject(err);
              else resolve(data as T);
            },
          );
        }),
    );
  }
}
