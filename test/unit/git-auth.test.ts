/**
 * The pure parts of private git sources, with no process: how git URLs are read (git's own
 * rules, ssh:// and scp-like forms, ports, IPv6), which credential a source uses and which
 * flag combinations are refused, the ssh command and the credential helper git is given, and
 * what ssh's and git's error output means. The stderr texts below are what OpenSSH 9.2 and
 * git 2.39 printed against the test's own servers (test/integration/git-auth.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  credentialEnv,
  credentialFailure,
  defaultGitUsername,
  defaultSshKeyFile,
  defaultSshKnownHostsFile,
  gitAuthFor,
  shellQuote,
  sshCommand,
  tokenHelperConfig,
  type GitAuth,
  type GitCredentialFlag,
  type GitCredentialOptions,
} from '../../src/source/git-auth.js';
import { isLoopbackHost, knownHostsName, parseGitUrl } from '../../src/source/git-url.js';
import { parseSourceSpec, SourceError } from '../../src/source/index.js';
import { parseCli } from '../../src/cli/args.js';

describe('parseGitUrl reads URLs as git does', () => {
  // [url, transport, user, host, port, path]: what git passed to ssh for each (GIT_SSH_COMMAND
  // printing its arguments), and the http and local forms.
  const cases: [string, string, string | undefined, string | undefined, number | undefined, string][] = [
    ['git@github.com:org/repo.git', 'ssh', 'git', 'github.com', undefined, 'org/repo.git'],
    ['host.xz:rep/home/project', 'ssh', undefined, 'host.xz', undefined, 'rep/home/project'],
    ['[myhost:123]:src', 'ssh', undefined, 'myhost', 123, 'src'],
    ['[git@host:2222]:ops/swarm.git', 'ssh', 'git', 'host', 2222, 'ops/swarm.git'],
    ['git@[::1]:repo', 'ssh', 'git', '::1', undefined, 'repo'],
    ['[::1]:repo', 'ssh', undefined, '::1', undefined, 'repo'],
    ['host:99999:x', 'ssh', undefined, 'host', undefined, '99999:x'],
    ['ssh://git@host:2222/x.git', 'ssh', 'git', 'host', 2222, '/x.git'],
    ['ssh://git@host/~/ops/swarm.git', 'ssh', 'git', 'host', undefined, '/~/ops/swarm.git'],
    ['git+ssh://host/x.git', 'ssh', undefined, 'host', undefined, '/x.git'],
    ['ssh+git://host/x.git', 'ssh', undefined, 'host', undefined, '/x.git'],
    ['ssh://[::1]:22/x', 'ssh', undefined, '::1', 22, '/x'],
    ['ssh://user@::1/x', 'ssh', 'user', '::1', undefined, '/x'],
    ['ssh://[user@::1]:22/x', 'ssh', 'user', '::1', 22, '/x'],
    ['ssh://user@[::1]/x', 'ssh', 'user', '::1', undefined, '/x'],
    ['ssh://host:/x', 'ssh', undefined, 'host', undefined, '/x'],
    ['https://git.example.com/ops/swarm.git', 'https', undefined, 'git.example.com', undefined, '/ops/swarm.git'],
    ['https://git.example.com:8443/ops/swarm.git', 'https', undefined, 'git.example.com', 8443, '/ops/swarm.git'],
    ['http://127.0.0.1:3000/ops/swarm.git', 'http', undefined, '127.0.0.1', 3000, '/ops/swarm.git'],
    ['https://[::1]:8443/r.git', 'https', undefined, '::1', 8443, '/r.git'],
    ['git://host/r.git', 'git', undefined, 'host', undefined, '/r.git'],
    ['file:///srv/repo.git', 'file', undefined, undefined, undefined, '/srv/repo.git'],
    ['/srv/repo.git', 'local', undefined, undefined, undefined, '/srv/repo.git'],
    ['./repo', 'local', undefined, undefined, undefined, './repo'],
    ['foo/bar:baz', 'local', undefined, undefined, undefined, 'foo/bar:baz'],
    ['[foo/bar]:baz', 'local', undefined, undefined, undefined, '[foo/bar]:baz'],
    ['[foo]bar/baz:qux', 'local', undefined, undefined, undefined, '[foo]bar/baz:qux'],
    ['ext::ssh -i key host %S repo', 'other', undefined, undefined, undefined, 'ext::ssh -i key host %S repo'],
  ];
  for (const [url, transport, user, host, port, path] of cases) {
    it(`${url} is ${transport}${host ? ` to ${user ? `${user}@` : ''}${host}${port ? `:${port}` : ''}` : ''}`, () => {
      const u = parseGitUrl(url);
      assert.equal(u.transport, transport);
      assert.equal(u.user, user);
      assert.equal(u.host, host);
      assert.equal(u.port, port);
      assert.equal(u.path, path);
    });
  }

  it('knows when an http(s) URL carries credentials, and ssh user names are not credentials', () => {
    assert.equal(parseGitUrl('https://user:pw@host/r.git').hasPassword, true);
    assert.equal(parseGitUrl('https://ghp_token@host/r.git').hasPassword, true);
    assert.equal(parseGitUrl('https://host/r.git').hasPassword, false);
    assert.equal(parseGitUrl('ssh://git@host/r.git').hasPassword, false);
    assert.equal(parseGitUrl('git@host:r.git').hasPassword, false);
  });

  it('refuses a port of digits out of range, which git would hand to ssh as part of the host', () => {
    assert.throws(() => parseGitUrl('ssh://host:99999/x'), /port "99999" is not a number from 1 to 65535/);
    assert.throws(() => parseGitUrl('[host:0]:x'), /port "0"/);
  });

  it('names hosts as known_hosts does, and knows loopback', () => {
    assert.equal(knownHostsName('github.com', undefined), 'github.com');
    assert.equal(knownHostsName('github.com', 22), 'github.com');
    assert.equal(knownHostsName('10.0.0.2', 2222), '[10.0.0.2]:2222');
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['10.0.0.1', 'example.com', '127.0.0.1.example.com']) assert.ok(!isLoopbackHost(h), h);
  });
});

function options(given: GitCredentialFlag[] = [], extra: Partial<GitCredentialOptions> = {}): GitCredentialOptions {
  return {
    sshKeyFile: defaultSshKeyFile,
    sshKnownHostsFile: defaultSshKnownHostsFile,
    username: defaultGitUsername,
    given: new Set(given),
    ...extra,
  };
}

function refusal(fn: () => unknown, code: string, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SourceError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, new RegExp(`^error ${code}: `));
    for (const p of patterns) assert.match(err.reason, p);
    return true;
  });
}

describe('gitAuthFor: the credential a source uses', () => {
  const auth = (url: string, o?: GitCredentialOptions) => gitAuthFor(parseGitUrl(url), `git source ${url}`, o);

  it('an ssh source always uses a deploy key: the defaults are the Swarm secrets', () => {
    assert.deepEqual(auth('git@github.com:org/repo.git'), {
      kind: 'ssh',
      keyFile: '/run/secrets/git-deploy-key',
      knownHostsFile: '/run/secrets/git-known-hosts',
      host: 'github.com',
    });
    assert.deepEqual(
      auth('ssh://git@10.0.0.2:2222/ops/swarm.git', options(['ssh-key-file'], { sshKeyFile: '/keys/deploy' })),
      { kind: 'ssh', keyFile: '/keys/deploy', knownHostsFile: defaultSshKnownHostsFile, host: '10.0.0.2', port: 2222 },
    );
  });

  it('an https source uses the token file only when one is given, for its scheme, host and port', () => {
    assert.deepEqual(auth('https://git.example.com/r.git', options()), { kind: 'none' });
    assert.deepEqual(auth('https://git.example.com:8443/r.git', options(['git-token-file'], { tokenFile: '/t' })), {
      kind: 'token',
      tokenFile: '/t',
      username: 'x-access-token',
      origin: 'https://git.example.com:8443',
    });
    assert.deepEqual(
      auth('https://[::1]/r.git', options(['git-token-file', 'git-username'], { tokenFile: '/t', username: 'oauth2' })),
      { kind: 'token', tokenFile: '/t', username: 'oauth2', origin: 'https://[::1]' },
    );
    assert.deepEqual(auth('/srv/repo.git'), { kind: 'none' });
    assert.deepEqual(auth('file:///srv/repo.git'), { kind: 'none' });
  });

  it('refuses a credential flag that does not fit the source, naming the flag and what fits', () => {
    refusal(
      () => auth('git@host:r.git', options(['git-token-file'], { tokenFile: '/t' })),
      'SC9001',
      /--git-token-file apply to https sources/,
      /--ssh-key-file/,
    );
    refusal(
      () => auth('https://host/r.git', options(['ssh-key-file', 'ssh-known-hosts-file'])),
      'SC9001',
      /--ssh-key-file and --ssh-known-hosts-file apply to ssh sources/,
      /--git-token-file/,
    );
    refusal(() => auth('/srv/repo.git', options(['git-token-file'], { tokenFile: '/t' })), 'SC9001', /is not one/);
    refusal(() => auth('https://host/r.git', options(['git-username'])), 'SC9001', /give --git-token-file too/);
    refusal(
      () => auth('https://user:pw@host/r.git', options(['git-token-file'], { tokenFile: '/t' })),
      'SC9001',
      /remove them from the URL/,
    );
    refusal(
      () => parseSourceSpec('dir:./manifests', '/tmp/unused', options(['git-token-file'], { tokenFile: '/t' })),
      'SC9001',
      /--git-token-file apply to git sources, and "dir:\.\/manifests" is a directory/,
    );
  });

  it('refuses to send a token over plain http except to loopback', () => {
    refusal(
      () => auth('http://git.example.com/r.git', options(['git-token-file'], { tokenFile: '/t' })),
      'SC1101',
      /refusing to send the token over plain http to git\.example\.com/,
      /https:\/\//,
    );
    assert.equal(auth('http://127.0.0.1:3000/r.git', options(['git-token-file'], { tokenFile: '/t' })).kind, 'token');
  });
});

describe('the git processes of a private source', () => {
  it('ssh runs with only the given key and known_hosts copy, strict host key checking, no prompt', () => {
    const cmd = sshCommand('/dev/shm/sc-git-x/deploy-key', "/dev/shm/it's/known_hosts");
    assert.equal(
      cmd,
      "ssh -F /dev/null -i '/dev/shm/sc-git-x/deploy-key' -o IdentitiesOnly=yes -o IdentityAgent=none " +
        `-o 'UserKnownHostsFile=/dev/shm/it'\\''s/known_hosts' -o GlobalKnownHostsFile=/dev/null ` +
        '-o StrictHostKeyChecking=yes -o CheckHostIP=no -o UpdateHostKeys=no -o BatchMode=yes -o ConnectTimeout=30',
    );
    assert.equal(shellQuote("a'b"), `'a'\\''b'`);
  });

  it('the token reaches git through a helper scoped to the origin, which reads the file when asked', () => {
    const auth: GitAuth = {
      kind: 'token',
      tokenFile: '/run/secrets/git token',
      username: 'x-access-token',
      origin: 'https://git.example.com',
    };
    const config = tokenHelperConfig(auth);
    assert.deepEqual(config.slice(0, 2), ['-c', 'credential.helper=']);
    assert.equal(config[2], '-c');
    assert.match(
      config[3],
      /^credential\.https:\/\/git\.example\.com\.helper=!f\(\) \{ test "\$1" = get \|\| exit 0; /,
    );
    assert.match(config[3], /printf 'username=%s\\n' 'x-access-token'; /);
    assert.match(config[3], /"\$\(tr -d ' \\t\\r\\n' < '\/run\/secrets\/git token'\)"/);
    assert.deepEqual(config.slice(4), ['-c', 'credential.interactive=false']);
  });

  it('with a credential, git runs without system or global configuration', () => {
    assert.deepEqual(credentialEnv({ kind: 'none' }), {});
    const token = credentialEnv({ kind: 'token', tokenFile: '/t', username: 'u', origin: 'https://h' });
    assert.equal(token.GIT_CONFIG_NOSYSTEM, '1');
    assert.equal(token.GIT_CONFIG_GLOBAL, '/dev/null');
    assert.equal(token.GIT_SSH_COMMAND, undefined);
    const ssh = credentialEnv({ kind: 'ssh', keyFile: '/k', knownHostsFile: '/h', host: 'h' }, 'ssh -F /dev/null');
    assert.equal(ssh.GIT_SSH_COMMAND, 'ssh -F /dev/null');
    assert.equal(ssh.GIT_SSH_VARIANT, 'ssh');
    assert.equal(ssh.GIT_CONFIG_GLOBAL, '/dev/null');
  });
});

describe('credentialFailure: what a failed fetch says about the credentials', () => {
  const ssh: GitAuth = {
    kind: 'ssh',
    keyFile: '/run/secrets/git-deploy-key',
    knownHostsFile: '/run/secrets/git-known-hosts',
    host: '10.219.9.2',
    port: 2222,
  };
  const fatal =
    'fatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n';

  it('an unknown host key: SC1102 naming the host, the file, and ssh-keyscan with the port', () => {
    const f = credentialFailure(
      `No ED25519 host key is known for [10.219.9.2]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n${fatal}`,
      ssh,
    );
    assert.equal(f?.code, 'SC1102');
    assert.match(f.reason, /known_hosts file \/run\/secrets\/git-known-hosts holds no key for \[10\.219\.9\.2\]:2222/);
    assert.match(f.reason, /ssh-keyscan -p 2222 10\.219\.9\.2/);
    assert.match(f.reason, /fingerprint/);
  });

  it('a changed host key: SC1102 saying it does not match, and to check before replacing it', () => {
    const f = credentialFailure(
      '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n' +
        'Host key for [10.219.9.2]:2222 has changed and you have requested strict checking.\r\nHost key verification failed.\r\n' +
        fatal,
      ssh,
    );
    assert.equal(f?.code, 'SC1102');
    assert.match(f.reason, /host key of \[10\.219\.9\.2\]:2222 does not match the one in the known_hosts file/);
    assert.match(f.reason, /only then replace/);
  });

  it('a refused key: SC1103 naming the key file and deploy keys', () => {
    const f = credentialFailure(`git@10.219.9.2: Permission denied (publickey).\r\n${fatal}`, ssh);
    assert.equal(f?.code, 'SC1103');
    assert.match(f.reason, /refused the deploy key \/run\/secrets\/git-deploy-key/);
  });

  it('https: a refused token, no token, and 403 are SC1103; anything else is not about credentials', () => {
    const token: GitAuth = {
      kind: 'token',
      tokenFile: '/run/secrets/git-token',
      username: 'x-access-token',
      origin: 'x',
    };
    const refused = credentialFailure("fatal: Authentication failed for 'http://127.0.0.1:1/ops/swarm.git/'\n", token);
    assert.equal(refused?.code, 'SC1103');
    assert.match(refused.reason, /refused the token in \/run\/secrets\/git-token \(user name "x-access-token"\)/);
    const none = credentialFailure(
      "fatal: could not read Username for 'http://127.0.0.1:1': terminal prompts disabled\n",
      { kind: 'none' },
    );
    assert.equal(none?.code, 'SC1103');
    assert.match(none.reason, /give --git-token-file/);
    assert.equal(
      credentialFailure("fatal: unable to access 'https://h/r.git/': The requested URL returned error: 403\n", token)
        ?.code,
      'SC1103',
    );
    assert.equal(credentialFailure("fatal: repository 'https://h/r.git/' not found\n", token), undefined);
    assert.equal(credentialFailure('ssh: connect to host h port 22: Connection refused\r\n' + fatal, ssh), undefined);
  });
});

describe('the credential flags of run and bootstrap', () => {
  it('default to the Swarm secrets and x-access-token, and record which were given', () => {
    const o = parseCli(['run', '--source', 'git@host:r.git'], false, {});
    assert.equal(o.gitCredentials.sshKeyFile, '/run/secrets/git-deploy-key');
    assert.equal(o.gitCredentials.sshKnownHostsFile, '/run/secrets/git-known-hosts');
    assert.equal(o.gitCredentials.tokenFile, undefined);
    assert.equal(o.gitCredentials.username, 'x-access-token');
    assert.deepEqual([...o.gitCredentials.given], []);
    const b = parseCli(
      ['bootstrap', '--repo', 'https://h/r.git', '--git-token-file', '/t', '--git-username', 'oauth2'],
      false,
      {},
    );
    assert.equal(b.gitCredentials.tokenFile, '/t');
    assert.equal(b.gitCredentials.username, 'oauth2');
    assert.deepEqual([...b.gitCredentials.given].sort(), ['git-token-file', 'git-username']);
  });

  it('refuses a user name with blanks, and the flags on commands without a source', () => {
    assert.throws(() => parseCli(['run', '--source', 'x', '--git-username', 'a b'], false, {}), /without blanks/);
    assert.throws(() => parseCli(['plan', '-f', 'x', '--ssh-key-file', '/k'], false, {}), /--ssh-key-file/);
  });
});
