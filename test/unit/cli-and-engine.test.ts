import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { parseCli, defaultApplySet } from '../../src/cli/args.js';
import { TerminalError } from '../../src/errors.js';
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
