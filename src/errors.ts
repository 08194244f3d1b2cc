/**
 * The error catalogue: every problem the controller reports has a stable code listed here,
 * and docs/errors.md documents each one (test/unit/errors.test.ts keeps them in step).
 * Diagnostics are collected and reported together, never thrown one at a time.
 * Imports nothing from the rest of the project.
 */

export const errorCatalogue = {
  SC1001: 'YAML syntax error',
  SC1002: 'duplicate key in a YAML mapping',
  SC1003: 'too many YAML aliases (alias bomb)',
  SC1004: 'document is not a mapping',
  SC1005: 'file cannot be read',
  SC1006: 'no manifests found',
  SC1007: 'document too large or too deeply nested',
  SC1008: 'file is not valid UTF-8',
  SC1009: 'path escapes the source directory',
  SC1010: 'too many problems in one file',
  SC1101: 'git credential file cannot be used',
  SC1102: 'ssh host key not trusted',
  SC1103: 'git server refused the credentials',
  SC1104: 'source cannot be fetched',
  SC1201: 'manifest variable not set',
  SC1202: 'variable reference not valid',
  SC1203: 'variable where it cannot be substituted',
  SC1204: 'variable values cannot be read',
  SC2001: 'unknown apiVersion',
  SC2002: 'unknown kind',
  SC2003: 'unknown field',
  SC2004: 'missing required field',
  SC2005: 'wrong type',
  SC2006: 'value not allowed',
  SC2007: 'value out of range',
  SC2008: 'malformed value',
  SC2009: 'path with a `..` segment',
  SC3001: 'duplicate object',
  SC3002: 'network not declared',
  SC3003: 'external network not found in the Swarm',
  SC3004: 'dnsrr service publishes a port in ingress mode',
  SC3005: 'global service with replicas',
  SC3006: 'name Swarm would refuse',
  SC3007: 'external network with other fields',
  SC3008: 'published port used twice',
  SC3009: 'rollback policy cannot roll back',
  SC3010: 'field not allowed for this mount type',
  SC3011: 'secret not found in the Swarm',
  SC3012: 'route names no service, or a service not declared',
  SC3013: 'route port the service does not listen on',
  SC3014: 'host and path claimed by two routes',
  SC3015: 'route option needs another one',
  SC3016: 'config or secret needs exactly one source',
  SC3017: 'config or secret file cannot be used',
  SC3018: 'config or secret environment variable not set',
  SC3019: 'config not found in the Swarm',
  SC3020: 'field not allowed for this service mode',
  SC3021: 'rollout strategy cannot be used as written',
  SC4001: 'object owned by another apply set',
  SC4002: 'object exists but is not managed by the controller',
  SC4003: 'replace needs --allow-replace',
  SC4004: 'prune would delete everything',
  SC4005: 'too many deletions',
  SC4006: 'network in use by an object outside the plan',
  SC4007: 'config or secret in use by a service outside the plan',
  SC4008: 'network subnet overlaps another network',
  SC4009: 'field needs a newer Docker Engine',
  SC4010: 'config or secret with an explicit name cannot change its content',
  SC5001: 'cannot reach the Docker engine',
  SC5002: 'Docker API version not supported',
  SC5003: 'not a Swarm manager',
  SC5004: 'Swarm refused a change',
  SC5005: 'service did not converge',
  SC5006: 'a network the change needs is gone',
  SC5007: 'docker context or configuration cannot be used',
  SC5008: 'registry refused or image not found',
  SC5009: 'no rollout of that service',
  SC5101: 'no status in the Swarm',
  SC5102: 'status in the Swarm cannot be read',
  SC5103: 'object not found',
  SC6001: 'compose variable substitution failed',
  SC6002: 'compose variable not set',
  SC6003: 'compose value not valid',
  SC6004: 'compose field not expressible in manifests',
  SC6005: 'compose name changed to fit manifest names',
  SC6006: 'two compose names give one manifest name',
  SC6007: 'output directory not usable',
  SC6008: 'docker stack deploy would refuse the compose file',
  SC7001: 'no age key for a SOPS-encrypted file',
  SC7002: 'no age key given opens the SOPS-encrypted file',
  SC7003: 'SOPS MAC missing or not matching',
  SC7004: 'SOPS file malformed or not supported',
  SC7005: 'SOPS file not encrypted for age',
  SC7006: 'SOPS-encrypted value cannot be decrypted',
  SC7007: 'age key cannot be read',
  SC7008: 'Secret data not encrypted',
  SC8001: 'notification receiver not valid',
  SC8002: 'sync window not valid',
  SC8101: 'App manifest not valid with the other Apps',
  SC8102: 'App variables cannot be read',
  SC9001: 'bad command-line usage',
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export interface Diagnostic {
  code: ErrorCode;
  severity: 'error' | 'warning';
  /** What is wrong, in one sentence. */
  message: string;
  /** How to fix it. */
  fix?: string;
  position?: SourcePosition;
  /** The object, as `Kind "namespace/name"`. */
  object?: string;
  /** The field path inside the object, e.g. `spec.ports[0].target`. */
  field?: string;
}

export function diagnostic(
  code: ErrorCode,
  message: string,
  extra: Omit<Diagnostic, 'code' | 'message' | 'severity'> & { severity?: Diagnostic['severity'] } = {},
): Diagnostic {
  return { code, severity: extra.severity ?? 'error', message, ...stripUndefined(extra) };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** `file:line:col: error SC2003: Service "web" spec.imag: unknown field ... Fix: ...` */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.position ? `${d.position.file}:${d.position.line}:${d.position.column}: ` : '';
  const subject = [d.object, d.field].filter(Boolean).join(' ');
  const fix = d.fix ? `\n    fix: ${d.fix}` : '';
  return `${where}${d.severity} ${d.code}: ${subject ? subject + ': ' : ''}${d.message}${fix}`;
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => {
    const fa = a.position?.file ?? '',
      fb = b.position?.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    const la = a.position?.line ?? 0,
      lb = b.position?.line ?? 0;
    if (la !== lb) return la - lb;
    return (a.position?.column ?? 0) - (b.position?.column ?? 0);
  });
}

/** An error the caller should not retry (bad input, refused by Swarm as invalid). */
export class TerminalError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TerminalError';
  }
}

/** An error worth retrying: lost connection, version conflict, object still in use. */
export class TransientError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'TransientError';
  }
}

/**
 * Why the Swarm cannot take a write now, as the engine's answer says (src/swarm/engine-errors.ts):
 * no-quorum (the managers have no Raft leader: too few are up or they cannot reach each other),
 * engine-unreachable (no connection to the engine at all), no-answer (a request the controller
 * bounds itself, such as a lease round, had no answer in time).
 */
export type SwarmCondition = 'no-quorum' | 'engine-unreachable' | 'no-answer';

/** The Swarm cannot take writes (or reads) at the moment: transient, retried at the outage's pace. */
export class SwarmUnavailableError extends TransientError {
  constructor(
    readonly condition: SwarmCondition,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause);
    this.name = 'SwarmUnavailableError';
  }
}

/**
 * What the engine said, as types: src/swarm/ alone reads the engine's words and status codes
 * and makes these; everything else branches on the type, never on message text.
 */
export type EngineObject = 'service' | 'network' | 'config' | 'secret' | 'task' | 'node' | 'container' | 'image';

/** The object does not exist (HTTP 404, or "network ... not found" while creating a service). */
export class NotFoundError extends TerminalError {
  constructor(
    readonly object: EngineObject | undefined,
    /** The name or ID the engine named, when it named one. */
    readonly id: string | undefined,
    message: string,
    readonly statusCode?: number,
  ) {
    super('SC5004', message);
    this.name = 'NotFoundError';
  }
}

/** An object of that name exists already (HTTP 409 on create). */
export class AlreadyExistsError extends TerminalError {
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super('SC5004', message);
    this.name = 'AlreadyExistsError';
  }
}

/** The write was based on an old version of the object ("update out of sequence"): re-read and retry. */
export class ConflictError extends TransientError {
  readonly statusCode?: number;
  constructor(message: string, cause?: unknown, statusCode?: number) {
    super(message, cause);
    this.name = 'ConflictError';
    if (statusCode !== undefined) this.statusCode = statusCode;
  }
}

/** A registry said no while resolving an image's digest, or could not be reached (SC5008). */
export class RegistryError extends TerminalError {
  constructor(
    readonly reason: 'unauthorized' | 'not-found' | 'unreachable',
    readonly image: string,
    readonly registry: string,
    message: string,
    /** What to do about it. */
    readonly fix: string,
  ) {
    super('SC5008', message);
    this.name = 'RegistryError';
  }
}

/** The object is still used (a network with endpoints, a secret mounted by a service): retry later. */
export class InUseError extends TransientError {
  readonly statusCode?: number;
  constructor(message: string, cause?: unknown, statusCode?: number) {
    super(message, cause);
    this.name = 'InUseError';
    if (statusCode !== undefined) this.statusCode = statusCode;
  }
}
