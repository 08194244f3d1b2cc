/**
 * Which Docker engine to talk to, decided exactly as the docker CLI decides it, and how we got
 * there (for the line every command prints). The order (docker/cli `resolveContextName`):
 *   1. `--context NAME`            (refused together with `--host`, as the CLI refuses it)
 *   2. `--host URL`                the "default" context with that host
 *   3. `DOCKER_HOST`               the "default" context with that host
 *   4. `DOCKER_CONTEXT`
 *   5. `currentContext` of `$DOCKER_CONFIG/config.json` (DOCKER_CONFIG defaults to ~/.docker)
 *   6. the "default" context: unix:///var/run/docker.sock
 * A named context is read from the CLI's context store: `contexts/meta/<sha256(name)>/meta.json`
 * (its docker endpoint's Host and SkipTLSVerify) and `contexts/tls/<sha256(name)>/docker/`
 * (ca.pem, cert.pem, key.pem). The default context takes TLS from DOCKER_TLS_VERIFY, DOCKER_TLS
 * and DOCKER_CERT_PATH (default: the config directory), as the CLI does. Reads files only.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TerminalError } from '../errors.js';

export interface EngineSelection {
  /** `--host` */
  host?: string;
  /** `--context` */
  context?: string;
}

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Check the engine's certificate against `ca` (DOCKER_TLS_VERIFY, or a context without SkipTLSVerify). */
  verify: boolean;
}

export type EngineAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'ssh'; user?: string; host: string; port?: number };

export interface EngineEndpoint {
  /** The host URL as given (unix:///..., tcp://..., ssh://...). */
  url: string;
  address: EngineAddress;
  /** Present when the connection uses TLS (tcp only). */
  tls?: TlsMaterial;
  /** How the endpoint was chosen, for people: `--host`, `DOCKER_HOST`, `context "prod" (DOCKER_CONTEXT)`, ... */
  via: string;
  /** The context used, "default" when none was named. */
  context: string;
}

const defaultSocket = 'unix:///var/run/docker.sock';

/** The docker CLI's configuration directory: $DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

/** The docker CLI's config.json, the parts this controller reads. */
export interface DockerConfigFile {
  currentContext?: string;
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** `<dir>/config.json`, or {} when there is none; SC5007 when it is not JSON. */
export function readDockerConfig(dir: string): DockerConfigFile {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DockerConfigFile;
  } catch (err) {
    throw new TerminalError(
      'SC5007',
      `${path} is not valid JSON (${(err as Error).message}); fix or remove it (the docker CLI reads the same file)`,
    );
  }
}

/** Decides the endpoint. Throws SC9001 for --host with --context, SC5007 for a context that cannot be used. */
export function resolveEndpoint(sel: EngineSelection, env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
  if (sel.host && sel.context) {
    throw new TerminalError('SC9001', 'conflicting options: either specify --host or --context, not both');
  }
  const configDir = dockerConfigDir(env);
  let name: string;
  let why: string;
  if (sel.context) [name, why] = [sel.context, '--context'];
  else if (sel.host) return defaultContext(sel.host, '--host', configDir, env);
  else if (env.DOCKER_HOST) return defaultContext(env.DOCKER_HOST, 'DOCKER_HOST', configDir, env);
  else if (env.DOCKER_CONTEXT) [name, why] = [env.DOCKER_CONTEXT, 'DOCKER_CONTEXT'];
  else {
    const current = readDockerConfig(configDir).currentContext;
    if (!current) return defaultContext(defaultSocket, 'the default socket', configDir, env);
    [name, why] = [current, `currentContext in ${join(configDir, 'config.json')}`];
  }
  if (name === 'default')
    return defaultContext(env.DOCKER_HOST || defaultSocket, `context "default" (${why})`, configDir, env);
  return namedContext(name, why, configDir);
}

function defaultContext(url: string, via: string, configDir: string, env: NodeJS.ProcessEnv): EngineEndpoint {
  const address = parseHost(url, via);
  const verify = !!env.DOCKER_TLS_VERIFY;
  const useTls = verify || !!env.DOCKER_TLS;
  if (address.kind !== 'tcp' || !useTls) return { url, address, via, context: 'default' };
  const certDir = env.DOCKER_CERT_PATH || configDir;
  const file = (n: string) => (existsSync(join(certDir, n)) ? readFileSync(join(certDir, n)) : undefined);
  const tls: TlsMaterial = {
    verify,
    ...optional({ ca: file('ca.pem'), cert: file('cert.pem'), key: file('key.pem') }),
  };
  if (verify && !tls.ca) {
    throw new TerminalError(
      'SC5007',
      `DOCKER_TLS_VERIFY is set but ${join(certDir, 'ca.pem')} does not exist; set DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem`,
    );
  }
  return { url, address, via, context: 'default', tls };
}

/** The directory name the CLI's context store uses for a context. */
export function contextDirName(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

interface ContextMeta {
  Name?: string;
  Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } };
}

function namedContext(name: string, why: string, configDir: string): EngineEndpoint {
  const metaPath = join(configDir, 'contexts', 'meta', contextDirName(name), 'meta.json');
  if (!existsSync(metaPath)) {
    const known = ['default', ...listContexts(configDir)];
    throw new TerminalError(
      'SC5007',
      `docker context "${name}" (${why}) does not exist; the contexts are: ${known.join(', ')}. Create it with "docker context create ${name} --docker host=..." or pick one of those`,
    );
  }
  let meta: ContextMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as ContextMeta;
  } catch (err) {
    throw new TerminalError(
      'SC5007',
      `docker context "${name}": ${metaPath} is not valid JSON (${(err as Error).message})`,
    );
  }
  const endpoint = meta.Endpoints?.docker;
  if (!endpoint?.Host) {
    throw new TerminalError(
      'SC5007',
      `docker context "${name}" has no docker endpoint; run "docker context update ${name} --docker host=..."`,
    );
  }
  const via = `context "${name}" (${why})`;
  const address = parseHost(endpoint.Host, via);
  const tlsDir = join(configDir, 'contexts', 'tls', contextDirName(name), 'docker');
  const file = (n: string) => (existsSync(join(tlsDir, n)) ? readFileSync(join(tlsDir, n)) : undefined);
  const material = optional({ ca: file('ca.pem'), cert: file('cert.pem'), key: file('key.pem') });
  const hasTls = Object.keys(material).length > 0;
  const tls = address.kind === 'tcp' && hasTls ? { tls: { verify: !endpoint.SkipTLSVerify, ...material } } : {};
  return { url: endpoint.Host, address, via, context: name, ...tls };
}

/** The names of the contexts in the CLI's store, sorted. */
export function listContexts(configDir: string): string[] {
  const dir = join(configDir, 'contexts', 'meta');
  if (!existsSync(dir)) return [];
  const names: string[] = [];
  for (const entry of readdirSync(dir)) {
    try {
      const meta = JSON.parse(readFileSync(join(dir, entry, 'meta.json'), 'utf8')) as ContextMeta;
      if (meta.Name) names.push(meta.Name);
    } catch {
      // not a context the CLI could read either
    }
  }
  return names.sort();
}

/** unix:///path, /path, tcp://host[:port], ssh://[user@]host[:port]. */
export function parseHost(url: string, via: string): EngineAddress {
  if (url.startsWith('unix://')) return { kind: 'unix', path: url.slice('unix://'.length) };
  if (url.startsWith('/')) return { kind: 'unix', path: url };
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(url);
  if (tcp) return { kind: 'tcp', host: tcp[1].replace(/^\[|\]$/g, ''), port: Number(tcp[2] ?? 0) };
  const ssh = /^ssh:\/\/(?:([^@/:]+)@)?(\[[^\]]+\]|[^:/@]+)(?::(\d+))?\/?$/.exec(url);
  if (ssh) {
    return {
      kind: 'ssh',
      host: ssh[2].replace(/^\[|\]$/g, ''),
      ...(ssh[1] ? { user: ssh[1] } : {}),
      ...(ssh[3] ? { port: Number(ssh[3]) } : {}),
    };
  }
  throw new TerminalError(
    'SC9001',
    `cannot use Docker host "${url}" (${via}): give unix:///path/to/docker.sock, tcp://host:port or ssh://user@host`,
  );
}

function optional<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
