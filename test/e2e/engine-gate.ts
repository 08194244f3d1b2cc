/**
 * A pass-through between a controller process under test and the real engine, on a Unix socket
 * of its own, that lets a fault test interrupt an apply at an exact request instead of racing
 * a poll against it (on a quick engine 80 creates finish in about a second, sooner than a
 * `docker service ls` poll notices that the apply is under way).
 *
 * Every request is forwarded unchanged to the engine's socket and the answer relayed unchanged,
 * streams included. For requests that `match`, `onRequest` runs before forwarding and
 * `onResponse` after the engine has answered and before the answer is relayed, each with the
 * count of matching requests so far (1-based). `onResponse` may end the client (SIGKILL it) or
 * the engine, and return 'drop' to close the client's connection instead of relaying the answer:
 * the engine has then done what it was asked, and the client never learns of it. When the engine
 * cannot be reached the client's connection is closed, as a dead engine's would be.
 */
import { request, createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EngineGateOptions {
  /** The real engine, as DOCKER_HOST spells it (unix:// only). */
  engine: string;
  match: (method: string, path: string) => boolean;
  onRequest?: (count: number) => void | Promise<void>;
  onResponse?: (count: number, status: number) => void | 'drop' | Promise<void | 'drop'>;
}

export interface EngineGate {
  /** DOCKER_HOST for the client under test. */
  host: string;
  /** Matching requests seen so far. */
  readonly count: number;
  close(): Promise<void>;
}

export async function openEngineGate(options: EngineGateOptions): Promise<EngineGate> {
  if (!options.engine.startsWith('unix://'))
    throw new Error(`engine gate: only unix:// engines, not ${options.engine}`);
  const engineSocket = options.engine.slice('unix://'.length);
  const dir = mkdtempSync(join(tmpdir(), 'sc-engine-gate-'));
  const socketPath = join(dir, 'docker.sock');
  let count = 0;
  const server: Server = createServer((req, res) => {
    const matched = options.match(req.method ?? 'GET', (req.url ?? '/').replace(/^\/v[\d.]+\//, '/'));
    const n = matched ? ++count : 0;
    void (async () => {
      if (matched) await options.onRequest?.(n);
      const upstream = request(
        { socketPath: engineSocket, method: req.method, path: req.url, headers: req.headers },
        async (answer: IncomingMessage) => {
          const verdict = matched ? await options.onResponse?.(n, answer.statusCode ?? 0) : undefined;
          if (verdict === 'drop' || res.destroyed) {
            res.destroy();
            return answer.resume();
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    })();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
  return {
    host: `unix://${socketPath}`,
    get count() {
      return count;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
