/**
 * Private git sources against real git servers the test starts, no engine:
 *   - OpenSSH in a network namespace of the test's own (test/e2e/ssh-lab.ts) on ports 22 and
 *     2222, with a `git` user whose login shell is git-shell and whose home holds the bare
 *     repository, and a deploy key of its own;
 *   - git's http-backend behind a Node server on 127.0.0.1 (test/helpers/git-http-server.ts)
 *     that asks for basic auth with the token as password (401 otherwise).
 * The same repository is served by both. The deploy key, known_hosts and token are files of
 * mode 0444 owned by root, as Swarm mounts secrets: ssh itself refuses such a key. The keys and
 * the host key are made fresh for the run, so a fetch that works used the files the flags name
 * (nothing in ~/.ssh or an agent knows them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultGitUsername, type GitCredentialFlag, type GitCredentialOptions } from '../../src/source/git-auth.js';
import { parseSourceSpec, SourceError, type DesiredSource } from '../../src/source/index.js';
import { filesContaining, secretFile, testRepository, type TestRepository } from '../helpers/git-fixtures.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { repoRoot } from '../helpers/repo.js';
import { startSshLab, type SshLab } from '../e2e/ssh-lab.js';

const work = mkdtempSync(join(tmpdir(), 'sc-it-git-'));
const secrets = join(work, 'secrets');
const cli = join(repoRoot, 'dist/src/cli/main.js');
const token = 'it-token-7f3a9c1e5b';
const rotated = 'it-token-rotated-2d8e4b';
const wrong = 'it-token-wrong-9b1c';
let caches = 0;
const newCache = () => join(work, `cache-${++caches}`);

let repo: TestRepository;
const commit = (replicas: number) =>
  repo.commit(
    {
      'deploy/app.yaml': `apiVersion: swarm.controller/v1alpha1\nkind: Service\nmetadata: {name: app, namespace: it-git}\nspec: {image: nginx:1.27, replicas: ${replicas}}\n`,
    },
    `replicas ${replicas}`,
  );
const secret = (name: string, data: string | Buffer) => secretFile(secrets, name, data);

function credentials(given: Partial<Record<GitCredentialFlag, string>>): GitCredentialOptions {
  return {
    sshKeyFile: given['ssh-key-file'] ?? join(secrets, 'git-deploy-key'),
    sshKnownHostsFile: given['ssh-known-hosts-file'] ?? join(secrets, 'git-known-hosts'),
    ...(given['git-token-file'] ? { tokenFile: given['git-token-file'] } : {}),
    username: given['git-username'] ?? defaultGitUsername,
    given: new Set(Object.keys(given) as GitCredentialFlag[]),
  };
}

async function refused(source: DesiredSource, code: string, ...patterns: RegExp[]): Promise<string> {
  let message = '';
  await assert.rejects(source.fetch(), (err: unknown) => {
    assert.ok(err instanceof SourceError, String(err));
    message = err.message;
    assert.equal(err.code, code, message);
    for (const p of patterns) assert.match(message, p);
    return true;
  });
  return message;
}

/** Runs node with `args` without blocking this process (which serves git over http). */
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let lab: SshLab;
let http: GitHttpServer;
let head = '';

before(async () => {
  lab = await startSshLab({ name: 'sc-it-git', prefix: '10.219.9', ports: [22, 2222], gitUser: true });
  mkdirSync(secrets);
  repo = testRepository(join(lab.gitHome!, 'ops', 'swarm.git'), join(work, 'clone'));
  head = commit(1);
  secret('git-deploy-key', readFileSync(lab.deployKey!));
  secret('git-known-hosts', `${lab.knownHostsLine(22)}\n${lab.knownHostsLine(2222)}\n`);
  http = await startGitHttpServer(lab.gitHome!, token);
});

after(async () => {
  lab?.stop();
  await http?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('git over ssh with a deploy key', () => {
  const ssh = () => lab.address;

  it('ssh itself refuses the key as Swarm mounts it (0444): the reason for the private copy', () => {
    const probe = spawnSync(
      'ssh',
      [
        '-F',
        '/dev/null',
        '-i',
        join(secrets, 'git-deploy-key'),
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'IdentityAgent=none',
        '-o',
        `UserKnownHostsFile=${join(secrets, 'git-known-hosts')}`,
        '-o',
        'BatchMode=yes',
        `git@${ssh()}`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.match(probe.stderr, /UNPROTECTED PRIVATE KEY FILE|bad permissions/);
    assert.equal(statSync(join(secrets, 'git-deploy-key')).mode & 0o777, 0o444);
  });

  it('fetches over scp-like and ssh:// URLs, on port 22 and 2222, with the key and known_hosts the flags name', async () => {
    for (const spec of [
      `git@${ssh()}:ops/swarm.git#main:deploy`,
      `ssh://git@${ssh()}:2222/~/ops/swarm.git#main:deploy`,
      `[git@${ssh()}:2222]:ops/swarm.git#main:deploy`,
    ]) {
      const snap = await parseSourceSpec(spec, newCache(), credentials({})).fetch();
      assert.equal(snap.revision, head, spec);
      assert.match(readFileSync(join(snap.dir, 'app.yaml'), 'utf8'), /replicas: 1/);
    }
  });

  it('follows a new commit; a key rotated in its file is used at the next fetch', async () => {
    const cache = newCache();
    const source = parseSourceSpec(`git@${ssh()}:ops/swarm.git#main:deploy`, cache, credentials({}));
    assert.equal((await source.fetch()).revision, head);
    head = commit(2);
    assert.equal((await source.fetch()).revision, head, 'the new commit');

    const other = join(work, 'other-key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    secret('git-deploy-key', readFileSync(other));
    await refused(
      source,
      'SC1103',
      new RegExp(`\\[?${ssh().replace(/\./g, '\\.')}\\]? refused the deploy key ${join(secrets, 'git-deploy-key')}`),
      /deploy keys/,
    );
    secret('git-deploy-key', readFileSync(lab.deployKey!));
    assert.equal((await source.fetch()).revision, head, 'the key put back is read at the next fetch');
  });

  it('a missing known_hosts file is refused before ssh runs (SC1101), naming the file, the host and ssh-keyscan', async () => {
    const source = parseSourceSpec(
      `ssh://git@${ssh()}:2222/~/ops/swarm.git#main`,
      newCache(),
      credentials({ 'ssh-known-hosts-file': join(work, 'no-known-hosts') }),
    );
    await refused(
      source,
      'SC1101',
      new RegExp(`the known_hosts file ${join(work, 'no-known-hosts')} does not exist`),
      new RegExp(`host key of \\[${ssh().replace(/\./g, '\\.')}\\]:2222`),
      new RegExp(`ssh-keyscan -p 2222 ${ssh().replace(/\./g, '\\.')}`),
      /ssh-keygen -lf/,
    );
  });

  it('a host key that does not match is refused (SC1102) and the last good revision stays on disk', async () => {
    const cache = newCache();
    const source = parseSourceSpec(`git@${ssh()}:ops/swarm.git#main:deploy`, cache, credentials({}));
    const good = await source.fetch();
    const otherHost = join(work, 'other-host-key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherHost]);
    const otherLine = readFileSync(`${otherHost}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    secret('git-known-hosts', `${ssh()} ${otherLine}\n`);
    try {
      commit(3);
      const message = await refused(
        source,
        'SC1102',
        new RegExp(
          `host key of ${ssh().replace(/\./g, '\\.')} does not match the one in the known_hosts file ${join(secrets, 'git-known-hosts')}`,
        ),
        /ssh-keyscan/,
      );
      assert.doesNotMatch(message, /@@@@/, "one line, not ssh's banner");
      assert.ok(existsSync(join(good.dir, 'app.yaml')), 'the last good revision is kept');

      // A known_hosts file without this host. (A line for the bare host would do for port 2222
      // too: OpenSSH accepts a matching key listed without the port.)
      secret('git-known-hosts', `git.example.com ${otherLine}\n`);
      await refused(
        parseSourceSpec(`ssh://git@${ssh()}:2222/~/ops/swarm.git#main`, newCache(), credentials({})),
        'SC1102',
        new RegExp(`holds no key for \\[${ssh().replace(/\./g, '\\.')}\\]:2222`),
        /StrictHostKeyChecking=yes/,
      );
    } finally {
      secret('git-known-hosts', `${lab.knownHostsLine(22)}\n${lab.knownHostsLine(2222)}\n`);
    }
    head = repo.head();
    assert.equal((await source.fetch()).revision, head, 'with the right host key again');
  });

  it('a missing key file, or a public key, is refused (SC1101) naming the file', async () => {
    await refused(
      parseSourceSpec(`git@${ssh()}:r.git`, newCache(), credentials({ 'ssh-key-file': join(work, 'no-key') })),
      'SC1101',
      new RegExp(`the ssh deploy key ${join(work, 'no-key')} does not exist`),
      /docker secret create git-deploy-key/,
    );
    await refused(
      parseSourceSpec(`git@${ssh()}:r.git`, newCache(), credentials({ 'ssh-key-file': `${lab.deployKey!}.pub` })),
      'SC1101',
      /is not a private key \(it is a public key/,
    );
  });

  it('the private copy of the key is 0600 in a 0700 directory, and removed when the process exits', () => {
    // A process of its own, so that its exit can be watched: it prints what it made, then exits.
    const script = `
      import { statSync, readFileSync } from 'node:fs';
      import { dirname } from 'node:path';
      import { GitCredentials } from ${JSON.stringify(join(repoRoot, 'dist/src/source/git-credentials.js'))};
      const c = new GitCredentials({ kind: 'ssh', keyFile: process.argv[1], knownHostsFile: process.argv[2], host: 'h' }, 'x');
      const { env } = await c.prepare();
      const key = /-i '([^']+)'/.exec(env.GIT_SSH_COMMAND)[1];
      const same = readFileSync(key).equals(readFileSync(process.argv[1]));
      console.log(JSON.stringify({ key, file: statSync(key).mode & 0o777, dir: statSync(dirname(key)).mode & 0o777, same }));
    `;
    const out = JSON.parse(
      execFileSync(
        process.execPath,
        ['--input-type=module', '-e', script, join(secrets, 'git-deploy-key'), join(secrets, 'git-known-hosts')],
        { encoding: 'utf8' },
      ),
    ) as { key: string; file: number; dir: number; same: boolean };
    assert.match(out.key, /^\/dev\/shm\/sc-git-[^/]+\/deploy-key$/, 'in memory (/dev/shm) on this machine');
    assert.equal(out.file, 0o600);
    assert.equal(out.dir, 0o700);
    assert.ok(out.same, 'the copy holds the key');
    assert.ok(!existsSync(out.key), `${out.key} is removed when the process exits`);
  });

  it('bootstrap --repo fetches over ssh with the flags, and stops with the code when the host key is wrong', () => {
    const base = [
      'bootstrap',
      '--repo',
      `git@${ssh()}:ops/swarm.git#main:deploy`,
      '--host',
      'unix:///run/sc-it-git-no-engine.sock',
    ];
    const flags = [
      '--ssh-key-file',
      join(secrets, 'git-deploy-key'),
      '--ssh-known-hosts-file',
      join(secrets, 'git-known-hosts'),
    ];
    const ok = spawnSync(process.execPath, [cli, ...base, ...flags, '--cache-dir', newCache()], { encoding: 'utf8' });
    assert.match(
      ok.stdout,
      new RegExp(
        `^Bootstrapping apply set "deploy" from git git@${ssh().replace(/\./g, '\\.')}:ops/swarm\\.git#main:deploy at ${head.slice(0, 12)}`,
        'm',
      ),
    );
    assert.equal(ok.status, 1, 'then it cannot reach the (absent) engine');

    const kh = join(work, 'bootstrap-kh');
    writeFileSync(
      kh,
      '# nothing for this host\nexample.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n',
    );
    const bad = spawnSync(
      process.execPath,
      [
        cli,
        ...base,
        '--ssh-key-file',
        join(secrets, 'git-deploy-key'),
        '--ssh-known-hosts-file',
        kh,
        '--cache-dir',
        newCache(),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, '');
    assert.match(
      bad.stderr,
      new RegExp(
        `^error SC1102: git git@.*: the known_hosts file ${kh} holds no key for ${ssh().replace(/\./g, '\\.')}`,
      ),
    );
  });

  it('a token flag with an ssh source is refused at start (SC9001), before anything is fetched', () => {
    const r = spawnSync(
      process.execPath,
      [
        cli,
        'run',
        '--source',
        `git@${ssh()}:ops/swarm.git`,
        '--git-token-file',
        join(secrets, 'none'),
        '--host',
        'unix:///run/sc-it-git-no-engine.sock',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error SC9001: --git-token-file apply to https sources/);
  });
});

describe('git over https with a token file', () => {
  const url = () => `${http.origin}/ops/swarm.git`;
  const tokenFile = () => join(secrets, 'git-token');

  it('an anonymous fetch is refused by the server (401) and reported as SC1103 asking for --git-token-file', async () => {
    const before = http.requests.length;
    await refused(
      parseSourceSpec(`${url()}#main:deploy`, newCache()),
      'SC1103',
      /asks for credentials and none were given/,
      /--git-token-file/,
    );
    const seen = http.requests.slice(before);
    assert.ok(seen.length > 0 && seen.every((r) => r.status === 401 && r.user === undefined), JSON.stringify(seen));
  });

  it('fetches with the token file, sending the default user name x-access-token, or --git-username', async () => {
    secret('git-token', `${token}\n`);
    let before = http.requests.length;
    const snap = await parseSourceSpec(
      `${url()}#main:deploy`,
      newCache(),
      credentials({ 'git-token-file': tokenFile() }),
    ).fetch();
    assert.equal(snap.revision, repo.head());
    assert.ok(http.requests.slice(before).some((r) => r.authorised && r.user === 'x-access-token' && r.status === 200));
    before = http.requests.length;
    await parseSourceSpec(
      `${url()}#main:deploy`,
      newCache(),
      credentials({ 'git-token-file': tokenFile(), 'git-username': 'oauth2' }),
    ).fetch();
    assert.ok(http.requests.slice(before).some((r) => r.authorised && r.user === 'oauth2'));
  });

  it('a wrong token is refused (SC1103) naming the file, never the token', async () => {
    const bad = secret('wrong-token', wrong);
    const message = await refused(
      parseSourceSpec(`${url()}#main`, newCache(), credentials({ 'git-token-file': bad })),
      'SC1103',
      new RegExp(`refused the token in ${bad} \\(user name "x-access-token"\\)`),
    );
    assert.ok(!message.includes(wrong));
  });

  it('a rotated token is read from the file at the next fetch, with no new source', async () => {
    secret('git-token', token);
    const source = parseSourceSpec(`${url()}#main:deploy`, newCache(), credentials({ 'git-token-file': tokenFile() }));
    await source.fetch();
    http.setToken(rotated);
    try {
      head = commit(4);
      await refused(source, 'SC1103', /refused the token/);
      secret('git-token', `${rotated}\n`);
      assert.equal((await source.fetch()).revision, head);
    } finally {
      http.setToken(token);
      secret('git-token', token);
    }
  });

  it('an empty token file, or one with more than the token, is refused before git runs (SC1101)', async () => {
    await refused(
      parseSourceSpec(url(), newCache(), credentials({ 'git-token-file': secret('empty', '\n') })),
      'SC1101',
      /token file .*empty is empty/,
    );
    const two = secret('two-lines', `${token}\nsecond line\n`);
    const message = await refused(
      parseSourceSpec(url(), newCache(), credentials({ 'git-token-file': two })),
      'SC1101',
      /holds more than one word or line/,
    );
    assert.ok(!message.includes(token));
  });

  it('the token is in no argument or environment of git, in no file of the cache, in no message', async () => {
    // A git on PATH that records its arguments and environment, then runs the real one.
    const bin = join(work, 'bin');
    const record = join(work, 'git-invocations');
    mkdirSync(bin, { recursive: true });
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh\n{ printf 'argv:'; printf ' %s' "$@"; printf '\\n'; env; } >> "${record}"\nexec "${realGit}" "$@"\n`,
    );
    chmodSync(join(bin, 'git'), 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath ?? ''}`;
    const cache = newCache();
    const messages: string[] = [];
    try {
      const source = parseSourceSpec(`${url()}#main:deploy`, cache, credentials({ 'git-token-file': tokenFile() }));
      messages.push(source.describe());
      await source.fetch();
      head = commit(5);
      await source.fetch();
      http.setToken(rotated);
      messages.push(await refused(source, 'SC1103'));
    } finally {
      process.env.PATH = savedPath;
      http.setToken(token);
    }
    const invocations = readFileSync(record, 'utf8');
    assert.match(invocations, /argv: .*fetch/, 'the recording git ran');
    assert.match(invocations, /credential\.http:\/\/127\.0\.0\.1:\d+\.helper=/, 'with the helper');
    assert.ok(!invocations.includes(token), 'the token is in no argument or environment');
    assert.deepEqual(filesContaining(cache, token), [], 'nor in any file of the cache (mirror config included)');
    assert.doesNotMatch(
      readFileSync(join(cache, 'git', readdirSync(join(cache, 'git'))[0], 'mirror.git', 'config'), 'utf8'),
      /credential|extraheader|@127/i,
    );
    for (const m of messages) assert.ok(!m.includes(token), m);
    assert.ok(
      http.requests.some((r) => r.authorised),
      'the server did get the token',
    );
  });

  it('bootstrap --repo with a wrong token stops with SC1103, and prints the token nowhere', async () => {
    const bad = secret('wrong-token', wrong);
    // Not spawnSync: the git server runs in this process.
    const r = await run([
      cli,
      'bootstrap',
      '--repo',
      `${url()}#main:deploy`,
      '--git-token-file',
      bad,
      '--cache-dir',
      newCache(),
      '--host',
      'unix:///run/sc-it-git-no-engine.sock',
    ]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^error SC1103: git http:\/\/127\.0\.0\.1:\d+\/ops\/swarm\.git#main:deploy: cannot clone the repository: the server refused the token/,
    );
    assert.ok(!(r.stdout + r.stderr).includes(wrong));
  });
});
