/**
 * A real OpenSSH server in a network namespace of the test's own, and a client home to reach it
 * with: what ssh:// engines (and, later, git over ssh) are tested against.
 *
 *   namespace <name> with a veth pair: host side <prefix>.1/30, server side <prefix>.2/30
 *   /usr/sbin/sshd -D in that namespace, its host key, config and log in a temp directory,
 *   root's authorized_keys there too, and `SetEnv` for the sessions (DOCKER_HOST: the engine
 *   `docker system dial-stdio` on the "remote" host should reach)
 *   a client home: .ssh/id_ed25519, .ssh/known_hosts holding the server's real host key
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
  /** The server's host key line for known_hosts. */
  hostKeyLine: string;
  /** Stops sshd and removes the namespace and links. */
  stop(): void;
}

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
}): Promise<SshLab> {
  const dir = mkdtempSync(join(tmpdir(), `sc-ssh-${opts.name}-`));
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
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(clientHome, '.ssh', 'id_ed25519.pub')));
  const hostKeyLine = `${address} ${readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ')}`;
  writeFileSync(join(clientHome, '.ssh', 'known_hosts'), hostKeyLine + '\n');
  chmodSync(join(clientHome, '.ssh', 'known_hosts'), 0o600);
  const setEnv = Object.entries(opts.sessionEnv ?? {}).map(([k, v]) => `${k}=${v}`);
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `ListenAddress ${address}`,
      'Port 22',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      ...(setEnv.length ? [`SetEnv ${setEnv.join(' ')}`] : []),
    ].join('\n') + '\n',
  );
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const sshd: ChildProcess = spawn(
    'nsenter',
    [`--net=/run/netns/${opts.name}`, '/usr/sbin/sshd', '-D', '-e', '-f', join(dir, 'sshd_config')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
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
    stop: () => {
      sshd.kill('SIGTERM');
      removeNamespace(opts.name, hostIf);
    },
  };
}

/**
 * argv run as root with `home` bind-mounted over /root in a private mount namespace, so ssh
 * (and anything else that reads root's home) sees that home and nothing else changes.
 */
export function asRootWithHome(home: string, argv: string[]): string[] {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    `mount --bind '${home}' /root && exec ${quoted}`,
  ];
}
