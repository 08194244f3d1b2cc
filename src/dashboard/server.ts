/**
 * The dashboard's HTTP side, mounted under /dashboard on any node:http server (controller run's,
 * or controller dashboard's own): the page and its scripts, GET /dashboard/api/state (JSON),
 * GET /dashboard/api/events (server-sent events: the state at connect, then at every change)
 * and POST /dashboard/api/actions/{sync,suspend,resume}?set=NAME, which need
 * `Authorization: Bearer <token>` checked as the sync webhook checks its token (webhook.ts).
 * Everything else is read-only. One poll of the state source serves every open page: it runs
 * only while a page is connected, and a change is sent once to all of them.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../controller/http-server.js';
import { verifyWebhook } from '../controller/webhook.js';
import type { Clock } from '../queue/clock.js';
import { dashboardIcon, dashboardPage, dashboardStyle } from './page.js';
import { dashboardActions, stateFingerprint, type DashboardAction, type DashboardState } from './state.js';

export interface DashboardOptions {
  /** The current state: controller run's memory, or a read of the Swarm. */
  state(): Promise<DashboardState>;
  /** Carries out an action on an apply set; resolves to a message for the page. */
  act(action: DashboardAction, set: string): Promise<string>;
  /** Empty: actions are disabled (every POST is refused). */
  token: string;
  /** How often the state is read while a page listens (run: 1 s; from the Swarm: 2 s). */
  pollMs: number;
  clock: Clock;
  /** A comment line to every listener this often, so proxies keep the stream open (default 15 s). */
  keepAliveMs?: number;
}

/** The browser modules, compiled by tsc beside this file (dist/src/dashboard/web/). */
const scripts = new Set(['app.js', 'render.js']);
const webDir = new URL('./web/', import.meta.url);
const maxBody = 64 * 1024;

export interface DashboardHandler {
  /** Handles /dashboard and /dashboard/...; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Ends every event stream and the poll. */
  close(): void;
  /** Open event streams. */
  readonly listeners: number;
}

export function dashboardHandler(o: DashboardOptions): DashboardHandler {
  const streams = new Set<ServerResponse>();
  let polling: AbortController | undefined;
  let last: { json: string; fingerprint: string } | undefined;

  const read = async () => {
    const s = await o.state();
    const json = JSON.stringify(s);
    return { state: s, json, fingerprint: stateFingerprint(s) };
  };

  const broadcast = (event: string, data: string) => {
    const frame = `event: ${event}\ndata: ${data}\n\n`;
    for (const res of streams) res.write(frame);
  };

  const poll = async (signal: AbortSignal) => {
    let sinceKeepAlive = 0;
    while (!signal.aborted) {
      await o.clock.sleep(o.pollMs, signal);
      if (signal.aborted) return;
      sinceKeepAlive += o.pollMs;
      try {
        const r = await read();
        if (r.fingerprint !== last?.fingerprint) {
          last = r;
          broadcast('state', r.json);
          sinceKeepAlive = 0;
        }
      } catch (err) {
        broadcast('problem', JSON.stringify({ message: (err as Error).message }));
      }
      if (sinceKeepAlive >= (o.keepAliveMs ?? 15_000)) {
        for (const res of streams) res.write(': keep-alive\n\n');
        sinceKeepAlive = 0;
      }
    }
  };

  const openStream = async (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    streams.add(res);
    req.on('close', () => {
      streams.delete(res);
      if (streams.size === 0) {
        polling?.abort();
        polling = undefined;
      }
    });
    try {
      const r = await read();
      last = r;
      res.write(`event: state\ndata: ${r.json}\n\n`);
    } catch (err) {
      res.write(`event: problem\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`);
    }
    if (!polling) {
      polling = new AbortController();
      void poll(polling.signal);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    if (path !== '/dashboard' && !path.startsWith('/dashboard/')) return false;
    if (path === '/dashboard') {
      res.writeHead(302, { location: '/dashboard/' });
      res.end();
      return true;
    }
    const rest = path.slice('/dashboard/'.length);
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (rest === '') return send(res, 200, 'text/html; charset=utf-8', dashboardPage);
      if (rest === 'style.css') return send(res, 200, 'text/css; charset=utf-8', dashboardStyle);
      if (rest === 'favicon.svg') return send(res, 200, 'image/svg+xml', dashboardIcon);
      if (scripts.has(rest))
        return send(res, 200, 'text/javascript; charset=utf-8', await readFile(new URL(rest, webDir), 'utf8'));
      if (rest === 'api/state') return send(res, 200, 'application/json', (await read()).json);
      if (rest === 'api/events') {
        await openStream(req, res);
        return true;
      }
    }
    const action = /^api\/actions\/([a-z]+)$/.exec(rest)?.[1];
    if (action !== undefined) {
      if (req.method !== 'POST') return send(res, 405, 'text/plain', 'use POST\n');
      if (!(dashboardActions as readonly string[]).includes(action))
        return send(res, 404, 'text/plain', `no action "${action}": use ${dashboardActions.join(', ')}\n`);
      if (!o.token)
        return send(
          res,
          403,
          'application/json',
          JSON.stringify({ error: 'actions are disabled: start the dashboard with --dashboard-token-file' }),
        );
      const body = await readBody(req, maxBody);
      if (!body) return send(res, 413, 'text/plain', 'body too large\n');
      const verdict = verifyWebhook({ authorization: req.headers.authorization }, body, o.token);
      if (!verdict.ok || verdict.kind !== 'token')
        return send(res, 401, 'application/json', JSON.stringify({ error: 'a valid Bearer token is required' }));
      const set = url.searchParams.get('set') ?? '';
      if (!set) return send(res, 400, 'application/json', JSON.stringify({ error: 'name the apply set: ?set=NAME' }));
      try {
        const message = await o.act(action as DashboardAction, set);
        return send(res, 202, 'application/json', JSON.stringify({ accepted: true, message }));
      } catch (err) {
        return send(res, 409, 'application/json', JSON.stringify({ error: (err as Error).message }));
      }
    }
    return send(res, 404, 'text/plain', 'not found\n');
  };

  return {
    handle,
    close() {
      polling?.abort();
      for (const res of streams) res.end();
      streams.clear();
    },
    get listeners() {
      return streams.size;
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): true {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'",
  });
  res.end(body);
  return true;
}
