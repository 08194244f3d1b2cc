/**
 * The controller's HTTP endpoints: /healthz (the process answers: always 200, its text says when
 * the Swarm cannot take writes, which a restart would not mend), /readyz (leading or
 * standing by, and synced), /metrics (Prometheus text), /status (JSON; with a line per App),
 * /apps/NAME (one App's status), POST /hooks/sync (a signed webhook that syncs at once), and
 * what `extra` serves (the dashboard). Nothing here changes the Swarm.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { http } from '../node-http.js';
import { metricsContentType } from './metrics.js';
import { verifyWebhook } from './webhook.js';
import type { ControllerStatus } from './status.js';

export interface HttpHandlers {
  status(): ControllerStatus | Promise<ControllerStatus>;
  /** GET /apps/NAME: one App's status (controller run with Apps); undefined: 404. */
  app?(name: string): ControllerStatus | undefined;
  ready(): boolean;
  /** The text of /healthz (default "ok"). */
  health?(): string;
  metrics(): string | Promise<string>;
  sync(): void;
  /** Empty: the webhook is disabled. */
  webhookSecret: string;
  /** More endpoints (the dashboard under /dashboard/): true when it answered the request. */
  extra?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

const maxBody = 1024 * 1024;

export function startHttpServer(port: number, host: string, h: HttpHandlers): Promise<Server> {
  const server = http.createServer((req, res) => {
    handle(req, res, h).catch((err: Error) => send(res, 500, 'text/plain', `internal error: ${err.message}\n`));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** The request's body, or undefined when it is longer than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit = maxBody): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function handle(req: IncomingMessage, res: ServerResponse, h: HttpHandlers): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/healthz') return send(res, 200, 'text/plain', h.health?.() ?? 'ok\n');
  if (req.method === 'GET' && path === '/readyz') {
    const ready = h.ready();
    return send(res, ready ? 200 : 503, 'text/plain', ready ? 'ready\n' : 'not ready: no revision synced yet\n');
  }
  if (req.method === 'GET' && path === '/metrics') return send(res, 200, metricsContentType, await h.metrics());
  if (req.method === 'GET' && path === '/status')
    return send(res, 200, 'application/json', JSON.stringify(await h.status(), null, 2) + '\n');
  if (req.method === 'GET' && path.startsWith('/apps/') && h.app) {
    const app = h.app(decodeURIComponent(path.slice('/apps/'.length)));
    if (!app) return send(res, 404, 'text/plain', 'no such app\n');
    return send(res, 200, 'application/json', JSON.stringify(app, null, 2) + '\n');
  }
  if (path === '/hooks/sync') {
    if (req.method !== 'POST') return send(res, 405, 'text/plain', 'use POST\n');
    if (!h.webhookSecret)
      return send(res, 404, 'text/plain', 'the webhook is disabled: start the controller with --webhook-secret-file\n');
    const body = await readBody(req);
    if (!body) return send(res, 413, 'text/plain', 'body too large\n');
    const verdict = verifyWebhook(req.headers, body, h.webhookSecret);
    if (!verdict.ok) return send(res, verdict.status, 'text/plain', `${verdict.reason}\n`);
    h.sync();
    return send(res, 202, 'application/json', '{"accepted":true}\n');
  }
  if (h.extra && (await h.extra(req, res))) return;
  return send(res, 404, 'text/plain', 'not found\n');
}
