/**
 * The credential files of a git source, read at every fetch (a rotated Swarm secret is used at
 * the next fetch, with no restart): the ssh deploy key and known_hosts file, copied to private
 * files (mode 0600, in a directory of mode 0700 in /dev/shm when there is one, else the temp
 * directory; removed when the process exits), because Swarm mounts secrets 0444 and ssh
 * refuses a key that others can read; or the https token file, checked and kept only to be
 * scrubbed from any output (git reads it through the credential helper, git-auth.ts).
 * A missing, empty or unusable file is a SourceError (SC1101) naming the file and the fix.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { access, chmod, readFile, writeFile, constants } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentialEnv, sshCommand, tokenHelperConfig, type GitAuth } from './git-auth.js';
import { knownHostsName } from './git-url.js';
import { SourceError } from './types.js';

/** What the git processes of one fetch need: environment, `-c` options, strings to scrub. */
export interface CredentialContext {
  env: Record<string, string>;
  config: string[];
  secrets: string[];
}

export class GitCredentials {
  private privateDir?: string;
  private readonly copies = new Map<string, Buffer>();

  constructor(
    private readonly auth: GitAuth,
    private readonly display: string,
  ) {}

  async prepare(): Promise<CredentialContext> {
    const auth = this.auth;
    if (auth.kind === 'none') return { env: {}, config: [], secrets: [] };
    if (auth.kind === 'token') {
      const token = await this.readToken(auth.tokenFile);
      return { env: credentialEnv(auth), config: tokenHelperConfig(auth), secrets: [token] };
    }
    const key = await this.readKey(auth.keyFile);
    const knownHosts = await this.readKnownHosts(auth);
    const keyCopy = await this.privateCopy('deploy-key', key);
    const knownHostsCopy = await this.privateCopy('known_hosts', knownHosts);
    return { env: credentialEnv(auth, sshCommand(keyCopy, knownHostsCopy)), config: [], secrets: [] };
  }

  private problem(reason: string): SourceError {
    return new SourceError(`${this.display}: ${reason}`, { code: 'SC1101' });
  }

  /** The file's content; a file that is missing or cannot be read is SC1101 (`why` it is needed, and the fix). */
  private async read(file: string, what: string, fix: string, why = ''): Promise<Buffer> {
    try {
      return await readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const problem = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`;
      throw this.problem(`the ${what} ${file} ${problem}${why ? `: ${why}` : ''}. Fix: ${fix}`);
    }
  }

  private async readToken(file: string): Promise<string> {
    const fix =
      'mount the token as a Swarm secret (docker secret create git-token FILE, then secrets: [git-token] in the controller service) and give --git-token-file /run/secrets/git-token';
    const text = (await this.read(file, 'token file', fix)).toString('utf8').replace(/\s+$/, '');
    if (text === '') throw this.problem(`the token file ${file} is empty. Fix: ${fix}`);
    if (/\s/.test(text) || /[\x00-\x1f\x7f]/.test(text))
      throw this.problem(
        `the token file ${file} holds more than one word or line: it must hold the token alone. Fix: write only the token into it`,
      );
    return text;
  }

  private async readKey(file: string): Promise<Buffer> {
    const fix = `put the private deploy key in the Swarm secret git-deploy-key (docker secret create git-deploy-key deploy-key) and add it to the controller service's secrets, or give --ssh-key-file`;
    const key = await this.read(file, 'ssh deploy key', fix);
    const text = key.toString('utf8');
    if (text.trim() === '') throw this.problem(`the ssh deploy key ${file} is empty. Fix: ${fix}`);
    if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text))
      throw this.problem(
        `the ssh deploy key ${file} is not a private key${/^(ssh-|ecdsa-|sk-)/.test(text.trim()) ? ' (it is a public key: give the file without .pub)' : ''}. Fix: give the private key file that ssh-keygen wrote`,
      );
    // ssh needs the key to end with a line break.
    return text.endsWith('\n') ? key : Buffer.concat([key, Buffer.from('\n')]);
  }

  private async readKnownHosts(auth: Extract<GitAuth, { kind: 'ssh' }>): Promise<Buffer> {
    const name = knownHostsName(auth.host, auth.port);
    const scan = `ssh-keyscan${auth.port !== undefined && auth.port !== 22 ? ` -p ${auth.port}` : ''} ${auth.host}`;
    const fix = `run ${scan} > known_hosts, check the fingerprint (ssh-keygen -lf known_hosts) against the one your git server publishes, then docker secret create git-known-hosts known_hosts and add it to the controller service's secrets, or give --ssh-known-hosts-file`;
    const data = await this.read(
      auth.knownHostsFile,
      'known_hosts file',
      `ssh checks the host key of ${name} against it and never skips the check; ${fix}`,
    );
    const lines = data
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    if (lines.length === 0)
      throw this.problem(`the known_hosts file ${auth.knownHostsFile} holds no host key. Fix: ${fix}`);
    return data;
  }

  /** Writes `data` to `<private dir>/<name>` (mode 0600) unless it already holds it; returns the path. */
  private async privateCopy(name: string, data: Buffer): Promise<string> {
    const dir = this.ensurePrivateDir();
    const path = join(dir, name);
    const previous = this.copies.get(name);
    if (previous && previous.equals(data) && (await exists(path))) return path;
    await writeFile(path, data, { mode: 0o600 });
    await chmod(path, 0o600);
    this.copies.set(name, data);
    return path;
  }

  private ensurePrivateDir(): string {
    if (this.privateDir) return this.privateDir;
    let dir: string;
    try {
      dir = mkdtempSync(join('/dev/shm', 'sc-git-'));
    } catch {
      dir = mkdtempSync(join(tmpdir(), 'sc-git-'));
    }
    this.privateDir = dir;
    removeAtExit(dir);
    return dir;
  }
}

const privateDirs = new Set<string>();

/** One exit hook for every private directory of the process. */
function removeAtExit(dir: string): void {
  if (privateDirs.size === 0)
    process.once('exit', () => {
      for (const d of privateDirs) rmSync(d, { recursive: true, force: true });
    });
  privateDirs.add(dir);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}
