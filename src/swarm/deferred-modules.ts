/**
 * Defers two parts of the engine client that the controller never calls: dockerode's BuildKit
 * session (gRPC and protobuf, for `docker build` with BuildKit) and docker-modem's own ssh
 * transport (ssh2; the controller reaches ssh engines through the system ssh, ssh-agent.ts).
 * Both are required eagerly by their packages and made up about a third of the client's
 * start-up (docs/benchmarks.md). Each is replaced in the CommonJS cache by a function that
 * loads the real module on its first call, so behaviour is unchanged if one is ever used.
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

defer('dockerode/lib/session.js');
defer('./ssh.js', 'docker-modem');
