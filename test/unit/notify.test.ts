/**
 * Notifications against local servers that record what they got: exact bodies and headers per
 * receiver type, retries with backoff on a fake clock, timeouts, refusals, a full queue, dedup,
 * and a slow receiver that delays neither the caller nor another receiver. No secret in any log.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { FakeClock } from '../../src/queue/clock.js';
import { verifyWebhook } from '../../src/controller/webhook.js';
import { compileNotifications, type NotificationsSpec } from '../../src/notify/config.js';
import { Notifier } from '../../src/notify/notifier.js';
import type { DeliveryResult } from '../../src/notify/delivery.js';
import type { NotificationEvent } from '../../src/notify/events.js';
import { buildPayload, payloadSchema } from '../../src/notify/payload.js';
import { eventually } from '../helpers/eventually.js';
import {
  giteaLike,
  githubLike,
  gitlabLike,
  RecordingServer,
  recordingLogger,
  type Responder,
} from './notify-harness.js';

const commit = '3f2a1c0d9e8b7a6f5e4d3c2b1a09f8e7d6c5b4a3';
const token = 'ghp_s3cr3t-T0ken-value';
const hmacKey = 'hm4c-k3y-value';
const slackPath = '/services/T0001/B0002/XyZsecretPart';
const t0 = Date.parse('2026-03-09T10:00:00Z');

const failed: NotificationEvent = {
  type: 'sync-failed',
  at: t0,
  app: 'prod',
  revision: commit,
  commit,
  commitMessage: 'web: raise replicas to 3',
  summary: 'sync of 3f2a1c0d9e8b failed: 1 object(s) failed',
  objects: [{ id: 'Service/shop/web', reason: 'task failed: "exit code 1" <nonzero>' }],
};

interface Fixture {
  clock: FakeClock;
  dir: string;
  servers: RecordingServer[];
  logs: ReturnType<typeof recordingLogger>;
  outcomes: string[];
  attempts: { receiver: string; ok: boolean; at: number }[];
}

let fx: Fixture;

beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), 'sc-notify-'));
  writeFileSync(join(dir, 'token'), `${token}\n`);
  writeFileSync(join(dir, 'hmac'), hmacKey);
  fx = { clock: new FakeClock(t0), dir, servers: [], logs: recordingLogger(), outcomes: [], attempts: [] };
});

afterEach(async () => {
  for (const s of fx.servers) await s.close();
  // No test may leak a secret into a log line, whatever it did.
  const text = fx.logs.text();
  for (const secret of [token, hmacKey, slackPath, 'XyZsecretPart'])
    assert.ok(!text.includes(secret), `a log line holds ${secret}`);
  rmSync(fx.dir, { recursive: true, force: true });
});

async function server(responder: Responder): Promise<RecordingServer> {
  const s = new RecordingServer(fx.clock, responder);
  await s.start();
  fx.servers.push(s);
  return s;
}

function notifier(spec: NotificationsSpec): Notifier {
  const { config, problems } = compileNotifications(spec);
  assert.deepEqual(problems, []);
  assert.ok(config);
  return new Notifier(config, {
    clock: fx.clock,
    log: fx.logs.log,
    sender: { controller: 'vm-1', source: 'https://git.example.com/ops/swarm.git#main:prod' },
    random: () => 0.5, // jitter factor exactly 1: delays 1 s, 2 s, 4 s ...
    metrics: {
      notification: (r: string, e: string, result: DeliveryResult) => fx.outcomes.push(`${r} ${e} ${result}`),
      attempt: (r, ok) => fx.attempts.push({ receiver: r, ok, at: fx.clock.now() }),
      suppressed: (e) => fx.outcomes.push(`suppressed ${e}`),
    },
  });
}

/**
 * Waits for what the receivers recorded, in real time (the HTTP round trips are real); the fake
 * clock stands still meanwhile, so no retry falls due while waiting.
 */
const until = (cond: () => boolean, what: string) => eventually(cond, 10_000, what, { intervalMs: 1 });

const ok201: Responder = () => ({ status: 201, body: '{}' });

describe('the JSON webhook receiver', () => {
  it('POSTs the versioned body, signed with HMAC-SHA256 the way /hooks/sync verifies', async () => {
    const s = await server(() => ({ status: 204 }));
    const n = notifier({
      receivers: [{ name: 'hook', type: 'webhook', url: `${s.url}/notify`, secretFile: join(fx.dir, 'hmac') }],
    });
    n.notify(failed);
    const req = await s.request(1);
    await n.idle();
    const body = JSON.parse(req.body);
    assert.deepEqual(body, {
      apiVersion: 'swarm.controller/v1',
      kind: 'Notification',
      id: body.id,
      event: 'sync-failed',
      severity: 'error',
      occurredAt: '2026-03-09T10:00:00.000Z',
      app: 'prod',
      controller: 'vm-1',
      source: 'https://git.example.com/ops/swarm.git#main:prod',
      revision: commit,
      commit,
      commitMessage: 'web: raise replicas to 3',
      summary: 'sync of 3f2a1c0d9e8b failed: 1 object(s) failed',
      objects: [{ id: 'Service/shop/web', reason: 'task failed: "exit code 1" <nonzero>' }],
      omittedObjects: 0,
      problems: [],
      omittedProblems: 0,
    });
    assert.match(body.id, /^[0-9a-f]{32}$/);
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/notify');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers['user-agent'], 'swarm-controller');
    assert.equal(req.headers['x-swarm-controller-event'], 'sync-failed');
    assert.equal(req.headers['x-swarm-controller-delivery'], body.id);
    assert.deepEqual(verifyWebhook(req.headers, Buffer.from(req.body), hmacKey), { ok: true, kind: 'github' });
    assert.equal(verifyWebhook(req.headers, Buffer.from(req.body), 'another key').ok, false);
    assert.deepEqual(fx.outcomes, ['hook sync-failed delivered']);
  });

  it('builds bodies the published schema accepts, with lists capped at 50', () => {
    const validate = new Ajv({ strict: true }).compile(payloadSchema);
    const many = {
      ...failed,
      objects: Array.from({ length: 60 }, (_, i) => ({ id: `Service/shop/s${i}`, reason: 'x' })),
    };
    const p = buildPayload({ event: many, sender: { controller: 'vm-1' }, repeats: { count: 3, since: t0 } });
    assert.ok(validate(p), JSON.stringify(validate.errors));
    assert.equal(p.objects.length, 50);
    assert.equal(p.omittedObjects, 10);
    assert.deepEqual(p.repeats, { count: 3, since: '2026-03-09T10:00:00.000Z' });
    assert.equal(
      buildPayload({ event: many, sender: { controller: 'vm-1' } }).id,
      buildPayload({ event: many, sender: { controller: 'vm-1' } }).id,
    );
  });
});

describe('the Slack-compatible receiver', () => {
  it('POSTs text plus one attachment to the URL read from its file, escaping &, < and >', async () => {
    const s = await server((req) =>
      req.path === slackPath ? { status: 200, body: 'ok' } : { status: 404, body: 'no_team' },
    );
    writeFileSync(join(fx.dir, 'slack-url'), `${s.url}${slackPath}\n`);
    const n = notifier({ receivers: [{ name: 'chat', type: 'slack', urlFile: join(fx.dir, 'slack-url') }] });
    n.notify(failed);
    const req = await s.request(1);
    await n.idle();
    assert.equal(req.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(req.body), {
      text: '[prod] Sync failed: sync of 3f2a1c0d9e8b failed: 1 object(s) failed',
      attachments: [
        {
          fallback: '[prod] Sync failed: sync of 3f2a1c0d9e8b failed: 1 object(s) failed',
          color: '#a30200',
          title: 'Sync failed: prod',
          text: 'sync of 3f2a1c0d9e8b failed: 1 object(s) failed\n• Service/shop/web: task failed: "exit code 1" &lt;nonzero&gt;',
          fields: [
            { title: 'App', value: 'prod', short: true },
            { title: 'Revision', value: '3f2a1c0d9e8b', short: true },
            { title: 'Commit', value: 'web: raise replicas to 3', short: false },
            { title: 'Source', value: 'https://git.example.com/ops/swarm.git#main:prod', short: false },
            { title: 'Controller', value: 'vm-1', short: true },
          ],
          footer: 'swarm-controller',
          ts: t0 / 1000,
        },
      ],
    });
    assert.deepEqual(fx.outcomes, ['chat sync-failed delivered']);
  });
});

describe('commit statuses', () => {
  it('GitHub: POST /repos/{owner}/{repo}/statuses/{sha} with a Bearer token, the API version and a 140-character description', async () => {
    const s = await server(githubLike(token, 'acme/swarm-config'));
    const n = notifier({
      receivers: [
        {
          name: 'gh',
          type: 'github',
          apiUrl: s.url,
          repository: 'acme/swarm-config',
          tokenFile: join(fx.dir, 'token'),
          targetUrl: 'https://controller.acme.example/status?app={app}&commit={commit}',
        },
      ],
    });
    n.notify({ ...failed, type: 'sync-started', summary: 'applying 3f2a1c0d9e8b' });
    n.notify({ ...failed, summary: 'x'.repeat(200) });
    const started = await s.request(1);
    const done = await s.request(2);
    await n.idle();
    assert.equal(started.path, `/repos/acme/swarm-config/statuses/${commit}`);
    assert.equal(started.headers.authorization, `Bearer ${token}`);
    assert.equal(started.headers.accept, 'application/vnd.github+json');
    assert.equal(started.headers['x-github-api-version'], '2022-11-28');
    assert.equal(started.headers['user-agent'], 'swarm-controller');
    const target = `https://controller.acme.example/status?app=prod&commit=${commit}`;
    assert.deepEqual(JSON.parse(started.body), {
      state: 'pending',
      target_url: target,
      description: 'applying 3f2a1c0d9e8b',
      context: 'swarm-controller/prod',
    });
    assert.deepEqual(JSON.parse(done.body), {
      state: 'failure',
      target_url: target,
      description: `${'x'.repeat(139)}…`,
      context: 'swarm-controller/prod',
    });
    assert.deepEqual(fx.outcomes, ['gh sync-started delivered', 'gh sync-failed delivered']);
  });

  it('Gitea: POST /api/v1/repos/{owner}/{repo}/statuses/{sha} with `Authorization: token`', async () => {
    const s = await server(giteaLike(token, 'acme/swarm-config'));
    const n = notifier({
      receivers: [
        {
          name: 'gt',
          type: 'gitea',
          apiUrl: `${s.url}/api/v1/`,
          repository: 'acme/swarm-config',
          tokenFile: join(fx.dir, 'token'),
          context: 'deploy/{app}',
        },
      ],
    });
    n.notify({ ...failed, type: 'sync-succeeded', summary: 'in sync at 3f2a1c0d9e8b' });
    const req = await s.request(1);
    await n.idle();
    assert.equal(req.path, `/api/v1/repos/acme/swarm-config/statuses/${commit}`);
    assert.equal(req.headers.authorization, `token ${token}`);
    assert.deepEqual(JSON.parse(req.body), {
      state: 'success',
      description: 'in sync at 3f2a1c0d9e8b',
      context: 'deploy/prod',
    });
    assert.deepEqual(fx.outcomes, ['gt sync-succeeded delivered']);
  });

  it('GitLab: POST /projects/{encoded path}/statuses/{sha} with PRIVATE-TOKEN; "running" twice is already done, not retried', async () => {
    const s = await server(gitlabLike(token, 'acme/ops/swarm-config'));
    const n = notifier({
      receivers: [
        {
          name: 'gl',
          type: 'gitlab',
          apiUrl: `${s.url}/api/v4`,
          repository: 'acme/ops/swarm-config',
          tokenFile: join(fx.dir, 'token'),
        },
      ],
      repeatInterval: '1ms',
    });
    const started: NotificationEvent = { ...failed, type: 'sync-started', summary: 'applying' };
    n.notify(started);
    await s.request(1);
    n.notify({ ...started, at: t0 + 10 });
    n.notify({ ...failed, type: 'sync-succeeded', at: t0 + 10, summary: 'in sync' });
    await s.request(3);
    await n.idle();
    const [a, b, c] = s.requests;
    assert.equal(a.path, `/api/v4/projects/acme%2Fops%2Fswarm-config/statuses/${commit}`);
    assert.equal(a.headers['private-token'], token);
    assert.deepEqual(JSON.parse(a.body), { state: 'running', name: 'swarm-controller/prod', description: 'applying' });
    assert.equal(JSON.parse(b.body).state, 'running');
    assert.equal(JSON.parse(c.body).state, 'success');
    assert.equal(s.requests.length, 3, 'the 400 for running -> running is not retried');
    assert.deepEqual(fx.outcomes, [
      'gl sync-started delivered',
      'gl sync-started delivered',
      'gl sync-succeeded delivered',
    ]);
  });

  it('sets no status without a commit (a directory source) and none for drift', async () => {
    const s = await server(ok201);
    const n = notifier({
      receivers: [
        {
          name: 'gh',
          type: 'github',
          apiUrl: s.url,
          repository: 'a/b',
          tokenFile: join(fx.dir, 'token'),
          events: ['sync-failed', 'drift'],
        },
      ],
    });
    n.notify({ ...failed, commit: undefined, revision: 'c0ffee'.repeat(10) + 'abcd' });
    n.notify({ ...failed, type: 'drift', objects: [{ id: 'Service/shop/web', reason: 'drifted (spec.env.A)' }] });
    await n.idle();
    assert.equal(s.requests.length, 0);
    assert.deepEqual(fx.outcomes, []);
  });
});

describe('retries', () => {
  it('retries 500s with exponential backoff on the injected clock, then delivers', async () => {
    const s = await server((_req, i) => (i < 3 ? { status: 500, body: 'oops' } : { status: 204 }));
    const n = notifier({ receivers: [{ name: 'hook', type: 'webhook', url: s.url }] });
    n.notify(failed);
    await s.request(1);
    await until(() => fx.attempts.length === 1, 'the first attempt');
    await fx.clock.advance(999);
    assert.equal(s.requests.length, 1, 'not before the backoff of 1 s');
    await fx.clock.advance(1);
    await s.request(2);
    await until(() => fx.attempts.length === 2, 'the second attempt');
    await fx.clock.advance(2000);
    await s.request(3);
    await n.idle();
    assert.deepEqual(
      s.requests.map((r) => r.at - t0),
      [0, 1000, 3000],
    );
    assert.deepEqual(fx.outcomes, ['hook sync-failed delivered']);
    assert.deepEqual(
      new Set(s.requests.map((r) => r.headers['x-swarm-controller-delivery'])).size,
      1,
      'one delivery id for all attempts',
    );
  });

  it('waits as long as a 429 Retry-After says', async () => {
    const s = await server((_r, i) =>
      i === 1 ? { status: 429, body: 'rate_limited', headers: { 'Retry-After': '30' } } : { status: 200, body: 'ok' },
    );
    const n = notifier({ receivers: [{ name: 'hook', type: 'webhook', url: s.url }] });
    n.notify(failed);
    await s.request(1);
    await until(() => fx.attempts.length === 1, 'the first attempt');
    await fx.clock.advance(29_999);
    assert.equal(s.requests.length, 1);
    await fx.clock.advance(1);
    await s.request(2);
    await n.idle();
    assert.equal(s.requests[1].at - t0, 30_000);
  });

  it('abandons an attempt at its timeout and gives up after maxAttempts, with a log line and a metric', async () => {
    const s = await server(() => 'hang');
    const n = notifier({
      receivers: [{ name: 'slow', type: 'webhook', url: `${s.url}/x`, timeout: '5s', maxAttempts: 3 }],
    });
    n.notify(failed);
    for (let i = 1; i <= 3; i++) {
      await s.request(i);
      await fx.clock.advance(5000); // the timeout
      await until(() => fx.attempts.length === i, `attempt ${i} to end`);
      if (i < 3) await fx.clock.advance(1000 * 2 ** (i - 1)); // the backoff
    }
    await n.idle();
    assert.deepEqual(
      s.requests.map((r) => r.at - t0),
      [0, 6000, 13000],
    );
    assert.deepEqual(fx.outcomes, ['slow sync-failed gave-up']);
    const line = fx.logs.records.find((r) => r.msg.startsWith('notification given up'));
    assert.ok(line);
    assert.equal(line.msg, 'notification given up: 3 attempt(s) failed');
    assert.equal(line.level, 40);
    assert.equal(line.receiver, 'slow');
    assert.equal(line.event, 'sync-failed');
    assert.equal(line.attempts, 3);
    assert.equal(line.error, 'no answer within 5000 ms');
    assert.equal(line.target, s.url);
  });

  it('gives up when the next attempt would start past maxRetryTime', async () => {
    const s = await server(() => ({ status: 503, body: '' }));
    const n = notifier({
      receivers: [{ name: 'hook', type: 'webhook', url: s.url, maxAttempts: 10, maxRetryTime: '2500ms' }],
    });
    n.notify(failed);
    await s.request(1);
    await until(() => fx.attempts.length === 1, 'attempt 1');
    await fx.clock.advance(1000);
    await s.request(2);
    await n.idle(); // attempt 3 would start at 3 s > 2.5 s
    assert.equal(s.requests.length, 2);
    assert.deepEqual(fx.outcomes, ['hook sync-failed gave-up']);
    assert.match(
      fx.logs.records.find((r) => r.msg.startsWith('notification given up'))?.msg ?? '',
      /the next attempt would start past maxRetryTime \(2500 ms\)/,
    );
  });

  it('does not retry a refusal (401), and scrubs a token the receiver echoes back', async () => {
    const s = await server(() => ({ status: 401, body: `{"message":"Bad credentials: ${token}"}` }));
    const n = notifier({
      receivers: [{ name: 'gh', type: 'github', apiUrl: s.url, repository: 'a/b', tokenFile: join(fx.dir, 'token') }],
    });
    n.notify(failed);
    await s.request(1);
    await n.idle();
    assert.equal(s.requests.length, 1);
    assert.deepEqual(fx.outcomes, ['gh sync-failed rejected']);
    const line = fx.logs.records.find((r) => r.msg === 'notification refused by the receiver; not retried');
    assert.equal(line?.status, 401);
    assert.equal(line?.error, 'HTTP 401: {"message":"Bad credentials: (redacted)"}');
  });

  it('reports a token file it cannot read by its path, and sends nothing', async () => {
    const s = await server(ok201);
    const n = notifier({
      receivers: [{ name: 'gh', type: 'github', apiUrl: s.url, repository: 'a/b', tokenFile: join(fx.dir, 'missing') }],
    });
    n.notify(failed);
    await n.idle();
    assert.equal(s.requests.length, 0);
    assert.deepEqual(fx.outcomes, ['gh sync-failed rejected']);
    assert.equal(
      fx.logs.records.find((r) => r.msg === 'notification not sent')?.error,
      `cannot read ${join(fx.dir, 'missing')}: ENOENT`,
    );
  });
});

describe('the caller is never held up', () => {
  it('notify returns at once while a receiver hangs, and another receiver gets its message meanwhile', async () => {
    const slow = await server(() => 'hang');
    const fast = await server(() => ({ status: 204 }));
    const n = notifier({
      receivers: [
        { name: 'slow', type: 'webhook', url: slow.url },
        { name: 'fast', type: 'webhook', url: fast.url },
      ],
    });
    const returned = n.notify(failed) as unknown;
    assert.equal(returned, undefined, 'notify returns nothing to await');
    assert.equal(fx.clock.now(), t0);
    await slow.request(1);
    await fast.request(1);
    await until(() => fx.outcomes.includes('fast sync-failed delivered'), 'the fast receiver');
    assert.equal(fx.clock.now(), t0, 'no fake time passed: nothing waited for the slow receiver');
    assert.deepEqual(n.backlog(), { slow: 1, fast: 0 });
    await n.stop();
  });

  it("drops the oldest waiting message when a receiver's queue is full, and counts it", async () => {
    let hang = true;
    const s = await server(() => (hang ? 'hang' : { status: 204 }));
    const n = notifier({
      receivers: [{ name: 'hook', type: 'webhook', url: s.url, timeout: '1s', maxAttempts: 1 }],
      queueSize: 2,
    });
    const e = (i: number): NotificationEvent => ({ ...failed, revision: `r${i}`, summary: `sync ${i} failed` });
    n.notify(e(1));
    await s.request(1); // e1 in flight
    n.notify(e(2));
    n.notify(e(3));
    n.notify(e(4)); // full: e2 goes
    assert.deepEqual(fx.outcomes, ['hook sync-failed dropped']);
    hang = false;
    await fx.clock.advance(1000); // e1 times out and is given up (maxAttempts 1)
    await s.request(3);
    await n.idle();
    assert.deepEqual(
      s.requests.map((r) => JSON.parse(r.body).summary),
      ['sync 1 failed', 'sync 3 failed', 'sync 4 failed'],
    );
    assert.equal(fx.logs.records.find((r) => r.msg.startsWith('notification queue full'))?.queueSize, 2);
  });
});

describe('deduplication', () => {
  it('sends the same drift once per repeat interval, however often a resync sees it, and counts the repeats', async () => {
    const s = await server(() => ({ status: 204 }));
    const n = notifier({ receivers: [{ name: 'hook', type: 'webhook', url: s.url }], repeatInterval: '1h' });
    const drift = (at: number): NotificationEvent => ({
      type: 'drift',
      at,
      app: 'prod',
      summary: 'Service/shop/web drifted',
      driftMode: 'repaired',
      objects: [{ id: 'Service/shop/web', reason: 'drifted from the manifests (spec.env.LOG_LEVEL); repaired' }],
    });
    for (let i = 0; i <= 120; i++) n.notify(drift(t0 + i * 30_000)); // every 30 s for an hour
    n.notify({
      ...drift(t0 + 60_000),
      objects: [{ id: 'Service/shop/web', reason: 'drifted from the manifests (spec.replicas)' }],
    });
    await s.request(3);
    await n.idle();
    const bodies = s.requests.map((r) => JSON.parse(r.body));
    assert.deepEqual(
      bodies.map((b) => [b.occurredAt, b.objects[0].reason, b.repeats]),
      [
        ['2026-03-09T10:00:00.000Z', 'drifted from the manifests (spec.env.LOG_LEVEL); repaired', undefined],
        [
          '2026-03-09T11:00:00.000Z',
          'drifted from the manifests (spec.env.LOG_LEVEL); repaired',
          { count: 119, since: '2026-03-09T10:00:30.000Z' },
        ],
        ['2026-03-09T10:01:00.000Z', 'drifted from the manifests (spec.replicas)', undefined],
      ],
    );
    assert.equal(fx.outcomes.filter((o) => o === 'suppressed drift').length, 119);
  });

  it('sends fail, success, fail again: a success forgets the failure', async () => {
    const s = await server(() => ({ status: 204 }));
    const n = notifier({
      receivers: [{ name: 'hook', type: 'webhook', url: s.url, events: ['sync-failed', 'sync-succeeded'] }],
    });
    n.notify(failed);
    n.notify({ ...failed, at: t0 + 1 });
    n.notify({ ...failed, type: 'sync-succeeded', at: t0 + 2, summary: 'in sync' });
    n.notify({ ...failed, at: t0 + 3 });
    await s.request(3);
    await n.idle();
    assert.deepEqual(
      s.requests.map((r) => JSON.parse(r.body).event),
      ['sync-failed', 'sync-succeeded', 'sync-failed'],
    );
  });
});
