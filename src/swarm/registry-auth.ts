/**
 * Registry credentials from the user's docker configuration, found as the docker CLI finds
 * them (`--with-registry-auth`): `credHelpers[registry]`, else `credsStore` (both run
 * `docker-credential-<name> get`), else `auths[registry]` of $DOCKER_CONFIG/config.json.
 * Docker Hub's key is https://index.docker.io/v1/. The result is the X-Registry-Auth value the
 * engine wants (base64url JSON). Credentials are kept in memory for one process, and never
 * logged, printed or put into an error message.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { dockerHub, dockerHubAuthKey } from '../api/image-ref.js';
import { TerminalError } from '../errors.js';
import { dockerConfigDir, readDockerConfig, type DockerConfigFile } from './endpoint.js';

type AuthEntry = NonNullable<DockerConfigFile['auths']>[string];

export interface RegistryCredential {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress: string;
}

/** "https://registry.example.com/v2/" and "registry.example.com" are the same key (docker's ConvertToHostname). */
function hostnameOf(key: string): string {
  return key.replace(/^https?:\/\//, '').split('/')[0];
}

/**
 * The X-Registry-Auth header value for a credential: base64 with the URL alphabet AND padding
 * (Go's base64.URLEncoding, which the engine decodes with; without the padding the engine
 * silently reads no credentials).
 */
export function encodeRegistryAuth(c: RegistryCredential): string {
  return Buffer.from(JSON.stringify(c)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export type HelperRunner = (
  helper: string,
  serverUrl: string,
) => Promise<{ code: number; stdout: string; stderr: string }>;

/** Runs `docker-credential-<helper> get` with the server URL on stdin. */
export const runCredentialHelper: HelperRunner = (helper, serverUrl) =>
  new Promise((resolve) => {
    const child = spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => resolve({ code: -1, stdout: '', stderr: err.message }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(serverUrl);
  });

export class RegistryCredentials {
  private readonly config: DockerConfigFile;
  private readonly path: string;
  private readonly cache = new Map<string, Promise<RegistryCredential | undefined>>();

  constructor(
    env: NodeJS.ProcessEnv = process.env,
    private readonly runHelper: HelperRunner = runCredentialHelper,
  ) {
    this.path = join(dockerConfigDir(env), 'config.json');
    this.config = readDockerConfig(dockerConfigDir(env));
  }

  /** Whether any credentials are configured at all (no config, no lookups). */
  get configured(): boolean {
    return !!(
      this.config.credsStore ||
      Object.keys(this.config.credHelpers ?? {}).length ||
      Object.keys(this.config.auths ?? {}).length
    );
  }

  /** The X-Registry-Auth value for `registry` ("docker.io" for Docker Hub), or undefined when none is configured. */
  async authFor(registry: string): Promise<string | undefined> {
    const c = await this.credentialFor(registry);
    return c ? encodeRegistryAuth(c) : undefined;
  }

  credentialFor(registry: string): Promise<RegistryCredential | undefined> {
    let found = this.cache.get(registry);
    if (!found) {
      found = this.lookUp(registry);
      this.cache.set(registry, found);
    }
    return found;
  }

  private async lookUp(registry: string): Promise<RegistryCredential | undefined> {
    const serverUrl = registry === dockerHub ? dockerHubAuthKey : registry;
    const helper = this.config.credHelpers?.[registry] ?? this.config.credsStore;
    if (helper) {
      const fromHelper = await this.fromHelper(helper, serverUrl, registry);
      if (fromHelper) return fromHelper;
    }
    const entry = this.fileEntry(registry);
    if (!entry) return undefined;
    if (entry.identitytoken) return { identitytoken: entry.identitytoken, serveraddress: serverUrl };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) {
        throw new TerminalError(
          'SC5007',
          `${this.path}: the "auth" of registry ${registry} is not base64 of "user:password"; run "docker login ${registry}" again`,
        );
      }
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: serverUrl };
    }
    if (entry.username && entry.password)
      return { username: entry.username, password: entry.password, serveraddress: serverUrl };
    return undefined;
  }

  private fileEntry(registry: string): AuthEntry | undefined {
    const auths = this.config.auths ?? {};
    if (registry === dockerHub) return auths[dockerHubAuthKey] ?? auths['docker.io'] ?? auths['index.docker.io'];
    if (auths[registry]) return auths[registry];
    const key = Object.keys(auths).find((k) => hostnameOf(k) === registry);
    return key ? auths[key] : undefined;
  }

  private async fromHelper(
    helper: string,
    serverUrl: string,
    registry: string,
  ): Promise<RegistryCredential | undefined> {
    const r = await this.runHelper(helper, serverUrl);
    if (r.code !== 0) {
      // "credentials not found" is the helper's way of saying it has none for this registry.
      if (/credentials not found/i.test(r.stdout + r.stderr)) return undefined;
      throw new TerminalError(
        'SC5007',
        `the credential helper docker-credential-${helper} (${this.path}) failed for registry ${registry}: ${(r.stderr || r.stdout).trim().split('\n')[0] ?? `exit code ${r.code}`}. Check it works: echo ${serverUrl} | docker-credential-${helper} get`,
      );
    }
    let answer: { Username?: string; Secret?: string };
    try {
      answer = JSON.parse(r.stdout) as { Username?: string; Secret?: string };
    } catch {
      throw new TerminalError(
        'SC5007',
        `the credential helper docker-credential-${helper} answered something other than JSON for registry ${registry}`,
      );
    }
    if (!answer.Secret) return undefined;
    if (answer.Username === '<token>') return { identitytoken: answer.Secret, serveraddress: serverUrl };
    return { username: answer.Username ?? '', password: answer.Secret, serveraddress: serverUrl };
  }
}
