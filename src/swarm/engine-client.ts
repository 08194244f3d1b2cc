/**
 * The only module that talks HTTP to the Docker Engine, through docker-modem (dockerode's
 * transport: DOCKER_HOST, unix sockets, TCP and TLS). dockerode's top-level module is not
 * imported because it loads gRPC and protobuf for BuildKit sessions, about 100 ms on every
 * command; we need only the transport. Connects to the Docker Engine named by --host or
 * DOCKER_HOST, negotiates an API version both sides speak (engine 20.10 speaks 1.41; current
 * engines refuse anything below 1.44), and offers the few raw calls the controller needs.
 * Errors are classified here as transient (retry) or terminal (report).
 */
import Modem from 'docker-modem';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TerminalError, TransientError } from '../errors.js';

/** The oldest API with everything we use (ServiceStatus on list needs 1.41). */
export const minApiVersion = '1.41';
/** The newest API this controller was tested with; newer engines still speak it. */
export const maxApiVersion = '1.47';

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

/** Picks the API version to speak, or explains why there is none. */
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

type DockerOptions = NonNullable<ConstructorParameters<typeof Modem>[0]>;

/** Options for dockerode from a host string like unix:///run/docker.sock or tcp://10.0.0.1:2376. */
export function dockerOptionsFor(host: string | undefined, env: NodeJS.ProcessEnv = process.env): DockerOptions {
  const target = host ?? env.DOCKER_HOST;
  if (!target) return { socketPath: '/var/run/docker.sock' };
  if (target.startsWith('unix://')) return { socketPath: target.slice('unix://'.length) };
  if (target.startsWith('/')) return { socketPath: target };
  const tcp = /^tcp:\/\/([^:/]+)(?::(\d+))?\/?$/.exec(target);
  if (tcp) {
    const tls = !!env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0';
    const certs = env.DOCKER_CERT_PATH;
    return {
      host: tcp[1],
      port: Number(tcp[2] ?? (tls ? 2376 : 2375)),
      protocol: tls ? 'https' : 'http',
      ...(tls && certs
        ? {
            ca: readFileSync(join(certs, 'ca.pem')),
            cert: readFileSync(join(certs, 'cert.pem')),
            key: readFileSync(join(certs, 'key.pem')),
          }
        : {}),
    };
  }
  throw new TerminalError(
    'SC9001',
    `cannot use Docker host "${target}": give unix:///path/to/docker.sock or tcp://host:port`,
  );
}

interface ModemError extends Error {
  statusCode?: number;
  json?: { message?: string } | string | null;
  code?: string;
}

export interface RequestOptions {
  query?: Record<string, unknown>;
  body?: unknown;
}

/** A thin, typed layer over dockerode's modem: one method per HTTP call. */
export class EngineClient {
  private constructor(
    private readonly modem: Modem,
    readonly version: EngineVersion,
    readonly host: string,
  ) {}

  static async connect(host?: string): Promise<EngineClient> {
    const options = dockerOptionsFor(host);
    const where = host ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    const probe = new EngineClient(
      new Modem(options),
      { engineVersion: '', engineApiVersion: '', engineMinApiVersion: '', apiVersion: '' },
      where,
    );
    let v: { Version?: string; ApiVersion?: string; MinAPIVersion?: string };
    try {
      v = await probe.request('GET', '/version');
    } catch (err) {
      throw new TerminalError(
        'SC5001',
        `cannot reach the Docker engine at ${where}: ${(err as Error).message}. Set DOCKER_HOST or --host, or start the engine (scripts/local-swarm.sh up starts a local one)`,
      );
    }
    const apiVersion = negotiateApiVersion(v.ApiVersion ?? '1.24', v.MinAPIVersion ?? '1.12');
    return new EngineClient(
      new Modem({ ...options, version: `v${apiVersion}` }),
      {
        engineVersion: v.Version ?? 'unknown',
        engineApiVersion: v.ApiVersion ?? 'unknown',
        engineMinApiVersion: v.MinAPIVersion ?? 'unknown',
        apiVersion,
      },
      where,
    );
  }

  async openStream(
    path: string,
    query: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<NodeJS.ReadableStream & { destroy(): void }> {
    return new Promise((resolve, reject) => {
      this.modem.dial(
        {
          path: `${path}?`,
          method: 'GET',
          isStream: true,
          abortSignal: signal,
          options: { _query: query },
          statusCodes: { 200: true },
        },
        (err: unknown, stream: unknown) =>
          err
            ? reject(classifyEngineError(err as ModemError, 'GET', path))
            : resolve(stream as NodeJS.ReadableStream & { destroy(): void }),
      );
    });
  }

  async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, opts: RequestOptions = {}): Promise<T> {
    const options: Record<string, unknown> = {};
    if (opts.query) options._query = opts.query;
    if (opts.body !== undefined) options._body = opts.body;
    return new Promise<T>((resolve, reject) => {
      this.modem.dial(
        {
          path: `${path}?`,
          method,
          options: Object.keys(options).length ? options : undefined,
          statusCodes: { 200: true, 201: true, 204: true, 304: true },
        },
        (err: unknown, data: unknown) =>
          err ? reject(classifyEngineError(err as ModemError, method, path)) : resolve(data as T),
      );
    });
  }
}

/** A streaming GET (e.g. /events): calls `onLine` per newline-delimited JSON record. */
export async function streamJsonLines(
  client: EngineClient,
  path: string,
  query: Record<string, unknown>,
  onRecord: (r: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  const stream = await client.openStream(path, query, signal);
  let buffer = '';
  await new Promise<void>((resolve, reject) => {
    const done = () => resolve();
    signal.addEventListener(
      'abort',
      () => {
        stream.destroy();
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
        if (line) {
          try {
            onRecord(JSON.parse(line));
          } catch {
            /* a partial or foreign line: skip */
          }
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

function messageOf(err: ModemError): string {
  const j = err.json;
  if (j && typeof j === 'object' && j.message) return j.message;
  if (typeof j === 'string' && j) return j.trim();
  return err.message;
}

/** Lost connections, version conflicts and "still in use" are worth retrying; the rest is not. */
export function classifyEngineError(err: ModemError, method: string, path: string): Error {
  const message = messageOf(err);
  const what = `${method} ${path}: ${message}`;
  const status = err.statusCode;
  if (status === undefined) return new TransientError(`${what} (${err.code ?? 'connection failed'})`, err);
  if (
    /update out of sequence|rpc error: code = (Unavailable|DeadlineExceeded)|context deadline exceeded|is in use|has active endpoints|in progress/i.test(
      message,
    )
  ) {
    return new TransientError(what, err);
  }
  if (status === 503 || status === 502 || status === 504) return new TransientError(what, err);
  const terminal = new TerminalError('SC5004', what);
  (terminal as TerminalError & { statusCode?: number }).statusCode = status;
  return terminal;
}
