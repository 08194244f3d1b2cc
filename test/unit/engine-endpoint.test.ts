import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contextDirName, parseHost, resolveEndpoint } from '../../src/swarm/endpoint.js';
import { negotiateApiVersion } from '../../src/swarm/engine-client.js';
import { classifyEngineError } from '../../src/swarm/engine-errors.js';
import {
  AlreadyExistsError,
  ConflictError,
  InUseError,
  NotFoundError,
  SwarmUnavailableError,
  TerminalError,
  TransientError,
} from '../../src/errors.js';

/** A docker config directory as the CLI writes it: config.json and a context store. */
function configDir(opts: {
  current?: string;
  contexts?: Record<string, { host: string; skipTls?: boolean; tls?: boolean }>;
}) {
  const dir = mkdtempSync(join(tmpdir(), 'sc-docker-config-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(opts.current ? { currentContext: opts.current } : {}));
  for (const [name, c] of Object.entries(opts.contexts ?? {})) {
    const meta = join(dir, 'contexts', 'meta', contextDirName(name));
    mkdirSync(meta, { recursive: true });
    writeFileSync(
      join(meta, 'meta.json'),
      JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: c.host, SkipTLSVerify: !!c.skipTls } } }),
    );
    if (c.tls) {
      const tls = join(dir, 'contexts', 'tls', contextDirName(name), 'docker');
      mkdirSync(tls, { recursive: true });
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(tls, f), `${name} ${f}`);
    }
  }
  return dir;
}

describe('which engine, as the docker CLI decides', () => {
  const dir = configDir({
    current: 'prod',
    contexts: {
      prod: { host: 'ssh://deploy@m1.example.com:2222' },
      staging: { host: 'tcp://10.1.2.3:2376', tls: true },
      lab: { host: 'tcp://10.1.2.4:2376', tls: true, skipTls: true },
    },
  });

  it('uses the context store directory name the CLI uses (sha256 of the name)', () => {
    assert.equal(contextDirName('default'), '37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f');
  });

  it('takes --context over everything, and refuses --context with --host', () => {
    const e = resolveEndpoint({ context: 'staging' }, { DOCKER_CONFIG: dir, DOCKER_HOST: 'unix:///x.sock' });
    assert.equal(e.url, 'tcp://10.1.2.3:2376');
    assert.equal(e.via, 'context "staging" (--context)');
    assert.throws(
      () => resolveEndpoint({ context: 'staging', host: 'unix:///x' }, { DOCKER_CONFIG: dir }),
      /conflicting options: either specify --host or --context, not both/,
    );
  });

  it('takes --host, then DOCKER_HOST, before DOCKER_CONTEXT and the current context', () => {
    const env = { DOCKER_CONFIG: dir, DOCKER_HOST: 'unix:///run/a.sock', DOCKER_CONTEXT: 'staging' };
    assert.deepEqual(resolveEndpoint({ host: 'unix:///run/b.sock' }, env).address, {
      kind: 'unix',
      path: '/run/b.sock',
    });
    assert.equal(resolveEndpoint({ host: 'unix:///run/b.sock' }, env).via, '--host');
    const fromEnv = resolveEndpoint({}, env);
    assert.equal(fromEnv.url, 'unix:///run/a.sock');
    assert.equal(fromEnv.via, 'DOCKER_HOST');
    assert.equal(fromEnv.context, 'default');
  });

  it('takes DOCKER_CONTEXT before config.json, and the current context before the default socket', () => {
    assert.equal(
      resolveEndpoint({}, { DOCKER_CONFIG: dir, DOCKER_CONTEXT: 'staging' }).via,
      'context "staging" (DOCKER_CONTEXT)',
    );
    const current = resolveEndpoint({}, { DOCKER_CONFIG: dir });
    assert.deepEqual(current.address, { kind: 'ssh', user: 'deploy', host: 'm1.example.com', port: 2222 });
    assert.equal(current.via, `context "prod" (currentContext in ${join(dir, 'config.json')})`);
    const bare = resolveEndpoint({}, { DOCKER_CONFIG: configDir({}) });
    assert.equal(bare.url, 'unix:///var/run/docker.sock');
    assert.equal(bare.via, 'the default socket');
  });

  it('reads ~/.docker when DOCKER_CONFIG is not set', () => {
    const home = mkdtempSync(join(tmpdir(), 'sc-home-'));
    mkdirSync(join(home, '.docker'));
    writeFileSync(join(home, '.docker', 'config.json'), '{"currentContext":"default"}');
    assert.equal(
      resolveEndpoint({}, { HOME: home }).via,
      `context "default" (currentContext in ${join(home, '.docker', 'config.json')})`,
    );
  });

  it('names the contexts that exist when the one asked for does not', () => {
    assert.throws(
      () => resolveEndpoint({ context: 'prdo' }, { DOCKER_CONFIG: dir }),
      (err: unknown) =>
        err instanceof TerminalError &&
        err.code === 'SC5007' &&
        err.message.includes(
          'docker context "prdo" (--context) does not exist; the contexts are: default, lab, prod, staging',
        ),
    );
  });

  it("uses a context's TLS files, verifying unless the context says SkipTLSVerify", () => {
    const staging = resolveEndpoint({ context: 'staging' }, { DOCKER_CONFIG: dir });
    assert.equal(staging.tls?.verify, true);
    assert.equal(staging.tls?.ca?.toString(), 'staging ca.pem');
    assert.equal(resolveEndpoint({ context: 'lab' }, { DOCKER_CONFIG: dir }).tls?.verify, false);
  });

  it('takes TLS for DOCKER_HOST from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (any non-empty value verifies, as in the CLI)', () => {
    const certs = mkdtempSync(join(tmpdir(), 'sc-certs-'));
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(certs, f), f);
    const e = resolveEndpoint(
      {},
      { DOCKER_HOST: 'tcp://10.0.0.9:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs },
    );
    assert.deepEqual(
      { verify: e.tls?.verify, ca: e.tls?.ca?.toString(), key: e.tls?.key?.toString() },
      { verify: true, ca: 'ca.pem', key: 'key.pem' },
    );
    // DOCKER_CERT_PATH defaults to the config directory
    const fromConfig = resolveEndpoint(
      {},
      { DOCKER_HOST: 'tcp://10.0.0.9:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: certs },
    );
    assert.equal(fromConfig.tls?.cert?.toString(), 'cert.pem');
    assert.equal(resolveEndpoint({}, { DOCKER_HOST: 'tcp://10.0.0.9:2375' }).tls, undefined);
    assert.throws(
      () =>
        resolveEndpoint(
          {},
          { DOCKER_HOST: 'tcp://10.0.0.9:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: configDir({}) },
        ),
      /DOCKER_TLS_VERIFY is set but .*ca\.pem does not exist/,
    );
  });

  it('parses the host forms the CLI takes and refuses others', () => {
    assert.deepEqual(parseHost('unix:///run/x.sock', 'x'), { kind: 'unix', path: '/run/x.sock' });
    assert.deepEqual(parseHost('tcp://[fd00::1]:2376', 'x'), { kind: 'tcp', host: 'fd00::1', port: 2376 });
    assert.deepEqual(parseHost('ssh://m1', 'x'), { kind: 'ssh', host: 'm1' });
    assert.throws(() => parseHost('ftp://x', '--host'), /cannot use Docker host "ftp:\/\/x" \(--host\)/);
  });
});

describe('API version', () => {
  it("speaks the engine's own version up to the newest this controller knows", () => {
    assert.equal(negotiateApiVersion('1.41', '1.12'), '1.41'); // Debian bookworm's engine 20.10
    assert.equal(negotiateApiVersion('1.45', '1.24'), '1.45'); // trixie's 26.1
    assert.equal(negotiateApiVersion('1.51', '1.24'), '1.51'); // sid's 28.5
    assert.equal(negotiateApiVersion('1.52', '1.44'), '1.51'); // a newer engine: the newest we know
    assert.throws(() => negotiateApiVersion('1.40', '1.12'), /needs 1\.41 or later/);
    assert.throws(() => negotiateApiVersion('1.60', '1.55'), /needs Docker API 1\.55 or later/);
  });
});

describe("the engine's errors, typed", () => {
  const e = (statusCode: number | undefined, message: string, what = 'POST /services/create') =>
    classifyEngineError(Object.assign(new Error(message), { statusCode, json: { message } }), what);

  it('says what kind of error each is, so no one else reads the text', () => {
    assert.ok(e(500, 'rpc error: code = Unknown desc = update out of sequence') instanceof ConflictError);
    assert.ok(
      e(400, 'rpc error: code = InvalidArgument desc = secret x is in use by the following service: y') instanceof
        InUseError,
    );
    assert.ok(
      e(403, 'error while removing network: network n id 1 has active endpoints', 'DELETE /networks/1') instanceof
        InUseError,
    );
    assert.ok(
      e(409, 'rpc error: code = AlreadyExists desc = name conflicts with an existing object') instanceof
        AlreadyExistsError,
    );
    const gone = e(404, 'service web not found', 'GET /services/web');
    assert.ok(gone instanceof NotFoundError && gone.object === 'service');
    const net = e(400, 'rpc error: code = NotFound desc = network q7x not found');
    assert.ok(net instanceof NotFoundError && net.object === 'network' && net.id === 'q7x');
  });

  it('retries what may pass (no answer, unavailable, in use, conflicts), not what Swarm refused', () => {
    assert.ok(e(undefined, 'connect ECONNREFUSED') instanceof TransientError);
    assert.ok(e(503, 'node is not part of a swarm') instanceof TransientError);
    assert.ok(e(500, 'rpc error: code = Unavailable desc = raft not ready') instanceof TransientError);
    const refused = e(400, 'invalid mount config');
    assert.ok(!(refused instanceof SwarmUnavailableError));
    assert.ok(refused instanceof TerminalError && !(refused instanceof NotFoundError) && refused.code === 'SC5004');
    assert.match(refused.message, /^POST \/services\/create: invalid mount config$/);
  });

  it('names a Swarm without a Raft leader as no-quorum, an engine that does not answer as engine-unreachable', () => {
    for (const [status, message] of [
      [
        500,
        "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.",
      ],
      [500, 'rpc error: code = Unknown desc = raft: no elected cluster leader'],
      [500, 'raft: failed to process the request: node lost leader status'],
      [503, 'This node is not a swarm manager. Manager is being prepared or has trouble connecting to the cluster.'],
    ] as const) {
      const err = e(status, message, 'GET /configs');
      assert.ok(err instanceof SwarmUnavailableError && err.condition === 'no-quorum', message);
      assert.ok(err instanceof TransientError);
    }
    const gone = classifyEngineError(
      Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }),
      'GET /configs',
    );
    assert.ok(gone instanceof SwarmUnavailableError && gone.condition === 'engine-unreachable');
    assert.ok(!(e(500, 'rpc error: code = Unknown desc = update out of sequence') instanceof SwarmUnavailableError));
  });
});
