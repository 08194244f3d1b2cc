import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { parseCli, defaultApplySet } from '../../src/cli/args.js';
import { negotiateApiVersion, dockerOptionsFor, classifyEngineError } from '../../src/swarm/engine-client.js';
import { TerminalError, TransientError } from '../../src/errors.js';
import { jsonProgress } from '../../src/cli/progress.js';
import { createLogger } from '../../src/log.js';
import { main } from '../../src/cli/main.js';
import type { Change } from '../../src/plan/plan.js';

describe('command line', () => {
  it('defaults the apply set to the manifest directory name', () => {
    assert.equal(defaultApplySet(['manifests/examples']), 'examples');
    assert.equal(defaultApplySet(['manifests/examples/web.yaml']), 'examples');
    assert.equal(defaultApplySet(['-']), 'default');
    assert.equal(parseCli(['plan', '-f', 'x', '--set', 'prod'], false).applySet, 'prod');
  });

  it('parses durations and numbers, and refuses bad values with a clear message', () => {
    const o = parseCli(
      ['apply', '-f', 'a', '-f', 'b', '--timeout', '90s', '--concurrency', '2', '--mask-env', 'DSN', '--wait'],
      false,
    );
    assert.deepEqual([o.files, o.timeoutMs, o.concurrency, o.maskEnv, o.wait], [['a', 'b'], 90_000, 2, ['DSN'], true]);
    assert.throws(() => parseCli(['apply', '--timeout', 'soon'], false), /--timeout "soon" is not a duration/);
    assert.throws(
      () => parseCli(['apply', '--concurrency', '0'], false),
      /--concurrency needs a whole number of at least 1/,
    );
    assert.throws(() => parseCli(['apply', '--bogus'], false), TerminalError);
    assert.throws(() => parseCli(['apply', '-o', 'yaml'], false), /--output "yaml" is not one of text, json/);
  });

  it('exits 1 with a message for an unknown command, without touching any engine', async () => {
    let err = '';
    const code = await main(['frobnicate'], {
      out: () => {},
      err: (s) => (err += s),
      connect: async () => {
        throw new Error('must not connect');
      },
    });
    assert.equal(code, 1);
    assert.match(err, /unknown command "frobnicate"/);
  });
});

describe('engine client', () => {
  it('negotiates an API version both sides speak', () => {
    assert.equal(negotiateApiVersion('1.41', '1.12'), '1.41'); // Debian's engine 20.10
    assert.equal(negotiateApiVersion('1.52', '1.44'), '1.47'); // a current engine refusing < 1.44
    assert.throws(() => negotiateApiVersion('1.40', '1.12'), /needs 1\.41 or later/);
  });

  it('honours DOCKER_HOST and --host', () => {
    assert.deepEqual(dockerOptionsFor(undefined, { DOCKER_HOST: 'unix:///run/x.sock' }), { socketPath: '/run/x.sock' });
    assert.deepEqual(dockerOptionsFor('tcp://10.1.2.3:2375', {}), { host: '10.1.2.3', port: 2375, protocol: 'http' });
    assert.deepEqual(dockerOptionsFor(undefined, {}), { socketPath: '/var/run/docker.sock' });
    assert.throws(() => dockerOptionsFor('ftp://x', {}), /cannot use Docker host/);
  });

  it('classifies version conflicts, lost connections and in-use networks as transient, the rest as terminal', () => {
    const e = (statusCode: number | undefined, message: string) =>
      classifyEngineError(Object.assign(new Error(message), { statusCode, json: { message } }), 'POST', '/x');
    assert.ok(e(500, 'rpc error: code = Unknown desc = update out of sequence') instanceof TransientError);
    assert.ok(e(undefined, 'connect ECONNREFUSED') instanceof TransientError);
    assert.ok(
      e(400, 'rpc error: code = FailedPrecondition desc = network abc is in use by service def') instanceof
        TransientError,
    );
    assert.ok(e(503, 'node is not part of a swarm') instanceof TransientError);
    assert.ok(e(400, 'invalid mount config') instanceof TerminalError);
    assert.ok(e(409, 'name conflicts with an existing object') instanceof TerminalError);
  });
});

describe('JSON progress', () => {
  it('logs one pino record per event, parseable, without secret values', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const progress = jsonProgress(createLogger({ destination: sink }));
    const change = { id: 'Service/shop/web', action: 'update' } as Change;
    progress.finished!({ change, status: 'succeeded', detail: 'updated', attempts: 1, durationMs: 12 });
    progress.retrying!(change, 1, new Error('update out of sequence'), 200);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      records.map((r) => [r.event, r.id, r.level]),
      [
        ['action.finished', 'Service/shop/web', 30],
        ['action.retry', 'Service/shop/web', 40],
      ],
    );
    assert.equal(records[0].durationMs, 12);
  });

  it('redacts secret-looking keys', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    });
    createLogger({ destination: sink }).info({ token: 's3cret', request: { password: 'hunter2' } }, 'x');
    assert.doesNotMatch(lines.join(''), /s3cret|hunter2/);
  });
});
