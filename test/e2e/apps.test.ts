/**
 * Many apps in one `controller run` (app of apps) on the real Swarm and real git: a root
 * repository lists three Apps:
 *   - db: a local repository with a service that has a health check and a SOPS-encrypted Secret
 *     (decrypted with the age key given to run), notifications to a JSON webhook, a Gitea-style
 *     commit status and a receiver that always answers 500;
 *   - web: a private repository over ssh (OpenSSH in a network namespace of the test's own, the
 *     deploy key and known_hosts from the App's credentials), dependsOn db;
 *   - bad: variablesFrom a Config the Swarm does not have.
 * The receivers are one local HTTP server that records what it got. Shown: web is created only
 * after db's task runs healthy; bad fails alone (SC8102) and the others apply; a db revision that
 * cannot be decrypted is refused with the last good one kept, a revision-refused notice and a
 * failure commit status; a deny window holds web's new revision (reason in status) until
 * `controller sync` asks for a manual sync; drift on db is repaired and notified; the failing
 * receiver is retried and delays nothing; the decrypted value is in the task and nowhere else.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secretFile, testRepository } from '../helpers/git-fixtures.js';
import { sopsEncrypt } from '../helpers/sops-encrypt.js';
import {
  controller,
  docker,
  ensureSwarm,
  eventually,
  inspectService,
  readInTask,
  removeControllerRecords,
  removeNamespace,
} from './harness.js';
import { startRun, type RunningController } from './run-controller.js';
import { startSshLab, type SshLab } from './ssh-lab.js';

const root = 'e2e-apps-root';
const db = 'e2e-apps-db';
const web = 'e2e-apps-web';
const bad = 'e2e-apps-bad';
const sets = [root, db, web, bad];
const value = 'e2e-apps-Pa55-never-shown-71c2';
const token = 'e2e-apps-gitea-token-9d0e';
const work = mkdtempSync(join(tmpdir(), 'sc-e2e-apps-'));
const secrets = join(work, 'secrets');
const keyFile = join(work, 'age.txt');
const otherKeyFile = join(work, 'other-age.txt');
/** No key from the environment of whoever runs the tests. */
const clean = { SOPS_AGE_KEY: '', SOPS_AGE_KEY_FILE: '', XDG_CONFIG_HOME: work };

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, any>;
  at: number;
}

/** Records every POST; /fail always answers 500. */
function startReceiver(): Promise<{ server: Server; port: number; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      let body: Record<string, any> = {};
      try {
        body = JSON.parse(text) as Record<string, any>;
      } catch {
        // recorded as {}
      }
      got.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      res.writeHead(req.url === '/fail' ? 500 : 201, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, got })),
  );
}

const dbService = (version: string) => `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: db, namespace: ${db}}
spec:
  image: swarm-controller/test-app:1
  replicas: 1
  endpointMode: dnsrr
  env: {APP_VERSION: "${version}"}
  secrets: [{name: password, mode: "0400"}]
  healthcheck: {test: [CMD, /usr/local/bin/node, /app/healthcheck.js], interval: 1s, timeout: 2s, retries: 3, startPeriod: 2s}
  stopGracePeriod: 1s
  updateConfig: {monitor: 1s}
`;

const webService = (version: string) => `apiVersion: swarm.controller/v1alpha1
kind: Service
metadata: {name: web, namespace: ${web}}
spec:
  image: swarm-controller/test-app:1
  replicas: 1
  endpointMode: dnsrr
  env: {APP_VERSION: "${version}"}
  stopGracePeriod: 1s
  updateConfig: {monitor: 1s}
`;

const secretManifest = (data: string) => `apiVersion: swarm.controller/v1alpha1
kind: Secret
metadata: {name: password, namespace: ${db}}
spec:
  data: "${data}"
`;

describe('controller run with many apps (app of apps)', { timeout: 900_000 }, () => {
  let lab: SshLab;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let c: RunningController;
  let rootRepo: ReturnType<typeof testRepository>;
  let dbRepo: ReturnType<typeof testRepository>;
  let webRepo: ReturnType<typeof testRepository>;
  let recipient: string;
  let otherRecipient: string;
  let dbFirst: string;
  let webFirst: string;
  const url = () => `http://127.0.0.1:${c.port}`;
  /** One App's line of /status ({} while the controller is not answering yet). */
  const app = async (name: string): Promise<Record<string, any>> => {
    const s = await c.status().catch(() => ({}) as Record<string, any>);
    return ((s.apps ?? []) as Record<string, any>[]).find((a) => a.name === name) ?? {};
  };
  /** How often the controller logged that it started App `name` (a changed App manifest restarts it). */
  const starts = (name: string) =>
    c
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.event === 'app.start' && r.app === name).length;
  const envOf = async (service: string) =>
    (await inspectService(service)).Spec.TaskTemplate.ContainerSpec.Env as string[];

  const appsManifest = (webWindows = '') => `apiVersion: swarm.controller/v1alpha1
kind: App
metadata: {name: ${db}}
spec:
  repository: ${join(work, 'git', 'db.git')}
  ref: main
  path: deploy
  interval: 2s
  notifications:
    repeatInterval: 1h
    receivers:
      - {name: hook, type: webhook, url: "http://127.0.0.1:${receiver.port}/hook", events: [sync-started, sync-succeeded, sync-failed, drift, rollback, revision-refused]}
      - {name: status, type: gitea, apiUrl: "http://127.0.0.1:${receiver.port}/api/v1", repository: ops/db, tokenFile: ${join(secrets, 'gitea-token')}}
      - {name: broken, type: webhook, url: "http://127.0.0.1:${receiver.port}/fail", maxAttempts: 3, events: [sync-succeeded, revision-refused]}
---
apiVersion: swarm.controller/v1alpha1
kind: App
metadata: {name: ${web}}
spec:
  repository: git@${lab.address}:ops/web.git
  ref: main
  path: deploy
  interval: 2s
  dependsOn: [${db}]
  credentials:
    sshKeyFile: ${join(secrets, 'web-deploy-key')}
    sshKnownHostsFile: ${join(secrets, 'web-known-hosts')}
${webWindows}---
apiVersion: swarm.controller/v1alpha1
kind: App
metadata: {name: ${bad}}
spec:
  repository: ${join(work, 'bad')}
  variablesFrom: [{kind: Config, name: e2e-apps-no-such-config}]
`;

  before(async () => {
    ensureSwarm();
    for (const ns of [db, web, bad]) await removeNamespace(ns);
    for (const set of sets) await removeControllerRecords(set);
    for (const s of (await docker('secret', 'ls', '--format', '{{.Name}}')).split('\n'))
      if (s.startsWith(`${db}_`)) await docker('secret', 'rm', s).catch(() => '');
    // Its own namespace and addresses per engine, so runs on two engines at once do not meet.
    const sid = (process.env.DOCKER_HOST ?? '').includes('sid');
    lab = await startSshLab({
      name: sid ? 'sc-apps28' : 'sc-apps20', // ssh-lab keeps 10 characters for its links
      prefix: sid ? '10.219.13' : '10.219.12',
      gitUser: true,
    });
    receiver = await startReceiver();
    mkdirSync(secrets);
    secretFile(secrets, 'web-deploy-key', readFileSync(lab.deployKey!));
    secretFile(secrets, 'web-known-hosts', `${lab.knownHostsLine(22)}\n`);
    secretFile(secrets, 'gitea-token', `${token}\n`);
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
    execFileSync('age-keygen', ['-o', otherKeyFile], { stdio: 'ignore' });
    recipient = execFileSync('age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim();
    otherRecipient = execFileSync('age-keygen', ['-y', otherKeyFile], { encoding: 'utf8' }).trim();
    rootRepo = testRepository(join(work, 'git', 'root.git'), join(work, 'clone-root'));
    dbRepo = testRepository(join(work, 'git', 'db.git'), join(work, 'clone-db'));
    webRepo = testRepository(join(lab.gitHome!, 'ops', 'web.git'), join(work, 'clone-web'));
    mkdirSync(join(work, 'bad'));
    writeFileSync(join(work, 'bad', 'app.yaml'), webService('bad').replace(`namespace: ${web}`, `namespace: ${bad}`));
    const sealed = await sopsEncrypt(secretManifest(value), {
      recipients: [recipient],
      rule: { encrypted_regex: '^(data)$' },
    });
    assert.ok(!sealed.includes(value));
    dbFirst = dbRepo.commit({ 'deploy/db.yaml': dbService('1'), 'deploy/password.sops.yaml': sealed }, 'db 1');
    webFirst = webRepo.commit({ 'deploy/web.yaml': webService('1') }, 'web 1');
    rootRepo.commit({ 'apps/apps.yaml': appsManifest() }, 'three apps');
  });

  after(async () => {
    await c?.stop();
    for (const ns of [db, web, bad]) await removeNamespace(ns);
    for (const s of (await docker('secret', 'ls', '--format', '{{.Name}}')).split('\n'))
      if (s.startsWith(`${db}_`)) await docker('secret', 'rm', s).catch(() => '');
    for (const set of sets) await removeControllerRecords(set);
    lab?.stop();
    receiver?.server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('applies db, then web once db runs healthy; the broken app fails alone; status, get apps, metrics', async () => {
    c = await startRun(
      root,
      `${join(work, 'git', 'root.git')}#main:apps`,
      ['--age-key-file', keyFile, '--secrets-dir', secrets, '--status-interval', '500ms'],
      clean,
    );
    await eventually(
      async () => {
        const [a, b] = [await app(db), await app(web)];
        return a.ready === true && b.ready === true && b.revision === webFirst && a.revision === dbFirst;
      },
      180_000,
      'db and web Ready',
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${c.output().slice(-4000)}`);
    });
    // web was created only after db's task ran (Swarm reports it running once its health check passed).
    const dbTask = JSON.parse(
      await docker(
        'inspect',
        (await docker('service', 'ps', '-q', '--filter', 'desired-state=running', `${db}_db`)).split('\n')[0],
      ),
    )[0] as { Status: { State: string; Timestamp: string } };
    assert.equal(dbTask.Status.State, 'running');
    const webCreated = Date.parse(await docker('service', 'inspect', '--format', '{{.CreatedAt}}', `${web}_web`));
    assert.ok(
      webCreated >= Date.parse(dbTask.Status.Timestamp),
      `web created ${new Date(webCreated).toISOString()} before db ran at ${dbTask.Status.Timestamp}`,
    );
    const webStatus = (await (await fetch(`${url()}/apps/${web}`)).json()) as Record<string, any>;
    assert.ok(
      (webStatus.syncs as Record<string, any>[]).some(
        (s) => s.result === 'waiting' && new RegExp(`waiting for App "${db}"`).test(s.detail),
      ),
      `web recorded that it waited for db: ${JSON.stringify(webStatus.syncs)}`,
    );
    // The SOPS secret: decrypted into the Swarm, read by the task, shown nowhere.
    assert.equal(await readInTask(`${db}_db`, '/run/secrets/password'), value);
    // bad fails alone, with its code; nothing of it is applied.
    await eventually(async () => /SC8102/.test(String((await app(bad)).lastSync?.detail)), 60_000, 'bad refused');
    assert.equal(await docker('service', 'ls', '-q', '--filter', `name=${bad}_web`), '');
    assert.equal((await app(bad)).ready, false);

    // get apps reads the status each App's leader writes into the Swarm: bounded in rate, so it
    // follows the controller's own status by up to a publishing interval; wait for every row.
    let list = { code: -1, stdout: '', stderr: '' };
    await eventually(
      async () => {
        list = await controller(['get', 'apps', '-o', 'wide']);
        return (
          new RegExp(`^${bad} +App +SyncFailed `, 'm').test(list.stdout) &&
          new RegExp(`^${db} +App +Synced +\\S+ +(\\d+)/\\1 +success `, 'm').test(list.stdout) &&
          new RegExp(`^${web} +App +Synced +\\S+ +(\\d+)/\\1 +success `, 'm').test(list.stdout)
        );
      },
      30_000,
      'the Apps in get apps',
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${list.stdout}${list.stderr}`);
    });
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      /^NAME +KIND +SYNC +REVISION +READY +LAST SYNC +UPDATED +LEADER .* DEPENDS ON +WAITING$/m,
    );
    assert.match(list.stdout, new RegExp(`^${db} +App +Synced +${dbFirst.slice(0, 12)} +(\\d+)/\\1 +success `, 'm'));
    assert.match(
      list.stdout,
      new RegExp(`^${web} +App +Synced +${webFirst.slice(0, 12)} +(\\d+)/\\1 +success .* ${db} +-$`, 'm'),
    );
    assert.match(list.stdout, new RegExp(`^${root} +ApplySet +Synced `, 'm'));
    const one = await controller(['status', '--set', web]);
    assert.match(
      one.stdout,
      new RegExp(`apply set "${web}" from git git@${lab.address.replace(/\./g, '\\.')}:ops/web\\.git`),
    );
    const metrics = await c.metrics();
    assert.match(metrics, new RegExp(`swarm_controller_app_sync_total\\{app="${db}",result="success"\\} [1-9]`));
    assert.match(metrics, new RegExp(`swarm_controller_app_sync_total\\{app="${bad}",result="invalid"\\} [1-9]`));
    assert.match(metrics, new RegExp(`swarm_controller_app_leader\\{app="${web}"\\} 1`));

    // Notifications: the webhook and the commit status got db's success; the failing receiver
    // was tried again, and the sync did not wait for it (it succeeded before the last attempt).
    await eventually(
      async () =>
        receiver.got.some(
          (r) => r.path === '/hook' && r.body.event === 'sync-succeeded' && r.body.commit === dbFirst,
        ) &&
        receiver.got.some((r) => r.path === `/api/v1/repos/ops/db/statuses/${dbFirst}` && r.body.state === 'success') &&
        receiver.got.filter((r) => r.path === '/fail').length >= 3,
      60_000,
      'the notifications of db',
    );
    const status = receiver.got.find((r) => r.path === `/api/v1/repos/ops/db/statuses/${dbFirst}`)!;
    assert.equal(status.headers.authorization, `token ${token}`);
    assert.equal(status.body.context, `swarm-controller/${db}`);
    const fails = receiver.got.filter((r) => r.path === '/fail');
    const dbSynced = (await app(db)).lastSync as { startedAt: string; durationMs: number };
    assert.ok(
      Date.parse(dbSynced.startedAt) + dbSynced.durationMs <= fails[fails.length - 1].at,
      'the sync ended before the failing receiver was given up',
    );
  });

  it('refuses a db revision that cannot be decrypted, keeps the last good one, and says so', async () => {
    const foreign = await sopsEncrypt(secretManifest('another-value'), {
      recipients: [otherRecipient],
      rule: { encrypted_regex: '^(data)$' },
    });
    const refused = dbRepo.commit(
      { 'deploy/db.yaml': dbService('2'), 'deploy/password.sops.yaml': foreign },
      'db 2 with a key the controller does not have',
    );
    await eventually(
      async () => (await app(db)).lastSync?.result === 'invalid' && (await app(db)).lastSync?.revision === refused,
      60_000,
      'the refused revision',
    ).catch(async (err: Error) => {
      const log = c
        .output()
        .split('\n')
        .filter((l) => l.includes(db))
        .slice(-40)
        .join('\n');
      throw new Error(`${err.message}; db: ${JSON.stringify(await app(db))}\n${log}`);
    });
    const a = await app(db);
    assert.match(a.lastSync.detail, /password\.sops\.yaml:\d+:\d+: error SC7002: /);
    assert.equal(a.revision, dbFirst, 'the last good revision stays');
    assert.ok((await envOf(`${db}_db`)).includes('APP_VERSION=1'));
    await eventually(
      async () =>
        receiver.got.some(
          (r) => r.path === '/hook' && r.body.event === 'revision-refused' && r.body.commit === refused,
        ) && receiver.got.some((r) => r.path === `/api/v1/repos/ops/db/statuses/${refused}`),
      60_000,
      'revision-refused notified',
    );
    const notice = receiver.got.find((r) => r.body.event === 'revision-refused')!;
    assert.match(JSON.stringify(notice.body.problems), /SC7002/);
    assert.equal(notice.body.refusal, 'invalid');
    // The value the controller did decrypt earlier is nowhere but in the task.
    for (const text of [c.output(), JSON.stringify(await c.status()), await c.metrics(), JSON.stringify(receiver.got)])
      assert.ok(!text.includes(value), 'the decrypted value appears in no output, status, metrics or notice');
  });

  it('holds web in a deny window with the reason in status; controller sync applies it as a manual sync', async () => {
    rootRepo.commit(
      {
        'apps/apps.yaml': appsManifest(
          '  syncWindows:\n    - {name: freeze, kind: deny, schedule: "0 0 * * *", duration: 24h, manualSync: true}\n',
        ),
      },
      'freeze web',
    );
    // The changed App manifest restarts web's loop with the window: only then is there a change to hold.
    await eventually(() => starts(web) >= 2, 60_000, 'web restarted with its sync window');
    const next = webRepo.commit({ 'deploy/web.yaml': webService('2') }, 'web 2');
    await eventually(
      async () => {
        const w = await app(web);
        return w.pendingRevision === next && /denied by window "freeze"/.test(String(w.waiting));
      },
      90_000,
      'web waiting in the window',
    );
    assert.ok((await envOf(`${web}_web`)).includes('APP_VERSION=1'), 'the window held the change back');
    assert.equal(await controller(['sync', web]).then((r) => r.code), 0);
    // A sync is recorded once its services converged; status.revision moves when it starts applying.
    let w: Record<string, any> = {};
    await eventually(
      async () => {
        w = (await (await fetch(`${url()}/apps/${web}`)).json()) as Record<string, any>;
        return (w.syncs as Record<string, any>[]).some(
          (x) => x.trigger === 'manual' && x.revision === next && x.result === 'success',
        );
      },
      60_000,
      'the manual sync of web 2 recorded',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(w.syncs)}`);
    });
    assert.equal(w.revision, next);
    assert.ok((await envOf(`${web}_web`)).includes('APP_VERSION=2'));
    assert.equal(w.waiting, undefined);
  });

  it('repairs drift on db and notifies it', async () => {
    await docker('service', 'update', '--detach', '--env-add', 'DRIFTED=1', `${db}_db`);
    await eventually(
      async () =>
        receiver.got.some((r) => r.path === '/hook' && r.body.event === 'drift' && r.body.driftMode === 'repaired'),
      90_000,
      'a drift notice',
    );
    const drift = receiver.got.find((r) => r.body.event === 'drift')!;
    assert.equal(drift.body.objects[0].id, `Service/${db}/db`);
    await eventually(async () => !(await envOf(`${db}_db`)).includes('DRIFTED=1'), 60_000, 'the drift put back');
  });
});
