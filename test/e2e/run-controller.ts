/**
 * `controller run` as a child process for e2e tests: a directory source, no proxy tier, short
 * intervals, its HTTP endpoints on a free loopback port; `status()` and `metrics()` read them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSwarm, repoRoot } from './harness.js';

export interface RunningController {
  port: number;
  output(): string;
  status(): Promise<Record<string, any>>;
  metrics(): Promise<string>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startRun(
  set: string,
  source: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<RunningController> {
  const port = await freePort();
  const cache = mkdtempSync(join(tmpdir(), `sc-run-${set}-`));
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'dist/src/cli/main.js'),
      'run',
      '--source',
      source,
      '--set',
      set,
      '--no-routes',
      '--listen',
      `127.0.0.1:${port}`,
      '--interval',
      '2s',
      '--resync',
      '2s',
      '--lease-duration',
      '4s',
      '--identity',
      `${set}-test`,
      '--cache-dir',
      cache,
      ...extra,
    ],
    { env: { ...process.env, DOCKER_HOST: ensureSwarm(), ...env } },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
  return {
    port,
    output: () => out,
    status: async () => (await (await get('/status')).json()) as Record<string, any>,
    metrics: async () => (await get('/metrics')).text(),
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
