import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commandNames, flagsOf } from '../../src/cli/command-table.js';
import { paint, useColour } from '../../src/cli/colour.js';
import { completionScript, flagChoices } from '../../src/cli/completion.js';
import { changeDiff } from '../../src/cli/diff-command.js';
import { renderDescribe } from '../../src/cli/describe-view.js';
import { renderGet } from '../../src/cli/get-view.js';
import { renderTable } from '../../src/cli/table.js';
import type { Change } from '../../src/plan/plan.js';
import { unifiedDiff } from '../../src/plan/unified-diff.js';
import { encodeStatus } from '../../src/status/codec.js';
import { latestStatuses } from '../../src/status/reader.js';
import { fixtureState } from '../helpers/dashboard-fixture.js';
import { bigAppDocument } from '../helpers/status-documents.js';

const now = Date.parse(bigAppDocument(1).writtenAt) + 90_000;

function stored(n: number) {
  const doc = bigAppDocument(n);
  doc.objects[1] = {
    ...doc.objects[1],
    phase: 'Failed',
    reason: 'update failed: image not found',
    drift: { at: doc.writtenAt, fields: ['spec.replicas'], repaired: true },
  };
  const e = encodeStatus(doc);
  return latestStatuses(
    [
      {
        ID: 'c',
        Version: { Index: 1 },
        Spec: { Name: 'swarm-controller-status.bench.1', Labels: e.labels, Data: e.data.toString('base64') },
      },
    ],
    now,
  ).statuses;
}

describe('tables', () => {
  it('aligns columns by visible width, colour or not, with no trailing blanks', () => {
    const p = paint(true);
    const t = renderTable(
      ['NAME', 'PHASE', 'REASON'],
      [
        ['a', p.green('Ready'), ''],
        ['longer-name', p.red('Failed'), 'boom'],
      ],
    );
    const plain = t.replace(/\x1b\[[0-9;]*m/g, '');
    assert.equal(plain, 'NAME          PHASE    REASON\na             Ready\nlonger-name   Failed   boom\n');
  });

  it('get apps shows sync state, revision, ready count and the age of the status', () => {
    const out = renderGet('apps', stored(3), { format: 'text', now, paint: paint(false) });
    assert.equal(
      out,
      'NAME    KIND       SYNC          REVISION       READY   LAST SYNC         UPDATED\n' +
        'bench   ApplySet   Progressing   aaaaaaaaaaaa   2/3     success 90s ago   90s ago\n',
    );
  });

  it('get objects -o wide adds the Swarm name, revision and drift; json is a List of rows', () => {
    const wide = renderGet('objects', stored(3), { format: 'wide', now, paint: paint(false) });
    const lines = wide.trimEnd().split('\n');
    assert.match(lines[0], /^APP\s+KIND\s+NAME\s+PHASE\s+AGE\s+SWARM NAME\s+REVISION\s+DRIFT\s+REASON$/);
    assert.match(
      lines[2],
      /bench\s+Service\s+bench\/svc-0001\s+Failed\s+\S+\s+bench_svc-0001\s+aaaaaaaaaaaa\s+repaired 90s ago\s+update failed: image not found$/,
    );
    const json = JSON.parse(renderGet('objects', stored(3), { format: 'json', now, paint: paint(false) })) as {
      kind: string;
      items: { app: string; id: string }[];
    };
    assert.equal(json.kind, 'List');
    assert.deepEqual(
      json.items.map((i) => i.id),
      ['Service/bench/svc-0000', 'Service/bench/svc-0001', 'Service/bench/svc-0002'],
    );
    assert.equal(json.items[0].app, 'bench');
  });
});

describe('routes as the proxies see them', () => {
  const doc = fixtureState({ objects: 3 }).routes!.document;
  const e = encodeStatus(doc);
  const routes = latestStatuses(
    [
      {
        ID: 'r',
        Version: { Index: 1 },
        Spec: { Name: 'swarm-controller-routes.x.1', Labels: e.labels, Data: e.data.toString('base64') },
      },
    ],
    Date.parse(doc.writtenAt),
  ).statuses;

  it("get routes -o wide: each server's health, merged and per replica, and each replica's table and read", () => {
    const out = renderGet('routes', routes, { format: 'wide', now: Date.parse(doc.writtenAt), paint: paint(false) });
    const lines = out.split('\n');
    assert.match(
      lines[0],
      /^NAME\s+HOSTS\s+PATH\s+STATE\s+BACKENDS\s+SERVERS\s+HEALTH \(PROXIES\)\s+PROXY\s+ADDRESSES$/,
    );
    const route0 = lines.find((l) => l.startsWith('shop/route-0'))!;
    assert.match(route0, /\s2 up, 1 down, 1 mixed\s/);
    assert.match(route0, /10\.213\.5\.12:8080 down \(m2p7z8 DOWN w1, q3k9x1 DOWN w1, v8r4c6 \?\)/);
    assert.match(out, /proxy swarm-controller_proxy: generation 118, 2\/3 replica\(s\) hold the current table/);
    assert.match(
      out,
      / {2}v8r4c6 10\.213\.5\.5: generation 117, behind; push: no answer within 5000 ms; view of the servers: no answer within 5000 ms/,
    );
    // without -o wide: no health column
    assert.doesNotMatch(renderGet('routes', routes, { format: 'text', now: 0, paint: paint(false) }), /HEALTH|down/);
  });

  it('describe route: the backends with each server as each replica sees it, then the replicas', () => {
    const out = renderDescribe(
      {
        kind: 'Route',
        name: 'shop/route-0',
        swarmName: 'shop_route-0',
        spec: 'x\n',
        tasks: [],
        events: [],
        route: { proxy: doc.proxyService, generation: doc.generation, served: doc.served[0], replicas: doc.replicas },
      },
      { now: 0, paint: paint(false) },
    );
    assert.match(out, /Served by swarm-controller_proxy \(table generation 118; health as the proxies see it\):/);
    assert.match(
      out,
      /shop_web\s+90\s+10\.213\.5\.12:8080\s+t102\s+down\s+m2p7z8=DOWN\/w1 q3k9x1=DOWN\/w1 v8r4c6=unknown/,
    );
    assert.match(out, /shop_web-canary\s+10\s+10\.213\.5\.20:8080\s+t200\s+mixed\s+m2p7z8=DOWN\/w1 q3k9x1=UP\/w1/);
    assert.match(
      out,
      /v8r4c6\s+10\.213\.5\.5\s+117\s+behind\s+no answer within 5000 ms; view of the servers: no answer/,
    );
  });
});

describe('colour', () => {
  it('follows --no-color, then FORCE_COLOR, then NO_COLOR, then the terminal', () => {
    assert.equal(useColour(true, false, {}), true);
    assert.equal(useColour(false, false, {}), false);
    assert.equal(useColour(true, false, { NO_COLOR: '1' }), false);
    assert.equal(useColour(false, false, { FORCE_COLOR: '1' }), true);
    assert.equal(useColour(false, false, { FORCE_COLOR: '0' }), false);
    assert.equal(useColour(true, true, { FORCE_COLOR: '1' }), false);
    assert.equal(useColour(true, false, { NO_COLOR: '' }), true, 'an empty NO_COLOR is not set');
  });
});

describe('unified diff', () => {
  it('prints hunks with three lines of context, as diff -u does', () => {
    const a = 'abcdefghijklmnop'.split('').join('\n') + '\n';
    const b = 'abcdEfghijklmnopq'.split('').join('\n') + '\n';
    assert.equal(
      unifiedDiff(a, b, { before: 'x', after: 'y' }),
      '--- x\n+++ y\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n@@ -14,3 +14,4 @@\n n\n o\n p\n+q\n',
    );
    const merged = unifiedDiff('a\nb\nc\nd\ne\nf\ng\nh\n', 'A\nb\nc\nd\ne\nf\ng\nH\n', { before: 'x', after: 'y' });
    assert.equal(merged.match(/^@@/gm)?.length, 1, 'changes six lines apart share a hunk, as diff -u does');
    assert.equal(unifiedDiff(a, a, { before: 'x', after: 'y' }), '');
    assert.equal(unifiedDiff('', 'a\n', { before: 'x', after: 'y' }), '--- x\n+++ y\n@@ -0,0 +1,1 @@\n+a\n');
  });

  it('shows a changed field of the manifest view and a changed secret only as masked', () => {
    const model = (level: string, pw: string) => ({
      labels: {},
      image: 'web:1',
      env: { DB_PASSWORD: pw, LOG_LEVEL: level },
      replicas: 2,
      unmanaged: {},
    });
    const change = {
      id: 'Service/shop/web',
      kind: 'Service',
      namespace: 'shop',
      name: 'web',
      swarmName: 'shop_web',
      action: 'update',
      reason: 'env changed',
      restartsTasks: true,
      fields: [
        { path: 'spec.env.DB_PASSWORD', before: '(sensitive)', after: '(sensitive)', sensitive: true },
        { path: 'spec.env.LOG_LEVEL', before: 'info', after: 'debug' },
      ],
      before: model('info', '(sensitive)'),
      after: model('debug', '(sensitive)'),
      dependsOn: [],
    } as unknown as Change;
    const text = changeDiff(change, paint(false));
    assert.match(text, /^--- live\/Service\/shop\/web\n\+\+\+ manifest\/Service\/shop\/web\n/);
    assert.match(text, /^- {4}DB_PASSWORD: \(sensitive\)$/m);
    assert.match(text, /^\+ {4}DB_PASSWORD: \(sensitive, changed\)$/m);
    assert.match(text, /^- {4}LOG_LEVEL: info$/m);
    assert.match(text, /^\+ {4}LOG_LEVEL: debug$/m);
    assert.match(text, /^ {3}namespace: shop$/m);
  });
});

describe('completion', () => {
  it('bash: every command, every flag of get, and get -o offers wide and yaml where plan -o does not', () => {
    const s = completionScript('bash');
    for (const c of commandNames) assert.match(s, new RegExp(`^    ${c}\\)$`, 'm'), c);
    assert.match(s, /complete -o default -F _controller controller/);
    assert.deepEqual(flagChoices('get', 'output'), ['text', 'wide', 'json', 'yaml']);
    assert.deepEqual(flagChoices('plan', 'output'), ['text', 'json']);
    const get = s.slice(s.indexOf('    get)'), s.indexOf('    describe)'));
    for (const f of flagsOf('get')) assert.ok(get.includes(`--${f}`), f);
    assert.match(get, /--output\|-o\) COMPREPLY=\(\$\(compgen -W "text wide json yaml"/);
    assert.match(get, /compgen -W "apps objects routes"/);
  });

  it('zsh and fish: commands with their summaries, flags with values and file arguments', () => {
    const z = completionScript('zsh');
    assert.match(z, /^#compdef controller$/m);
    assert.match(z, /'get:list apps, objects or routes from the status in the Swarm'/);
    assert.match(z, /'\*'\{--filename,-f\}'\[[^\]]+\]:PATH:_files'/);
    const f = completionScript('fish');
    assert.match(
      f,
      /^complete -c controller -n '__fish_seen_subcommand_from get' -s o -l output -x -a 'text wide json yaml'/m,
    );
    assert.match(f, /^complete -c controller -n '__fish_seen_subcommand_from diff' -s f -l filename -r -F/m);
  });
});
