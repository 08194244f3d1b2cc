/**
 * `controller run` follows private repositories on real git servers the test starts, and
 * applies them to the real Swarm:
 *   - over ssh: OpenSSH in a network namespace of the test's own (ssh-lab.ts: a `git` user with
 *     git-shell, port 22), the source `git@10.219.8.2:ops/ssh.git#main:deploy`, the deploy key
 *     and known_hosts files given by the flags, mode 0444 as Swarm mounts secrets (the keys are
 *     made for this run: nothing in ~/.ssh knows them);
 *   - over http: git's http-backend behind a basic-auth server on 127.0.0.1
 *     (test/helpers/git-http-server.ts), the token in a file given by --git-token-file.
 * A host key that does not match, a missing known_hosts file and a wrong token each refuse the
 * fetch with their code in the sync record, and the last good revision stays applied; putting
 * the right file back (a rotated token included) is picked up at the next poll, with no
 * restart. No token appears in any output line, status, metrics, cache file or service.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesContaining, secretFile, testRepository } from '../helpers/git-fixtures.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import {
  controller,
  ensureSwarm,
  eventually,
  inspectService,
  removeControllerRecords,
  removeNamespace,
} from './harness.js';
import { startRun, type RunningController } from './run-controller.js';
import { startSshLab, type SshLab } from './ssh-lab.js';

const sshNs = 'e2e-git-ssh';
const httpNs = 'e2e-git-https';
const work = mkdtempSync(join(tmpdir(), 'sc-e2e-git-'));
const secrets = join(work, 'secrets');
const token = 'e2e-git-token-5c81d0a7';
const rotated = 'e2e-git-token-rotated-e29f4b';
const tokens = [token, rotated];

/** The repository `<home>/ops/<name>.git`, with a commit that writes the service of `ns`. */
function repository(home: string, name: string): { commit(ns: string, replicas: number, version: string): string } {
  const repo = testRepository(join(home, 'ops', `${name}.git`), join(work, `clone-${name}`));
  return {
    commit: (ns, replicas, version) =>
      repo.commit(
        {
          'deploy/app.yaml': `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: app, namespace: ${ns}}
spec:
  image: swarm-controller/test-app:1
  replicas: ${replicas}
  endpointMode: dnsrr
  env: {APP_VERSION: "${version}"}
  stopGracePeriod: 1s
  updateConfig: {monitor: 1s}
`,
        },
        `version ${version}`,
      ),
  };
}

const secret = (name: string, data: string | Buffer) => secretFile(secrets, name, data);

const appliedRevision = async (ns: string) =>
  (await inspectService(`${ns}_app`)).Spec.Labels['swarm.controller/revision'] as string | undefined;
const envOf = async (ns: string) => (await inspectService(`${ns}_app`)).Spec.TaskTemplate.ContainerSpec.Env as string[];

/** Waits until the controller has applied `revision` (status and the service's label). */
async function applied(c: RunningController, ns: string, revision: string, what: string): Promise<void> {
  await eventually(
    async () => {
      const s = await c.status().catch(() => ({}) as Record<string, any>);
      return s.revision === revision && s.lastSync?.result === 'success';
    },
    90_000,
    what,
  );
  assert.equal(await appliedRevision(ns), revision);
}

/** Waits for a fetch-failed sync, started after `after` (ms), whose detail matches `pattern`; the status. */
async function fetchFailed(
  c: RunningController,
  pattern: RegExp,
  what: string,
  after = 0,
): Promise<Record<string, any>> {
  let last: Record<string, any> = {};
  await eventually(
    async () => {
      last = await c.status();
      return (
        last.lastSync?.result === 'fetch-failed' &&
        Date.parse(String(last.lastSync?.startedAt)) > after &&
        pattern.test(String(last.lastSync?.detail))
      );
    },
    30_000,
    what,
  );
  return last;
}

describe('controller run follows private repositories', { timeout: 600_000 }, () => {
  let lab: SshLab;
  let http: GitHttpServer;
  let viaSsh: ReturnType<typeof repository>;
  let viaHttp: ReturnType<typeof repository>;
  const running: RunningController[] = [];
  const caches = { ssh: join(work, 'cache-ssh'), http: join(work, 'cache-https') };

  before(async () => {
    ensureSwarm();
    for (const ns of [sshNs, httpNs]) {
      await removeNamespace(ns);
      await removeControllerRecords(ns);
    }
    lab = await startSshLab({ name: 'sc-e2e-git', prefix: '10.219.8', gitUser: true });
    mkdirSync(secrets);
    viaSsh = repository(lab.gitHome!, 'ssh');
    viaHttp = repository(lab.gitHome!, 'https');
    secret('git-deploy-key', readFileSync(lab.deployKey!));
    secret('git-known-hosts', `${lab.knownHostsLine(22)}\n`);
    secret('git-token', `${token}\n`);
    http = await startGitHttpServer(lab.gitHome!, token);
  });

  after(async () => {
    for (const c of running) await c.stop();
    for (const ns of [sshNs, httpNs]) {
      await removeNamespace(ns);
      await removeControllerRecords(ns);
    }
    lab?.stop();
    await http?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  describe('over ssh with a deploy key', () => {
    let c: RunningController;

    it('applies the first commit, and follows the next', async () => {
      const first = viaSsh.commit(sshNs, 1, '1');
      c = await startRun(sshNs, `git@${lab.address}:ops/ssh.git#main:deploy`, [
        '--ssh-key-file',
        join(secrets, 'git-deploy-key'),
        '--ssh-known-hosts-file',
        join(secrets, 'git-known-hosts'),
        '--cache-dir',
        caches.ssh,
      ]);
      running.push(c);
      await applied(c, sshNs, first, 'the first commit over ssh');
      const second = viaSsh.commit(sshNs, 1, '2');
      await applied(c, sshNs, second, 'the second commit over ssh');
      assert.ok((await envOf(sshNs)).includes('APP_VERSION=2'));
    });

    it('refuses a host key that does not match (SC1102) and keeps the last good revision; the right key applies what waited', async () => {
      const otherHost = join(work, 'other-host-key');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherHost]);
      const other = readFileSync(`${otherHost}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
      secret('git-known-hosts', `${lab.address} ${other}\n`);
      // A fetch that read the file before it changed may still be running: commit only once
      // the new file has refused one.
      await fetchFailed(c, /^error SC1102: /, 'a first fetch refused for the host key');
      const good = (await c.status()).revision as string;
      const committedAt = Date.now();
      const waiting = viaSsh.commit(sshNs, 1, '3');
      const s = await fetchFailed(c, /^error SC1102: /, 'the fetch after the commit refused', committedAt);
      assert.match(
        s.lastSync.detail,
        new RegExp(
          `host key of ${lab.address.replace(/\./g, '\\.')} does not match the one in the known_hosts file ${join(secrets, 'git-known-hosts')}`,
        ),
      );
      assert.match(s.lastSync.detail, new RegExp(`ssh-keyscan ${lab.address.replace(/\./g, '\\.')}`));
      assert.equal(s.revision, good, 'the last good revision stays in force');
      assert.equal(await appliedRevision(sshNs), good, 'nothing of the waiting commit was applied');
      const text = await controller(['status', '--url', `http://127.0.0.1:${c.port}`]);
      assert.equal(text.code, 1);
      assert.match(text.stdout, /last sync: fetch-failed .*error SC1102: /);

      // No known_hosts file at all: refused before ssh runs.
      rmSync(join(secrets, 'git-known-hosts'));
      await fetchFailed(
        c,
        new RegExp(`^error SC1101: .*the known_hosts file ${join(secrets, 'git-known-hosts')} does not exist`),
        'the fetch refused for the missing known_hosts file',
      );
      assert.equal(await appliedRevision(sshNs), good);

      secret('git-known-hosts', `${lab.knownHostsLine(22)}\n`);
      await applied(c, sshNs, waiting, 'the waiting commit once the host key is right');
    });
  });

  describe('over https with a token file', () => {
    let c: RunningController;

    it('applies the first commit and follows the next; the server saw the token', async () => {
      const first = viaHttp.commit(httpNs, 1, '1');
      c = await startRun(httpNs, `${http.origin}/ops/https.git#main:deploy`, [
        '--git-token-file',
        join(secrets, 'git-token'),
        '--cache-dir',
        caches.http,
      ]);
      running.push(c);
      await applied(c, httpNs, first, 'the first commit over https');
      const second = viaHttp.commit(httpNs, 1, '2');
      await applied(c, httpNs, second, 'the second commit over https');
      assert.ok(http.requests.some((r) => r.authorised && r.user === 'x-access-token' && r.status === 200));
      assert.ok(
        http.requests.some((r) => r.status === 401 && r.user === undefined),
        'anonymous requests get 401',
      );
    });

    it('refuses a wrong token (SC1103) and keeps the last good revision; a rotated token is read at the next poll', async () => {
      const good = (await c.status()).revision as string;
      // The server's token is rotated (the file still holds the old one) before the commit, so
      // no fetch can bring the commit with the old token.
      http.setToken(rotated);
      const committedAt = Date.now();
      const waiting = viaHttp.commit(httpNs, 1, '3');
      const s = await fetchFailed(
        c,
        /^error SC1103: .*refused the token in /,
        'the fetch refused for the token',
        committedAt,
      );
      assert.match(s.lastSync.detail, new RegExp(`refused the token in ${join(secrets, 'git-token')}`));
      assert.equal(s.revision, good);
      assert.equal(await appliedRevision(httpNs), good);
      assert.ok(http.requests.some((r) => r.user === 'x-access-token' && !r.authorised && r.status === 401));

      secret('git-token', `${rotated}\n`);
      await applied(c, httpNs, waiting, 'the waiting commit with the rotated token');
    });
  });

  it('no token appears in any output line, status, metrics, cache file or service', async () => {
    for (const c of running) {
      const status = JSON.stringify(await c.status());
      const metrics = await c.metrics();
      const lines = c.output().split('\n');
      assert.ok(lines.length > 10, 'the controller logged');
      for (const t of tokens) {
        assert.ok(!status.includes(t), `status has ${t}`);
        assert.ok(!metrics.includes(t), `metrics have ${t}`);
        assert.deepEqual(
          lines.filter((l) => l.includes(t)),
          [],
          `log lines with ${t}`,
        );
      }
    }
    for (const t of tokens) {
      assert.deepEqual(filesContaining(caches.http, t), [], `cache files with ${t}`);
      assert.deepEqual(filesContaining(caches.ssh, t), [], `cache files with ${t}`);
      const service = JSON.stringify(await inspectService(`${httpNs}_app`));
      assert.ok(!service.includes(t), `the service has ${t}`);
    }
  });
});
