import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildDesiredState } from '../../src/manifest/load.js';
import { parseDocuments } from '../../src/manifest/yaml-documents.js';
import { formatDiagnostic } from '../../src/errors.js';
import { labelSpecHash } from '../../src/api/labels.js';
import { specHash } from '../../src/plan/swarm-spec.js';
import { notificationsSchema, receiverSchema } from '../../src/notify/config-schema.js';
import { syncWindowSchema } from '../../src/schedule/window-schema.js';
import { dependencyReadiness } from '../../src/controller/app-readiness.js';
import { parseEnvLines } from '../../src/controller/app-variables.js';
import { AppNotices } from '../../src/controller/app-notices.js';
import type { NotificationEvent } from '../../src/notify/events.js';
import type { SwarmService } from '../../src/api/swarm-types.js';
import { findRepoRoot } from '../../scripts/generate.js';
import { desiredFrom, service } from '../helpers/manifests.js';

const app = (name: string, spec: string) =>
  `apiVersion: swarm.controller/v1alpha1\nkind: App\nmetadata: {name: ${name}}\nspec:\n  repository: https://git.example.com/ops/${name}.git\n${spec}---\n`;

function load(text: string) {
  const parsed = parseDocuments({ path: 'apps.yaml', text });
  return buildDesiredState(parsed.documents, parsed.diagnostics);
}

describe('App manifests', () => {
  it('are loaded beside the other kinds, and plan nothing', () => {
    const loaded = load(app('db', '') + app('web', '  dependsOn: [db]\n  interval: 1m\n'));
    assert.deepEqual(loaded.diagnostics, []);
    assert.deepEqual(
      loaded.apps.map((a) => a.manifest.metadata.name),
      ['db', 'web'],
    );
    assert.equal(loaded.desired.services.length + loaded.desired.networks.length, 0);
  });

  it('refuse an unknown dependency, a cycle, and a name or apply set used twice, naming the field', () => {
    const loaded = load(
      app('a', '  dependsOn: [b]\n') +
        app('b', '  dependsOn: [a, nope]\n') +
        app('c', '  applySet: a\n') +
        app('a', ''),
    );
    const text = loaded.diagnostics.map((d) => formatDiagnostic(d).split('\n')[0]);
    assert.ok(
      text.some((t) =>
        /apps\.yaml:\d+:\d+: error SC8101: App "b" spec\.dependsOn\[1\]: App "nope" is not declared/.test(t),
      ),
      text.join('\n'),
    );
    assert.ok(
      text.some((t) => /SC8101: .*dependency cycle: a -> b -> a/.test(t)),
      text.join('\n'),
    );
    assert.ok(
      text.some((t) => /SC8101: App "c" spec\.applySet: apply set "a" is also the apply set of App "a"/.test(t)),
      text.join('\n'),
    );
    assert.ok(
      text.some((t) => /SC8101: App "a" metadata\.name: declared twice/.test(t)),
      text.join('\n'),
    );
    assert.deepEqual(loaded.apps, [], 'no App runs from a root revision with a mistake');
  });

  it('check their sync windows and notifications with the codes of those modules', () => {
    const loaded = load(
      app(
        'db',
        '  syncWindows: [{name: w, kind: deny, schedule: "0 0 30 2 *", duration: 1h}]\n  notifications: {receivers: [{name: r, type: gitea, repository: ops/db, tokenFile: /t}]}\n',
      ),
    );
    const codes = loaded.diagnostics.map((d) => `${d.code} ${d.field}`);
    assert.ok(
      codes.some((c) => c.startsWith('SC8002 spec.syncWindows[0].schedule')),
      codes.join('\n'),
    );
    assert.ok(
      codes.some((c) => c.startsWith('SC8001 spec.notifications.receivers[0].apiUrl')),
      codes.join('\n'),
    );
  });

  it('embed the schemas of src/notify/ and src/schedule/ unchanged (crds/app.yaml)', () => {
    const crd = parse(readFileSync(join(findRepoRoot(), 'crds', 'app.yaml'), 'utf8'));
    const defs = crd.spec.versions[0].schema.openAPIV3Schema.$defs;
    const plain = (x: object) => JSON.parse(JSON.stringify(x)) as unknown;
    const { $defs: _n, examples: _e, ...notifications } = notificationsSchema;
    const { examples: _r, ...receiver } = receiverSchema;
    const { examples: _w, ...window } = syncWindowSchema;
    assert.deepEqual(defs.Notifications, plain(notifications));
    assert.deepEqual(defs.NotificationReceiver, plain(receiver));
    assert.deepEqual(defs.SyncWindow, plain(window));
  });
});

describe('dependencyReadiness', () => {
  const desired = desiredFrom(service('db', '  image: postgres:16\n  replicas: 2\n', '  namespace: data\n'));
  const d = desired.services[0];
  const live = (over: Partial<SwarmService> & { running?: number }): SwarmService => ({
    ID: 'x',
    Version: { Index: 1 },
    Spec: { Name: d.swarmName, Labels: { [labelSpecHash]: specHash('Service', d.swarmName, d.model) } },
    ServiceStatus: { RunningTasks: over.running ?? 2, DesiredTasks: 2 },
    ...over,
  });
  const view = {
    name: 'db',
    desired: { revision: 'a'.repeat(40), desired },
    pendingRevision: undefined,
    suspended: false,
  };

  it('is Ready when every service runs all its tasks at the loaded spec', () => {
    assert.equal(dependencyReadiness(view, [live({})]).ready, true);
  });
  it('is not Ready, and says why, before the revision, with a missing, old, updating or short service', () => {
    const why = (v: typeof view | Parameters<typeof dependencyReadiness>[0], s: SwarmService[]) =>
      dependencyReadiness(v, s).reason;
    assert.match(why({ ...view, desired: undefined }, []), /App "db" has no valid revision yet/);
    assert.match(why({ ...view, pendingRevision: 'b'.repeat(40) }, [live({})]), /has revision bbbbbbbbbbbb waiting/);
    assert.match(why(view, []), /Service\/data\/db does not exist yet/);
    assert.match(why(view, [live({ Spec: { Name: d.swarmName, Labels: {} } })]), /is not at revision aaaaaaaaaaaa/);
    assert.match(why(view, [live({ UpdateStatus: { State: 'rollback_completed' } })]), /update rollback_completed/);
    assert.match(why(view, [live({ running: 1 })]), /1\/2 task\(s\) running and healthy/);
  });
});

describe('parseEnvLines', () => {
  it('reads KEY=value lines, skips comments and blanks, and names a bad line without its value', () => {
    assert.deepEqual(parseEnvLines('# c\n\nA=1\nB = x=y\n', 'here'), [
      ['A', '1'],
      ['B', ' x=y'],
    ]);
    assert.throws(
      () => parseEnvLines('A=1\nsecret-value\n', 'Secret "s"'),
      (err: Error) => {
        assert.match(err.message, /Secret "s", line 2: not KEY=value/);
        assert.ok(!err.message.includes('secret-value'));
        return true;
      },
    );
  });
});

describe('AppNotices', () => {
  const sent: NotificationEvent[] = [];
  let leader = true;
  const notices = new AppNotices({
    app: 'db',
    notifier: { notify: (e) => sent.push(e) },
    git: true,
    now: () => 1000,
    isLeader: () => leader,
    current: () => ({ revision: 'c'.repeat(40), objects: [] }),
  });
  const record = { trigger: 'poll' as const, startedAt: '', durationMs: 1 };

  it('sends a refused revision with its problems, a success with the commit, drift and rollback; a standby sends none', () => {
    notices.recorded(
      {
        ...record,
        revision: 'a'.repeat(40),
        result: 'invalid',
        detail:
          '1 problem(s); revision not applied, still applying cccccccccccc: p.yaml:4:9: error SC7002: no key; q.yaml:1:1: error SC2003: x',
      },
      true,
    );
    notices.recorded({ ...record, revision: 'b'.repeat(40), result: 'success', detail: 'applied' }, true);
    notices.recorded({ ...record, revision: 'b'.repeat(40), result: 'success', detail: 'in sync' }, true);
    notices.object({
      id: 'Service/db/db',
      kind: 'Service',
      swarmName: 'db_db',
      phase: 'Progressing',
      reason: 'drift repaired: update: env',
      updatedAt: '',
    });
    notices.object({
      id: 'Service/db/db',
      kind: 'Service',
      swarmName: 'db_db',
      phase: 'Failed',
      reason: 'Swarm rolled this revision back (rollback_completed)',
      updatedAt: '',
    });
    leader = false;
    notices.object({
      id: 'Service/db/db',
      kind: 'Service',
      swarmName: 'db_db',
      phase: 'Failed',
      reason: 'drifted from the manifests (spec.env)',
      updatedAt: '',
    });
    assert.deepEqual(
      sent.map((e) => [e.type, e.commit?.[0]]),
      [
        ['revision-refused', 'a'],
        ['sync-succeeded', 'b'],
        ['drift', 'c'],
        ['rollback', 'c'],
      ],
    );
    assert.deepEqual(sent[0].problems, ['p.yaml:4:9: error SC7002: no key', 'q.yaml:1:1: error SC2003: x']);
    assert.equal(sent[2].driftMode, 'repaired');
  });
});
