import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commandNames, flagsOf } from '../../src/cli/command-table.js';
import { paint, useColour } from '../../src/cli/colour.js';
import { completionScript, flagChoices } from '../../src/cli/completion.js';
import { changeDiff } from '../../src/cli/diff-command.js';
import { renderDescribe } from '../../src/cli/describe-view.js';
import { renderGet } from '../../src/cli/get-view.js';
import { rolloutCell, rolloutOfRoute } from '../../src/cli/rollout-view.js';
import { renderTable } from '../../src/cli/table.js';
import { bucketIndex, latencyBoundsMs } from '../../src/proxy/latency-histogram.js';
import { defaultThresholds } from '../../src/rollout/analysis.js';
import type { RolloutState, StoredRollout } from '../../src/rollout/rollout-record.js';
import { emptyWindow, storeWindow } from '../../src/rollout/traffic-window.js';
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

describe('rollouts in get routes and describe', () => {
  const doc = fixtureState({ objects: 3 }).routes!.document;
  const e = encodeStatus(doc);
  const at = Date.parse(doc.writtenAt);
  const routes = latestStatuses(
    [
      {
        ID: 'r',
        Version: { Index: 1 },
        Spec: { Name: 'swarm-controller-routes.x.1', Labels: e.labels, Data: e.data.toString('base64') },
      },
    ],
    at,
  ).statuses;
  const baselineWindow = emptyWindow(latencyBoundsMs);
  baselineWindow.requests = 600;
  baselineWindow.latency.counts[bucketIndex(100)] = 600;
  const state: RolloutState = {
    service: 'shop_web',
    canary: 'shop_web-canary',
    route: 'shop/route-0',
    applySet: 'shop',
    key: 'Service/shop/web',
    strategy: 'canary',
    phase: 'progressing',
    step: 1,
    steps: [
      { weight: 5, holdMs: 120_000 },
      { weight: 25, holdMs: 120_000 },
      { weight: 50, holdMs: 120_000 },
      { weight: 100, holdMs: 120_000 },
    ],
    canaryWeight: 25,
    targetHash: 'h2',
    revision: '3f9a1c2d4e5b6a7b',
    startedAt: at - 180_000,
    stepStartedAt: at - 40_000,
    updatedAt: at - 2_000,
    reason: 'step 2/4 (25%): inconclusive so far (612 canary requests); held 40s of 120s',
    writer: 'ctl-a1b2c3-1',
    thresholds: defaultThresholds,
    intervalMs: 10_000,
    maxExtensionMs: 300_000,
    startTimeoutMs: 300_000,
    canaryReplicas: 1,
    baseline: {
      takenAt: at - 175_000,
      windowMs: 12_000,
      window: storeWindow(baselineWindow),
      p50Ms: 100,
      p99Ms: 104,
    },
    judgement: {
      at: at - 2_000,
      step: 2,
      verdict: 'inconclusive',
      canary: { requests: 612, errors: 0, errorRate: 0, redispatched: 0, p50Ms: 262, p99Ms: 300 },
      stable: { requests: 1836, errors: 1, errorRate: 1 / 1836, redispatched: 0, p50Ms: 250, p99Ms: 290 },
      checks: [
        { name: 'error-rate', verdict: 'pass', observed: 0, limit: 0.01 },
        { name: 'error-rate-ratio', verdict: 'pass', observed: 0, limit: 2 },
        {
          name: 'latency-p50',
          verdict: 'inconclusive',
          observed: 262,
          limit: 300,
          baselineMs: 100,
          stableMs: 250,
          sharedDelayMs: 150,
          stableDrift: 2.5,
          heldForDrift: true,
        },
      ],
    },
  };
  const record = (s: RolloutState, request: '' | 'promote' | 'abort' = ''): StoredRollout => ({
    state: s,
    request,
    config: { ID: 'c', Version: { Index: 1 }, Spec: { Name: `sc-rollout.${s.service}` } },
  });

  it('get routes has a ROLLOUT column: the step and weight of an active rollout, the end of a past one, — without', () => {
    const out = renderGet('routes', routes, {
      format: 'text',
      now: at,
      paint: paint(false),
      rollouts: [record(state)],
    });
    const lines = out.split('\n');
    assert.match(lines[0], /^NAME\s+HOSTS\s+PATH\s+STATE\s+BACKENDS\s+SERVERS\s+ROLLOUT$/);
    assert.match(
      lines.find((l) => l.startsWith('shop/route-0 '))!,
      /\scanary 25% step 2\/4$/,
    );
    assert.match(
      lines.find((l) => l.startsWith('shop/route-1 '))!,
      /\s—$/,
    );
    const ended = record({ ...state, phase: 'rolled-back', canaryWeight: 0, updatedAt: at - 300_000 });
    assert.equal(rolloutCell(ended, at), 'rolled back at step 2/4 5m ago');
    assert.equal(rolloutCell(record({ ...state, phase: 'succeeded', updatedAt: at - 60_000 }), at), 'promoted 60s ago');
    assert.equal(
      rolloutCell(record({ ...state, step: 0, canaryWeight: 0, baseline: undefined }), at),
      'canary starting, baseline',
    );
    assert.equal(rolloutCell(record(state, 'abort'), at), 'canary 25% step 2/4 (abort asked)');
    // the active rollout is shown before a newer ended one of the same route
    assert.equal(
      rolloutOfRoute([ended, record({ ...state, service: 'x', updatedAt: at - 900_000 })], 'shop/route-0')?.state
        .service,
      'x',
    );
    const json = JSON.parse(
      renderGet('routes', routes, { format: 'json', now: at, paint: paint(false), rollouts: [record(state)] }),
    ) as { items: { route: string; rollout?: { phase: string; step: number; weight: number } }[] };
    assert.deepEqual(json.items.find((i) => i.route === 'shop/route-0')?.rollout, {
      service: 'shop_web',
      canary: 'shop_web-canary',
      phase: 'progressing',
      step: 2,
      steps: 4,
      weight: 25,
      summary: 'canary 25% step 2/4',
    });
    // rollouts not read (an engine that cannot list them): no column
    assert.doesNotMatch(renderGet('routes', routes, { format: 'text', now: at, paint: paint(false) }), /ROLLOUT/);
  });

  it('describe service: phase, step, weights, baseline, the last judgement with every check and the stable drift', () => {
    const out = renderDescribe(
      {
        kind: 'Service',
        name: 'shop/web',
        swarmName: 'shop_web',
        spec: 'x\n',
        tasks: [],
        events: [],
        rollout: record(state),
      },
      { now: at, paint: paint(false) },
    );
    assert.match(out, /Rollout \(record sc-rollout\.shop_web\):\n {2}Phase:\s+progressing\n/);
    assert.match(out, /Strategy:\s+canary, steps 5%\/120s 25%\/120s 50%\/120s 100%\/120s/);
    assert.match(out, /Step:\s+2\/4, started 40s ago/);
    assert.match(out, /Weights:\s+shop_web 75%, shop_web-canary 25%/);
    assert.match(out, /Baseline:\s+p50 100 ms, p99 104 ms over 600 stable requests in 12s before the first step/);
    assert.match(out, /Judgement:\s+inconclusive at step 2\/4, 2s ago/);
    assert.match(out, /canary:\s+612 requests, 0 errors \(0\.00%\), p50 262 ms, p99 300 ms/);
    assert.match(
      out,
      /drift:\s+stable p50 2\.50x its baseline \(100 ms\), shared delay 150 ms removed, held: the machine is slow/,
    );
    assert.match(out, /CHECK\s+VERDICT\s+CANARY\s+LIMIT\s+BASELINE\n/);
    assert.match(out, /error-rate\s+pass\s+0\.00%\s+1\.00%\s+-\n/);
    assert.match(out, /latency-p50\s+inconclusive\s+262 ms\s+300 ms\s+100 ms\n/);
    // a route read with no rollout says so; a service not read leaves the section out
    const none = renderDescribe(
      {
        kind: 'Route',
        name: 'shop/route-1',
        swarmName: 'shop_route-1',
        spec: 'x\n',
        tasks: [],
        events: [],
        rollout: null,
      },
      { now: at, paint: paint(false) },
    );
    assert.match(none, /Rollout:\n {2}<none>/);
    const unread = renderDescribe(
      { kind: 'Service', name: 'shop/api', swarmName: 'shop_api', spec: 'x\n', tasks: [], events: [] },
      { now: at, paint: paint(false) },
    );
    assert.doesNotMatch(unread, /Rollout/);
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
