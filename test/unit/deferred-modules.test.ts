/**
 * The engine client loads without dockerode's BuildKit session (gRPC), docker-modem's ssh2
 * transport or tar-fs, and the deferred modules are the real ones when first used.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import '../../src/swarm/engine-client.js';

const require = createRequire(import.meta.url);
const loaded = (name: string) => Object.keys(require.cache).some((p) => p.includes(`/node_modules/${name}/`));

describe('the engine client start-up', () => {
  it('loads dockerode and docker-modem without gRPC, protobuf or ssh2', () => {
    assert.ok(loaded('dockerode') && loaded('docker-modem'), 'the client itself is loaded');
    for (const name of ['@grpc/grpc-js', '@grpc/proto-loader', 'ssh2', 'tar-stream'])
      assert.equal(loaded(name), false, name);
  });

  it('loads the real module on the first call', () => {
    const modemRequire = createRequire(require.resolve('docker-modem'));
    const ssh = modemRequire('./ssh.js') as (opt: object) => unknown;
    const agent = ssh({ host: '127.0.0.1', port: 1 });
    assert.ok(loaded('ssh2'), 'ssh2 loaded by the first call');
    assert.equal(typeof (agent as { createConnection?: unknown }).createConnection, 'function');
  });

  it('loads the real tar-fs on the first read of one of its functions', () => {
    const tar = createRequire(require.resolve('dockerode/lib/util.js'))('tar-fs') as { pack?: unknown };
    assert.equal(loaded('tar-stream'), false, 'nothing loaded before a property is read');
    assert.equal(typeof tar.pack, 'function');
    assert.ok(loaded('tar-stream'), 'tar-fs (and tar-stream) loaded by the first read');
    assert.equal(tar.pack, (require('tar-fs') as { pack: unknown }).pack, 'the real module');
  });
});
