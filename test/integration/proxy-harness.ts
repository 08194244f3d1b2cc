/**
 * Shared by the proxy tests that run the real HAProxy (no Docker): loopback backends, HTTP
 * helpers, route and table builders, and a running agent (HAProxy, agent and control API
 * in-process) that its owner stops. Not a test file itself. Must not import src/swarm/.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { ProxyAgent, type AgentOptions } from '../../src/proxy/agent.js';
import { startControlServer } from '../../src/proxy/control-server.js';
import { HaproxyProcess } from '../../src/proxy/haproxy-process.js';

export const haproxyBinary = process.env.HAPROXY ?? '/usr/sbin/haproxy';
export const token = 'test-token-123';

export function requireHaproxy(): void {
  try {
    execFileSync(haproxyBinary, ['-v'], { stdio: 'pipe' });
  } catch {
    throw new Error(
      `HAProxy is not installed at ${haproxyBinary}: run scripts/install-deps.sh (apt-get install haproxy) or set HAPROXY`,
    );
  }
}

/** A loopback port nothing listens on (just now). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface Backend {
  server: Server;
  port: number;
}

/** A loopback HTTP server answering 200 "<id> <url>" (or what `answer` writes). */
export function backend(id: string, answer?: (req: IncomingMessage, res: ServerResponse) => void): Promise<Backend> {
  return new Promise((resolve) => {
    const server = createServer(
      answer ??
        ((req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(`${id} ${req.url}`);
        }),
    );
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

export interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One GET on a fresh connection. */
export function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** A control API call with the test token (or `auth`), JSON in and out. */
export function call(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  auth: string | null = `Bearer ${token}`,
): Promise<Answer & { json: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth) headers.authorization = auth;
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          body: text,
          headers: res.headers,
          json: text ? JSON.parse(text) : undefined,
        }),
      );
    });
    req.on('error', reject);
    req.end(data);
  });
}

export { route, table } from '../helpers/route-tables.js';

/** n GETs, each answered 200; counts the answering backend ids. */
export async function spread(
  port: number,
  path: string,
  n: number,
  headers: Record<string, string> = {},
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const a = await get(port, path, headers);
    assert.equal(a.status, 200, `request ${i} to ${path}: ${a.status} ${a.body}`);
    const id = a.body.split(' ')[0];
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

export interface RunningProxy {
  agent: ProxyAgent;
  haproxy: HaproxyProcess;
  stateDir: string;
  httpPort: number;
  httpsPort: number;
  controlPort: number;
  /** PUT /v1/table with the token. */
  push(t: unknown): Promise<Answer & { json: any }>;
  status(): Promise<any>;
  stop(): Promise<void>;
}

/** Starts HAProxy, the agent and its control API on free loopback ports. */
export async function startProxy(
  over: Partial<Pick<AgentOptions, 'secretsDir' | 'transformConfig'>> = {},
): Promise<RunningProxy> {
  requireHaproxy();
  const log = createLogger({ level: 'warn' });
  const stateDir = mkdtempSync(join(tmpdir(), 'sc-proxy-test-'));
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const haproxy = new HaproxyProcess({ binary: haproxyBinary, stateDir, log });
  const agent = new ProxyAgent({
    haproxy,
    httpBind: `127.0.0.1:${httpPort}`,
    httpsBind: `127.0.0.1:${httpsPort}`,
    stateDir,
    secretsDir: over.secretsDir ?? join(stateDir, 'no-secrets'),
    log,
    ...(over.transformConfig ? { transformConfig: over.transformConfig } : {}),
  });
  try {
    await agent.start();
  } catch (err) {
    await haproxy.stop(2000);
    await agent.stop();
    throw err;
  }
  const control = await startControlServer(0, '127.0.0.1', agent, token, log);
  const controlPort = (control.address() as AddressInfo).port;
  return {
    agent,
    haproxy,
    stateDir,
    httpPort,
    httpsPort,
    controlPort,
    push: (t) => call(controlPort, 'PUT', '/v1/table', t),
    status: async () => (await call(controlPort, 'GET', '/v1/status')).json,
    stop: async () => {
      control.close();
      control.closeAllConnections();
      await haproxy.stop(2000);
      await agent.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
