/**
 * The agent's HTTP control API: PUT /v1/table, GET /v1/status and GET /v1/stats with a bearer
 * token (compared in constant time), GET /healthz without. Must not import src/swarm/.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { http } from '../node-http.js';
import type { Logger } from '../log.js';
import { ApplyError, type ProxyAgent } from './agent.js';

export const maxTableBytes = 4 * 1024 * 1024;

/** sha256 both sides first so lengths match and timing says nothing about the token. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  const given = createHash('sha256')
    .update(m ? m[1] : '')
    .digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && !!m && token.length > 0;
}

export function startControlServer(
  port: number,
  host: string,
  agent: ProxyAgent,
  token: string,
  log: Logger,
): Promise<Server> {
  const server = http.createServer((req, res) => {
    handle(req, res, agent, token, log).catch((err: Error) =>
      json(res, 500, { error: `internal error: ${err.message}` }),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body) + '\n');
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxTableBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  agent: ProxyAgent,
  token: string,
  log: Logger,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz') {
    if (req.method !== 'GET') return json(res, 405, { error: 'use GET' });
    const ok = agent.healthy;
    return json(res, ok ? 200 : 503, { ok, generation: agent.status().generation });
  }
  if (path !== '/v1/table' && path !== '/v1/status' && path !== '/v1/stats')
    return json(res, 404, { error: 'not found: PUT /v1/table, GET /v1/status, GET /v1/stats, GET /healthz' });
  if (!tokenMatches(req.headers.authorization, token)) {
    res.setHeader('www-authenticate', 'Bearer');
    return json(res, 401, { error: 'missing or wrong bearer token' });
  }
  if (path === '/v1/status') {
    if (req.method !== 'GET') return json(res, 405, { error: 'use GET' });
    return json(res, 200, agent.status());
  }
  if (path === '/v1/stats') {
    if (req.method !== 'GET') return json(res, 405, { error: 'use GET' });
    return json(res, 200, await agent.stats());
  }
  if (req.method !== 'PUT') return json(res, 405, { error: 'use PUT' });
  const body = await readBody(req);
  if (!body) return json(res, 413, { error: `the table is larger than ${maxTableBytes} bytes` });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return json(res, 400, { error: `the body is not JSON: ${(err as Error).message}` });
  }
  try {
    const result = await agent.apply(parsed);
    return json(res, 200, result);
  } catch (err) {
    if (err instanceof ApplyError) {
      log.warn({ status: err.status, error: err.message }, 'route table refused');
      return json(res, err.status, { error: err.message, problems: err.problems, status: agent.status() });
    }
    throw err;
  }
}
