/**
 * A real OpenSSH server in a network namespace of the test's own, and a client home to reach it
 * with: what ssh:// engines and git over ssh are tested against.
 *
 *   namespace <name> with a veth pair: host side <prefix>.1/30, server side <prefix>.2/30
 *   /usr/sbin/sshd -D in that namespace (on port 22, or the `ports` given), its host key,
 *   config and log in a temp directory, root's authorized_keys there too, and `SetEnv` for the
 *   sessions (DOCKER_HOST: the engine `docker system dial-stdio` on the "remote" host should reach)
 *   a client home: .ssh/id_ed25519, .ssh/known_hosts holding the server's real host key
 *   with `gitUser`: a `git` user as git hosting has one (uid 60022, login shell git-shell, so
 *   it runs git-upload-pack and nothing else), whose home `gitHome` holds the bare repositories
 *   (`git@<address>:ops/swarm.git` is `<gitHome>/ops/swarm.git`), and a deploy key pair of its
 *   own (`deployKey`, not in any ~/.ssh). The user exists only for sshd: it runs in a private
 *   mount namespace where a copy of /etc/passwd with that line is bind-mounted over the
 *   host's (which is never changed). Its ~/.gitconfig trusts repositories owned by root
 *   (safe.directory), since the test writes them as root.
 *
 * The controller under test must use that home as root's home, as ssh reads ~/.ssh from the
 * password database, not $HOME: `asRootWithHome(home, argv)` runs a command in a private mount
 * namespace with the home bind-mounted over /root (the host's /root is never touched).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SshLab {
  /** The server's address (inside its namespace). */
  address: string;
  /** A home directory whose .ssh reaches the server as root. */
  clientHome: string;
  /** The server's host key line for known_hosts (port 22). */
  hostKeyLine: string;
  /** The known_hosts line for the server on `port`: `[address]:port key` unless 22. */
  knownHostsLine(port?: number): string;
  /** With `gitUser`: the git user's home, where the bare repositories go. */
  gitHome?: string;
  /** With `gitUser`: the private key the git user accepts (an OpenSSH key file, mode 0600). */
  deployKey?: string;
  /** Stops sshd and removes the namespace and links. */
  stop(): void;
}

/** The uid and gid of the lab's git user (in sshd's own copy of /etc/passwd only). */
export const gitUid = 60022;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function removeNamespace(name: string, hostIf: string): void {
  try {
    sh('ip', ['link', 'del', hostIf]);
  } catch {
    // not there
  }
  try {
    sh('ip', ['netns', 'del', name]);
  } catch {
    // not there
  }
}

/** Starts sshd in namespace `name` on `<prefix>.2`; `prefix` is the first three octets of a /30 of the test's own. */
export async function startSshLab(opts: {
  name: string;
  prefix: string;
  sessionEnv?: Record<string, string>;
  /** Ports sshd listens on, default [22]. */
  ports?: number[];
  /** Add the `git` user with its deploy key and home of repositories. */
  gitUser?: boolean;
}): Promise<SshLab> {
  const dir = mkdtempSync(join(tmpdir(), `sc-ssh-${opts.name}-`));
  const ports = opts.ports ?? [22];
  const hostIf = `${opts.name.slice(0, 10)}-h`;
  const nsIf = `${opts.name.slice(0, 10)}-n`;
  const address = `${opts.prefix}.2`;
  removeNamespace(opts.name, hostIf);
  sh('ip', ['netns', 'add', opts.name]);
  sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
  sh('ip', ['link', 'set', nsIf, 'netns', opts.name]);
  sh('ip', ['addr', 'add', `${opts.prefix}.1/30`, 'dev', hostIf]);
  sh('ip', ['link', 'set', hostIf, 'up']);
  const inNs = (...args: string[]) => sh('nsenter', [`--net=/run/netns/${opts.name}`, ...args]);
  inNs('ip', 'addr', 'add', `${address}/30`, 'dev', nsIf);
  inNs('ip', 'link', 'set', nsIf, 'up');
  inNs('ip', 'link', 'set', 'lo', 'up');

  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  const clientHome = join(dir, 'home');
  mkdirSync(join(clientHome, '.ssh'), { recursive: true, mode: 0o700 });
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(clientHome, '.ssh', 'id_ed25519')]);
  // One authorized_keys file per user: authorized_keys.root, authorized_keys.git.
  writeFileSync(join(dir, 'authorized_keys.root'), readFileSync(join(clientHome, '.ssh', 'id_ed25519.pub')));
  const hostKey = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const knownHostsLine = (port = 22) => `${port === 22 ? address : `[${address}]:${port}`} ${hostKey}`;
  const hostKeyLine = knownHostsLine(22);
  writeFileSync(join(clientHome, '.ssh', 'known_hosts'), ports.map((p) => knownHostsLine(p)).join('\n') + '\n');
  chmodSync(join(clientHome, '.ssh', 'known_hosts'), 0o600);
  let git: { home: string; deployKey: string; passwd: string } | undefined;
  if (opts.gitUser) git = makeGitUser(dir);
  const setEnv = Object.entries(opts.sessionEnv ?? {}).map(([k, v]) => `${k}=${v}`);
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      ...ports.map((p) => `ListenAddress ${address}:${p}`),
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}.%u`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      ...(setEnv.length ? [`SetEnv ${setEnv.join(' ')}`] : []),
    ].join('\n') + '\n',
  );
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const sshdArgv = [
    'nsenter',
    `--net=/run/netns/${opts.name}`,
    '/usr/sbin/sshd',
    '-D',
    '-e',
    '-f',
    join(dir, 'sshd_config'),
  ];
  // With the git user: the same sshd, in a mount namespace whose /etc/passwd has that user.
  // (unshare, sh and nsenter each exec the next: the pid is sshd's.)
  const [command, ...args] = git ? withBindMounts([[git.passwd, '/etc/passwd']], sshdArgv) : sshdArgv;
  const sshd: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  sshd.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  // Ready when it accepts a connection (it logs "Server listening" first).
  const deadline = Date.now() + 15_000;
  while (!/Server listening/.test(log)) {
    if (sshd.exitCode !== null || Date.now() > deadline) {
      removeNamespace(opts.name, hostIf);
      throw new Error(`sshd did not start in namespace ${opts.name}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address,
    clientHome,
    hostKeyLine,
    knownHostsLine,
    ...(git ? { gitHome: git.home, deployKey: git.deployKey } : {}),
    stop: () => {
      sshd.kill('SIGTERM');
      removeNamespace(opts.name, hostIf);
    },
  };
}

/**
 * The git user: a passwd file (the host's, plus the user), its home (mode 0755, the lab
 * directory made traversable) with a .gitconfig trusting root-owned repositories, and a deploy
 * key pair whose public half is its authorized key (`restrict`: no pty, no forwarding).
 */
function makeGitUser(dir: string): { home: string; deployKey: string; passwd: string } {
  chmodSync(dir, 0o755);
  const home = join(dir, 'git');
  mkdirSync(home, { mode: 0o755 });
  writeFileSync(join(home, '.gitconfig'), '[safe]\n\tdirectory = *\n');
  const keys = join(dir, 'deploy');
  mkdirSync(keys, { mode: 0o700 });
  const deployKey = join(keys, 'id_ed25519');
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e deploy key', '-f', deployKey]);
  writeFileSync(join(dir, 'authorized_keys.git'), `restrict ${readFileSync(`${deployKey}.pub`, 'utf8')}`);
  const passwd = join(dir, 'passwd');
  const hostPasswd = readFileSync('/etc/passwd', 'utf8').replace(/\n?$/, '\n');
  writeFileSync(passwd, `${hostPasswd}git:*:${gitUid}:${gitUid}:git server of the test:${home}:/usr/bin/git-shell\n`);
  chmodSync(passwd, 0o644);
  return { home, deployKey, passwd };
}

/**
 * argv run as root with `home` bind-mounted over /root in a private mount namespace, so ssh
 * (and anything else that reads root's home) sees that home and nothing else changes.
 */
export function asRootWithHome(home: string, argv: string[]): string[] {
  return withBindMounts([[home, '/root']], argv);
}

/**
 * argv run in a private mount namespace where each [source, target] is bind-mounted first;
 * the host's mounts never change.
 */
export function withBindMounts(binds: [string, string][], argv: string[]): string[] {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const mounts = binds.map(([source, target]) => `mount --bind ${quote(source)} ${quote(target)} && `).join('');
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${mounts}exec ${argv.map(quote).join(' ')}`];
}
