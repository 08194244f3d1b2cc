/**
 * Credentials of a private git source, as plans and text: which credential a URL uses (an ssh
 * deploy key with its known_hosts file, a token read from a file for https, or none), the
 * command git runs ssh with, the credential helper that hands git the token, the environment
 * of those git processes, and what a failed fetch means (a host key not trusted, credentials
 * refused), with the fix. Pure: the files themselves are read by git-credentials.ts.
 *
 * ssh: `ssh -F /dev/null -i KEY -o IdentitiesOnly=yes -o UserKnownHostsFile=FILE
 * -o StrictHostKeyChecking=yes -o BatchMode=yes ...` in GIT_SSH_COMMAND, where KEY and FILE are
 * private copies (mode 0600) of the files the flags name: no ssh configuration, agent, ~/.ssh
 * or /etc/ssh/ssh_known_hosts takes part, and the host key is always checked.
 * https: the token never goes into a URL, the command line, the environment or a config file:
 * git asks a credential helper, scoped to the source's scheme, host and port, that reads the
 * token file each time it is asked (a rotated secret is picked up at the next fetch).
 * Whenever a credential is in use, git runs without system and global configuration, so no
 * helper of the user's can store the token and no url.insteadOf can send it elsewhere.
 */
import type { ErrorCode } from '../errors.js';
import { isLoopbackHost, knownHostsName, type GitUrl } from './git-url.js';
import { SourceError } from './types.js';

export const defaultSshKeyFile = '/run/secrets/git-deploy-key';
export const defaultSshKnownHostsFile = '/run/secrets/git-known-hosts';
/** Works for GitHub (all token kinds), GitLab personal/project/group tokens and Gitea (docs/run.md). */
export const defaultGitUsername = 'x-access-token';

/** The credential flags of `controller run` and `bootstrap`, with which of them were given. */
export interface GitCredentialOptions {
  sshKeyFile: string;
  sshKnownHostsFile: string;
  tokenFile?: string;
  username: string;
  /** The flags given on the command line (a default that does not fit the source is no mistake). */
  given: ReadonlySet<GitCredentialFlag>;
}

export type GitCredentialFlag = 'ssh-key-file' | 'ssh-known-hosts-file' | 'git-token-file' | 'git-username';

export type GitAuth =
  | { kind: 'none' }
  | {
      kind: 'ssh';
      keyFile: string;
      knownHostsFile: string;
      host: string;
      port?: number;
    }
  | {
      kind: 'token';
      tokenFile: string;
      username: string;
      /** `https://host[:port]`: the only place git hands the token to. */
      origin: string;
    };

const problem = (code: ErrorCode, reason: string) => new SourceError(reason, { code });

/**
 * The credential a source uses: ssh URLs a deploy key (always: the key and known_hosts files
 * must exist when it fetches), http(s) URLs the token file when one is given, others none.
 * A credential flag given for a source it cannot apply to is refused, so a typo in the URL
 * is not silently an anonymous fetch.
 */
export function gitAuthFor(url: GitUrl, display: string, options?: GitCredentialOptions): GitAuth {
  const given = options?.given ?? new Set<GitCredentialFlag>();
  const sshFlags = (['ssh-key-file', 'ssh-known-hosts-file'] as const).filter((f) => given.has(f));
  const tokenFlags = (['git-token-file', 'git-username'] as const).filter((f) => given.has(f));
  const flags = (names: readonly string[]) => names.map((n) => `--${n}`).join(' and ');
  if (url.transport === 'ssh') {
    if (tokenFlags.length)
      throw problem(
        'SC9001',
        `${flags(tokenFlags)} apply to https sources, and ${display} is reached over ssh; an ssh source authenticates with --ssh-key-file (and checks the host with --ssh-known-hosts-file)`,
      );
    if (!url.host) throw problem('SC9001', `${display}: the URL names no host`);
    return {
      kind: 'ssh',
      keyFile: options?.sshKeyFile ?? defaultSshKeyFile,
      knownHostsFile: options?.sshKnownHostsFile ?? defaultSshKnownHostsFile,
      host: url.host,
      ...(url.port !== undefined ? { port: url.port } : {}),
    };
  }
  if (sshFlags.length)
    throw problem(
      'SC9001',
      `${flags(sshFlags)} apply to ssh sources (ssh://git@host/org/repo.git or git@host:org/repo.git), and ${display} is not one${url.transport === 'https' || url.transport === 'http' ? '; an https source authenticates with --git-token-file' : ''}`,
    );
  if (url.transport !== 'https' && url.transport !== 'http') {
    if (tokenFlags.length)
      throw problem('SC9001', `${flags(tokenFlags)} apply to https sources, and ${display} is not one`);
    return { kind: 'none' };
  }
  if (!options?.tokenFile) {
    if (given.has('git-username'))
      throw problem('SC9001', '--git-username is the user name sent with the token: give --git-token-file too');
    return { kind: 'none' };
  }
  if (url.hasPassword || url.user)
    throw problem(
      'SC9001',
      `${display} carries a user name or credentials in the URL and --git-token-file is given: remove them from the URL (it is stored in manifests and in the mirror), and give the user name with --git-username`,
    );
  const host = url.host ?? '';
  if (url.transport === 'http' && !isLoopbackHost(host))
    throw problem(
      'SC1101',
      `${display}: refusing to send the token over plain http to ${host}, where anyone on the way can read it; use the https:// URL of the repository`,
    );
  const hostPort = host.includes(':') ? `[${host}]` : host;
  return {
    kind: 'token',
    tokenFile: options.tokenFile,
    username: options.username,
    origin: `${url.transport}://${hostPort}${url.port !== undefined ? `:${url.port}` : ''}`,
  };
}

/** Single-quotes `text` for a POSIX shell. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The GIT_SSH_COMMAND for a deploy key: only that key (no agent, no ~/.ssh, no ssh_config),
 * only that known_hosts file (no global one), strict host key checking, never a prompt.
 * `keyCopy` and `knownHostsCopy` are the private copies git-credentials.ts makes.
 */
export function sshCommand(keyCopy: string, knownHostsCopy: string): string {
  return [
    'ssh',
    '-F',
    '/dev/null',
    '-i',
    shellQuote(keyCopy),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    shellQuote(`UserKnownHostsFile=${knownHostsCopy}`),
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'CheckHostIP=no',
    '-o',
    'UpdateHostKeys=no',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=30',
  ].join(' ');
}

/**
 * The `-c` options that make git ask for the token of `auth`, and only for its origin: the
 * helper prints `username=` and `password=` with the token file's content (blanks and line
 * ends removed, as git-credentials.ts reads it), read when git asks, so the token is in no
 * argument or environment of any process.
 */
export function tokenHelperConfig(auth: Extract<GitAuth, { kind: 'token' }>): string[] {
  const helper =
    `!f() { test "$1" = get || exit 0; ` +
    `printf 'username=%s\\n' ${shellQuote(auth.username)}; ` +
    `printf 'password=%s\\n' "$(tr -d ' \\t\\r\\n' < ${shellQuote(auth.tokenFile)})"; }; f`;
  return [
    '-c',
    'credential.helper=',
    '-c',
    `credential.${auth.origin}.helper=${helper}`,
    '-c',
    'credential.interactive=false',
  ];
}

/** The environment of git processes that use a credential. */
export function credentialEnv(auth: GitAuth, ssh?: string): Record<string, string> {
  if (auth.kind === 'none') return {};
  const isolated = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_ASKPASS: '', SSH_ASKPASS: '' };
  if (auth.kind === 'ssh') return { ...isolated, ...(ssh ? { GIT_SSH_COMMAND: ssh, GIT_SSH_VARIANT: 'ssh' } : {}) };
  return isolated;
}

/** What a failed remote git command means, when it is about credentials. */
export interface CredentialFailure {
  code: ErrorCode;
  reason: string;
}

/**
 * Reads git's (and ssh's) stderr of a failed clone, fetch or ls-remote: a host key that is
 * unknown or changed, a key or token the server refused. Undefined for anything else.
 */
export function credentialFailure(stderr: string, auth: GitAuth): CredentialFailure | undefined {
  if (auth.kind === 'ssh') return sshFailure(stderr, auth);
  return httpFailure(stderr, auth);
}

function sshFailure(stderr: string, auth: Extract<GitAuth, { kind: 'ssh' }>): CredentialFailure | undefined {
  const name = knownHostsName(auth.host, auth.port);
  const scan = `ssh-keyscan${auth.port !== undefined && auth.port !== 22 ? ` -p ${auth.port}` : ''} ${auth.host}`;
  const check = `check its fingerprint (${scan} | ssh-keygen -lf -) against the one your git server publishes`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i.test(stderr))
    return {
      code: 'SC1102',
      reason: `the host key of ${name} does not match the one in the known_hosts file ${auth.knownHostsFile}: the server's key changed, or something else answers for it; nothing was fetched. Fix: ${check}, and only then replace the line for ${name} in that file (the Swarm secret) with the output of ${scan}`,
    };
  if (/Host key verification failed|host key is known for|No .* host key is known/i.test(stderr))
    return {
      code: 'SC1102',
      reason: `the known_hosts file ${auth.knownHostsFile} holds no key for ${name}, and host keys are always checked (StrictHostKeyChecking=yes); nothing was fetched. Fix: run ${scan}, ${check}, and add the line to that file (the Swarm secret)`,
    };
  if (/Permission denied \(|Too many authentication failures/i.test(stderr))
    return {
      code: 'SC1103',
      reason: `${name} refused the deploy key ${auth.keyFile} (ssh: Permission denied). Fix: add its public key (ssh-keygen -y -f KEY) to the repository's deploy keys, and check the user in the URL (git@ for GitHub, GitLab and Gitea)`,
    };
  if (/Load key .*: (invalid format|error in libcrypto|incorrect passphrase)|passphrase/i.test(stderr))
    return {
      code: 'SC1101',
      reason: `ssh cannot use the deploy key ${auth.keyFile}: it is not an unencrypted private key (a key with a passphrase cannot be used unattended). Fix: make one with ssh-keygen -t ed25519 -N '' -f deploy-key and give that file`,
    };
  return undefined;
}

function httpFailure(stderr: string, auth: GitAuth): CredentialFailure | undefined {
  const withToken = auth.kind === 'token';
  if (/Authentication failed for|HTTP Basic: Access denied/i.test(stderr))
    return withToken
      ? {
          code: 'SC1103',
          reason: `the server refused the token in ${auth.tokenFile} (user name "${auth.username}"). Fix: check that the token is valid, not expired and may read the repository; GitLab deploy tokens and OAuth tokens need --git-username (the deploy token's user name, or oauth2)`,
        }
      : {
          code: 'SC1103',
          reason:
            'the server asks for credentials and none were given. Fix: give --git-token-file with a token that may read the repository',
        };
  if (/could not read (Username|Password) for/i.test(stderr))
    return {
      code: 'SC1103',
      reason: withToken
        ? `the server asks for credentials that the token file ${auth.tokenFile} did not provide. Fix: check that the file holds the token`
        : 'the server asks for credentials and none were given. Fix: give --git-token-file with a token that may read the repository',
    };
  if (/The requested URL returned error: 403/i.test(stderr))
    return {
      code: 'SC1103',
      reason: withToken
        ? `the server refused access with the token in ${auth.tokenFile} (HTTP 403). Fix: give the token read access to the repository`
        : 'the server refused access (HTTP 403). Fix: give --git-token-file with a token that may read the repository',
    };
  return undefined;
}
