/**
 * Shared by the proxy benchmarks: the real `controller proxy` as a child process on loopback
 * (HAProxy is its child), its control API, and readings of processes from /proc. Not a
 * benchmark itself.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseShowProc, socketCommand } from '../src/proxy/haproxy-process.js';
import type { Route, RouteServer, RouteTable } from '../src/proxy/route-table.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const clockTick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * The proxy image's node flags (NODE_OPTIONS) and MALLOC_ARENA_MAX, read from the Dockerfile's
 * proxy stage, so that the benchmarks run the agent as the image does.
 */
export function proxyImageSettings(): { nodeFlags: string[]; env: Record<string, string> } {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const stage = /^FROM \S+ AS proxy$([\s\S]*?)^FROM /m.exec(text)?.[1] ?? '';
  const nodeOptions = /NODE_OPTIONS="([^"]*)"/.exec(stage)?.[1] ?? '';
  const arenas = /MALLOC_ARENA_MAX=(\d+)/.exec(stage)?.[1];
  return { nodeFlags: nodeOptions.split(' ').filter(Boolean), env: arenas ? { MALLOC_ARENA_MAX: arenas } : {} };
}

/** Resident memory of a process in MB (VmRSS). */
export const vmRssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** User + system CPU time of a process in ms. */
export function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / clockTick;
}

export interface AgentStatus {
  generation: number;
  reloads: number;
  runtimeUpdates: number;
  lastReloadMs: number | null;
  haproxy: { pid: number };
}

export interface AgentProcess {
  process: ChildProcess;
  httpPort: number;
  stateDir: string;
  status: () => Promise<AgentStatus>;
  /** PUT /v1/table; throws unless 200. */
  push: (t: RouteTable) => Promise<{ ms: number; action: string; durationMs: number; commands: number }>;
  /** VmRSS of the agent, HAProxy's master and its worker(s), once old workers have left. */
  memory: () => Promise<{ agent: number; master: number; workers: number; workerCount: number }>;
  stop: () => Promise<void>;
}

/** Starts the agent in `work` (a fresh directory) with these node flags and waits until it is healthy. */
export async function startAgentProcess(o: {
  work: string;
  nodeFlags: string[];
  haproxyBinary: string;
  /** Added to the agent's environment (MALLOC_ARENA_MAX from proxyImageSettings). */
  env?: Record<string, string>;
}): Promise<AgentProcess> {
  const token = 'bench-token';
  writeFileSync(join(o.work, 'token'), `${token}\n`);
  const stateDir = join(o.work, 'state');
  const [httpPort, controlPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      ...o.nodeFlags,
      join(root, 'dist/src/cli/main.js'),
      'proxy',
      '--http-bind',
      `127.0.0.1:${httpPort}`,
      '--control',
      `127.0.0.1:${controlPort}`,
      '--token-file',
      join(o.work, 'token'),
      '--state-dir',
      stateDir,
      '--haproxy',
      o.haproxyBinary,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn', NODE_OPTIONS: '', ...o.env } },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const control = `http://127.0.0.1:${controlPort}`;
  const auth = { authorization: `Bearer ${token}` };
  const getStatus = async () => (await (await fetch(`${control}/v1/status`, { headers: auth })).json()) as AgentStatus;
  // Once more on a closed socket: fetch can reuse a keep-alive connection the agent's server is closing after its idle timeout.
  const status = () => getStatus().catch(getStatus);
  const stop = async () => {
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
  };
  for (let i = 0; ; i++) {
    const up = await fetch(`${control}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (child.exitCode !== null || i > 200) {
      await stop();
      throw new Error(`the agent did not become healthy: ${stderr}`);
    }
    await sleep(50);
  }
  return {
    process: child,
    httpPort,
    stateDir,
    status,
    stop,
    push: async (t) => {
      const t0 = performance.now();
      const res = await fetch(`${control}/v1/table`, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(t),
      });
      const body = (await res.json()) as {
        action: string;
        durationMs: number;
        runtimeCommands: number;
        error?: string;
        problems?: string[];
      };
      const ms = performance.now() - t0;
      if (res.status !== 200)
        throw new Error(
          `push of generation ${t.generation} answered ${res.status}: ${body.error} ${(body.problems ?? []).slice(0, 5).join('; ')}`,
        );
      return { ms, action: body.action, durationMs: body.durationMs, commands: body.runtimeCommands };
    },
    memory: async () => {
      const masterPid = (await status()).haproxy.pid;
      const master = join(stateDir, 'master.sock');
      let proc = parseShowProc(await socketCommand(master, 'show proc'));
      for (let i = 0; i < 100 && proc.workers.length > 1; i++) {
        await sleep(50);
        proc = parseShowProc(await socketCommand(master, 'show proc'));
      }
      return {
        agent: vmRssMb(child.pid!),
        master: vmRssMb(masterPid),
        workers: proc.workers.reduce((s, p) => s + vmRssMb(p), 0),
        workerCount: proc.workers.length,
      };
    },
  };
}

/**
 * Route i of the benchmarks' tables: host `r<i>.bench.example.com`, path /, service
 * `bench_r<i>` with these servers, round robin, no health check.
 */
export function hostRoute(i: number, servers: RouteServer[], balance: Route['balance'] = 'roundrobin'): Route {
  return {
    name: `bench/r${i}`,
    hosts: [`r${i}.bench.example.com`],
    pathPrefix: '/',
    stripPrefix: false,
    sticky: null,
    balance,
    healthCheck: null,
    timeouts: { connectMs: 2000, serverMs: 30000 },
    redirectToHttps: false,
    tls: null,
    backends: [{ service: `bench_r${i}`, weight: 10, servers }],
  };
}
