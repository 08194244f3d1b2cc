/**
 * The app supervisor (app of apps) on a FakeClock over a fake Swarm: each App is a loop of its
 * own under one Manager, an App waits for the Apps it depends on to be Ready (as the Swarm shows
 * them), an App that fails stops no other, and an App no longer declared is stopped with its
 * objects left in the Swarm. The fake Swarm runs a service's tasks only once the test says so
 * (`healthy`), which is how a dependency becomes Ready; the sources are directories.
 */
import { after, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskFilter } from '../../src/api/swarm-access.js';
import type { SwarmService, SwarmTask } from '../../src/api/swarm-types.js';
import { appMetrics } from '../../src/controller/app-metrics.js';
import { AppSupervisor } from '../../src/controller/app-supervisor.js';
import { Manager } from '../../src/controller/manager.js';
import { Registry } from '../../src/controller/metrics.js';
import { buildDesiredState } from '../../src/manifest/load.js';
import { parseDocuments } from '../../src/manifest/yaml-documents.js';
import { FakeClock } from '../../src/queue/clock.js';
import { eventually } from '../helpers/eventually.js';
import { RunnableFakeSwarm } from '../helpers/fake-swarm.js';
import { recordingLogger } from '../helpers/log-records.js';
import { service } from '../helpers/manifests.js';
import { testSettings } from '../helpers/run-loop.js';

/** A fake Swarm whose services run their tasks only once named in `healthy` (Swarm counts a task with a health check as running once it passed). */
class TaskSwarm extends RunnableFakeSwarm {
  readonly healthy = new Set<string>();
  private replicas = (s: SwarmService) => s.Spec.Mode?.Replicated?.Replicas ?? 1;
  override async listServices(): Promise<SwarmService[]> {
    return (await super.listServices()).map((s) => ({
      ...s,
      ServiceStatus: {
        RunningTasks: this.healthy.has(s.Spec.Name ?? '') ? this.replicas(s) : 0,
        DesiredTasks: this.replicas(s),
      },
    }));
  }
  override async listTasks(filter: TaskFilter = {}): Promise<SwarmTask[]> {
    const tasks: SwarmTask[] = [];
    for (const s of this.services.values())
      if (this.healthy.has(s.Spec.Name ?? ''))
        for (let i = 0; i < this.replicas(s); i++)
          tasks.push({
            ID: `${s.ID}.${i}`,
            ServiceID: s.ID,
            DesiredState: 'running',
            Status: { State: 'running', Timestamp: new Date(0).toISOString() },
            Spec: structuredClone(s.Spec.TaskTemplate),
          });
    this.tasks = tasks;
    return super.listTasks(filter);
  }
}

const work = mkdtempSync(join(tmpdir(), 'sc-app-supervisor-'));

/** A directory holding one service of namespace `ns`. */
function appDir(ns: string, version = '1'): string {
  const dir = join(work, ns);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'svc.yaml'), service('svc', `image: app:${version}\nreplicas: 1`, `  namespace: ${ns}\n`));
  return dir;
}

const appYaml = (name: string, spec: string) =>
  `apiVersion: swarm.controller/v1alpha1\nkind: App\nmetadata: {name: ${name}}\nspec:\n${spec}---\n`;

/** The Apps of a root revision, as the root's loop hands them over. */
function apps(text: string) {
  const parsed = parseDocuments({ path: 'apps.yaml', text });
  const loaded = buildDesiredState(parsed.documents, parsed.diagnostics);
  assert.deepEqual(loaded.diagnostics, []);
  return loaded.apps;
}

describe('AppSupervisor', () => {
  let swarm: TaskSwarm;
  let clock: FakeClock;
  let manager: Manager;
  let supervisor: AppSupervisor;
  let published: string[];

  beforeEach(async () => {
    await manager?.stop(1000);
    swarm = new TaskSwarm();
    clock = new FakeClock(Date.parse('2026-03-09T10:00:00Z'));
    const { log } = recordingLogger();
    manager = new Manager({ swarm, identity: 'unit', clock, log });
    published = [];
    supervisor = new AppSupervisor({
      manager,
      swarm,
      defaults: testSettings,
      rootApplySet: 'root',
      cacheDir: join(work, 'cache'),
      credentials: { sshKeyFile: '', sshKnownHostsFile: '', username: 'git', given: new Set() },
      sops: { identities: () => Promise.resolve([]) },
      secretsDir: join(work, 'secrets'),
      clock,
      log,
      metrics: appMetrics(new Registry()),
      identity: 'unit',
      publishStatus: (app) => ({
        start: () => void published.push(`start ${app}`),
        stop: () => Promise.resolve(void published.push(`stop ${app}`)),
      }),
    });
    manager.start();
  });
  after(async () => {
    await manager?.stop(1000);
    rmSync(work, { recursive: true, force: true });
  });

  /** Steps the fake clock (lease rounds, rechecks) while the directory reads run in real time. */
  const until = (check: () => boolean | Promise<boolean>, what: string) =>
    eventually(check, 120_000, what, {
      clock,
      intervalMs: 250,
      realTickMs: 2,
      detail: () =>
        supervisor.names
          .map((n) => {
            const s = supervisor.status(n);
            return `${n}: ${JSON.stringify(s?.syncs.map((x) => [x.result, x.trigger, x.detail]))} ${s?.role} waiting=${s?.waiting} objects=${JSON.stringify(s?.objects.map((o) => [o.id, o.phase, o.reason]))}`;
          })
          .join('\n'),
    });
  const created = (name: string) => swarm.writes.includes(`createService ${name}`);

  it('applies an App only once the App it depends on is Ready, and says what it waits for meanwhile', async () => {
    const db = appDir('u-db');
    const web = appDir('u-web');
    await supervisor.update(
      apps(appYaml('u-db', `  repository: ${db}\n`) + appYaml('u-web', `  repository: ${web}\n  dependsOn: [u-db]\n`)),
    );
    assert.deepEqual(supervisor.names, ['u-db', 'u-web']);
    assert.deepEqual(published.sort(), ['start u-db', 'start u-web']);
    await until(() => created('u-db_svc'), 'db created');
    // db's task does not run: web waits, with the reason in its status, and writes nothing.
    await until(
      () => /waiting for App "u-db" is not Ready/.test(supervisor.status('u-web')?.waiting ?? ''),
      'web waiting',
    );
    const waiting = supervisor.status('u-web')!;
    assert.match(waiting.waiting!, /Service\/u-db\/svc 0\/1 task\(s\) running and healthy/);
    assert.ok(waiting.pendingRevision, 'the revision it holds back');
    assert.equal(waiting.revision, undefined, 'nothing of web applied');
    assert.equal(waiting.lastSync?.result, 'waiting');
    assert.ok(!created('u-web_svc'));
    assert.deepEqual(
      (await supervisor.summaries()).map((s) => [s.name, s.ready]),
      [
        ['u-db', false],
        ['u-web', false],
      ],
    );

    // db's task runs: db's sync succeeds, which wakes web, which then applies.
    swarm.healthy.add('u-db_svc');
    await until(() => created('u-web_svc'), 'web created once db is Ready');
    assert.ok(swarm.writes.indexOf('createService u-db_svc') < swarm.writes.indexOf('createService u-web_svc'));
    swarm.healthy.add('u-web_svc');
    await until(() => supervisor.status('u-web')?.lastSync?.result === 'success', 'web synced');
    const webStatus = supervisor.status('u-web')!;
    assert.equal(webStatus.waiting, undefined);
    // Polls are an hour apart here and `until` gives up after two minutes of fake time: web was
    // woken by db (a dependency trigger, or a startup trigger it had coalesced with).
    assert.notEqual(webStatus.lastSync?.trigger, 'poll');
    await until(async () => (await supervisor.summaries()).every((s) => s.ready), 'both Ready');
  });

  it('polls each App at its spec.interval', async () => {
    const db = appDir('u-db');
    await supervisor.update(apps(appYaml('u-db', `  repository: ${db}\n  interval: 30s\n`)));
    swarm.healthy.add('u-db_svc');
    await until(() => supervisor.status('u-db')?.lastSync?.result === 'success', 'db synced');
    // The next poll is due within the interval, with the loop's jitter of ±10 % (not the hour of the default).
    const due = Date.parse(supervisor.status('u-db')!.nextSyncAt!) - clock.now();
    assert.ok(due > 0 && due <= 33_000, `the next poll is due in ${due} ms`);
    appDir('u-db', '2');
    await until(() => swarm.writes.includes('updateService u-db_svc'), 'the new revision applied (by a poll)');
  });

  it('keeps the other Apps going when one fails (a source it cannot use, a Config it cannot read)', async () => {
    const db = appDir('u-db');
    await supervisor.update(
      apps(
        appYaml('u-db', `  repository: ${db}\n`) +
          appYaml('u-bad', `  repository: ${appDir('u-bad')}\n  applySet: root\n`) +
          appYaml(
            'u-vars',
            `  repository: ${appDir('u-vars')}\n  variablesFrom: [{kind: Config, name: no-such-config}]\n`,
          ),
      ),
    );
    swarm.healthy.add('u-db_svc');
    await until(() => supervisor.status('u-db')?.lastSync?.result === 'success', 'db synced');
    await until(
      () =>
        supervisor.status('u-bad')?.lastSync?.result === 'fetch-failed' &&
        supervisor.status('u-vars')?.lastSync?.result === 'invalid',
      'the two failures recorded',
    );
    assert.match(supervisor.status('u-bad')!.lastSync!.detail, /apply set "root" is the controller's own/);
    assert.match(supervisor.status('u-vars')!.lastSync!.detail, /SC8102/);
    assert.ok(created('u-db_svc'));
    assert.ok(!created('u-bad_svc') && !created('u-vars_svc'), 'nothing of the failing apps written');
  });

  it('stops an App the root no longer declares, leaves its objects in the Swarm, and keeps the others', async () => {
    const db = appDir('u-db');
    const web = appDir('u-web');
    await supervisor.update(
      apps(appYaml('u-db', `  repository: ${db}\n`) + appYaml('u-web', `  repository: ${web}\n`)),
    );
    swarm.healthy.add('u-db_svc').add('u-web_svc');
    await until(() => created('u-db_svc') && created('u-web_svc'), 'both created');
    await supervisor.update(apps(appYaml('u-db', `  repository: ${db}\n`)));
    assert.deepEqual(supervisor.names, ['u-db']);
    assert.equal(supervisor.status('u-web'), undefined);
    assert.ok(published.includes('stop u-web') && !published.includes('stop u-db'));
    assert.ok(!swarm.writes.includes('removeService u-web_svc'), 'its objects stay');
    // db goes on syncing: a new revision of it is applied.
    appDir('u-db', '2');
    supervisor.loop('u-db')!.triggerSync('webhook');
    await until(() => swarm.writes.includes('updateService u-db_svc'), 'db still synced');
    assert.ok(!swarm.writes.includes('removeService u-web_svc'));
  });
});
