/**
 * Defers three parts of the engine client that the controller never calls: dockerode's BuildKit
 * session (gRPC and protobuf, for `docker build` with BuildKit), docker-modem's own ssh
 * transport (ssh2; the controller reaches ssh engines through the system ssh, ssh-agent.ts) and
 * tar-fs (with tar-stream and bl, for packing a build context). All are required eagerly by
 * their packages and made up about a third of the client's start-up (docs/benchmarks.md). Each
 * is replaced in the CommonJS cache by a stand-in that loads the real module on first use (a
 * function for a module that exports one, an object for tar-fs), so behaviour is unchanged if
 * one is ever used.
 * Imported for its effect, before dockerode, by engine-client.ts.
 */
import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);

function defer(specifier: string, from?: string): void {
  const resolver = from ? createRequire(require.resolve(from)) : require;
  const path = resolver.resolve(specifier);
  if (require.cache[path]) return;
  let real: ((...args: unknown[]) => unknown) | undefined;
  const stand = function (this: unknown, ...args: unknown[]): unknown {
    if (!real) {
      delete require.cache[path];
      real = resolver(path) as (...args: unknown[]) => unknown;
    }
    return real.apply(this, args);
  };
  const entry = new Module(path);
  entry.filename = path;
  entry.loaded = true;
  entry.exports = stand;
  require.cache[path] = entry;
}

/** A module that exports an object: a stand-in whose properties are the real module's, loaded on first read. */
function deferObject(specifier: string, from: string): void {
  const resolver = createRequire(require.resolve(from));
  const path = resolver.resolve(specifier);
  if (require.cache[path]) return;
  let real: object | undefined;
  const load = (): object => {
    if (!real) {
      delete require.cache[path];
      real = resolver(path) as object;
    }
    return real;
  };
  const entry = new Module(path);
  entry.filename = path;
  entry.loaded = true;
  entry.exports = new Proxy(
    {},
    {
      get: (_target, key) => Reflect.get(load(), key) as unknown,
      has: (_target, key) => Reflect.has(load(), key),
    },
  );
  require.cache[path] = entry;
}

defer('dockerode/lib/session.js');
deferObject('tar-fs', 'dockerode/lib/util.js');
defer('./ssh.js', 'docker-modem');
