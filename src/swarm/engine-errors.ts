/**
 * The only place that reads the engine's error texts and status codes. Each engine error
 * becomes a type from src/errors.ts that the rest of the controller branches on:
 *   NotFoundError       404, or "network <id> not found" while creating or updating a service
 *   AlreadyExistsError  409 on create ("name conflicts with an existing object", "already exists")
 *   ConflictError       "update out of sequence": the version index was stale (transient)
 *   InUseError          a network with active endpoints, a config or secret still mounted (transient)
 *   SwarmUnavailableError  (transient) the managers have no Raft leader ("The swarm does not have a
 *                       leader", "raft: no elected cluster leader", "node lost leader status", a
 *                       manager "having trouble connecting to the cluster"): condition no-quorum;
 *                       no connection to the engine at all: condition engine-unreachable
 *   TransientError      a lost connection, 502/503/504, Raft unavailable or a deadline
 *   TerminalError SC5004  everything else: Swarm refused the request as it is
 */
import {
  AlreadyExistsError,
  ConflictError,
  InUseError,
  NotFoundError,
  RegistryError,
  SwarmUnavailableError,
  TerminalError,
  TransientError,
  type EngineObject,
} from '../errors.js';

/** What dockerode (docker-modem) rejects with. */
export interface EngineCallError extends Error {
  statusCode?: number;
  json?: { message?: string } | string | null;
  code?: string;
}

function messageOf(err: EngineCallError): string {
  const j = err.json;
  if (j && typeof j === 'object' && j.message) return j.message;
  if (typeof j === 'string' && j) return j.trim();
  return err.message;
}

/** The object kind a request path is about: "/services/abc/update" -> "service". */
function objectOf(what: string): EngineObject | undefined {
  const m = /\/(services|networks|configs|secrets|tasks|nodes|containers|distribution)\b/.exec(what);
  const kinds: Record<string, EngineObject> = {
    services: 'service',
    networks: 'network',
    configs: 'config',
    secrets: 'secret',
    tasks: 'task',
    nodes: 'node',
    containers: 'container',
    distribution: 'image',
  };
  return m ? kinds[m[1]] : undefined;
}

/** Why a connection could not be made, in words (no stack, no "(HTTP code ...)" noise). */
export function connectionProblem(err: unknown): string {
  const e = err as EngineCallError;
  if (e.statusCode !== undefined) return messageOf(e);
  return e.code ? `${e.message} (${e.code})` : e.message;
}

/**
 * An error of GET /distribution/{image}/json, which the engine answers from the registry:
 * 401 or "no basic auth credentials" (no or wrong login), 404 or "manifest unknown" (no such
 * repository or tag), anything else (the engine could not reach the registry).
 */
export function classifyRegistryError(
  err: EngineCallError,
  image: string,
  registry: string,
  hadCredentials: boolean,
): RegistryError {
  const message = messageOf(err);
  const status = err.statusCode;
  if (
    status === 401 ||
    status === 403 ||
    /no basic auth credentials|unauthorized|authentication required|denied/i.test(message)
  ) {
    return new RegistryError(
      'unauthorized',
      image,
      registry,
      hadCredentials
        ? `registry ${registry} refused the login of the docker configuration for image "${image}"`
        : `registry ${registry} wants a login for image "${image}", and the docker configuration has none for it`,
      `run "docker login ${registry}" as the user running the controller (or set DOCKER_CONFIG to a directory whose config.json has the login)`,
    );
  }
  if (status === 404 || /manifest unknown|name unknown|not found/i.test(message)) {
    return new RegistryError(
      'not-found',
      image,
      registry,
      `image "${image}" does not exist in registry ${registry} (${message})`,
      'check the repository name and the tag (docker manifest inspect IMAGE shows what the registry has)',
    );
  }
  return new RegistryError(
    'unreachable',
    image,
    registry,
    `registry ${registry} could not be reached from the engine to resolve "${image}" to a digest (${message}); it stays unpinned, and each node pulls the tag itself`,
    'if the image exists only on the nodes, or the registry is not reachable from here, use --resolve-image never',
  );
}

/** What the managers say when they have no Raft leader (engines 20.10 to 28; SwarmKit's and moby's words). */
const noQuorum =
  /does not have a leader|too few managers are online|no elected cluster leader|lost leader status|raft: no leader|manager is being prepared or has trouble connecting/i;

/** Socket errors that mean the engine itself is not there (stopped, its socket gone, its host cut off). */
const unreachableCodes = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ETIMEDOUT']);

export function classifyEngineError(err: EngineCallError, what: string): Error {
  if (err instanceof TerminalError || err instanceof TransientError) return err;
  const message = messageOf(err);
  const text = `${what}: ${message}`;
  const status = err.statusCode;
  if (status === undefined) {
    const said = `${text}${err.code ? ` (${err.code})` : ''}`;
    return err.code && unreachableCodes.has(err.code)
      ? new SwarmUnavailableError('engine-unreachable', said, err)
      : new TransientError(said, err);
  }
  if (noQuorum.test(message)) return new SwarmUnavailableError('no-quorum', text, err);
  if (/update out of sequence/i.test(message)) return new ConflictError(text, err, status);
  if (/is in use|has active endpoints|in use by/i.test(message)) return new InUseError(text, err, status);
  const missingNetwork = /network (\S+) not found/i.exec(message);
  if (missingNetwork && /\/services\//.test(what)) return new NotFoundError('network', missingNetwork[1], text, status);
  if (status === 404) return new NotFoundError(objectOf(what), undefined, text, status);
  if (status === 409 || /already exists|name conflicts with an existing object/i.test(message)) {
    return new AlreadyExistsError(text, status);
  }
  if (/rpc error: code = (Unavailable|DeadlineExceeded)|context deadline exceeded|in progress/i.test(message)) {
    return new TransientError(text, err);
  }
  if (status === 502 || status === 503 || status === 504) return new TransientError(text, err);
  const terminal = new TerminalError('SC5004', text);
  (terminal as TerminalError & { statusCode?: number }).statusCode = status;
  return terminal;
}
