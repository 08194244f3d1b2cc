/**
 * Local stand-ins for the services notifications go to: one in-process HTTP server on loopback
 * per test that records every request (method, path, headers, raw body, the fake clock's time)
 * and answers as the test says: as GitHub, Gitea, GitLab, Slack or a plain webhook would
 * (paths, auth checks, status codes), or with 500s, 429s, or not at all (a hang). A test waits
 * for the n-th request instead of sleeping. Also: a pino logger whose lines are kept as records.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../../src/log.js';
import type { Clock } from '../../src/queue/clock.js';

export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The fake clock's time when the request arrived. */
  at: number;
}

export type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hang';
export type Responder = (req: Recorded, index: number) => Answer;

export class RecordingServer {
  readonly requests: Recorded[] = [];
  private waiters: { n: number; resolve: (r: Recorded) => void }[] = [];
  private readonly hanging: ServerResponse[] = [];
  private server: Server | undefined;
  url = '';

  constructor(
    private readonly clock: Clock,
    public responder: Responder,
  ) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  /** Resolves with the n-th request (1-based) once it has arrived. */
  request(n: number): Promise<Recorded> {
    if (this.requests.length >= n) return Promise.resolve(this.requests[n - 1]);
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const rec: Recorded = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers,
      body: Buffer.concat(chunks).toString('utf8'),
      at: this.clock.now(),
    };
    this.requests.push(rec);
    const answer = this.responder(rec, this.requests.length);
    if (answer === 'hang') {
      this.hanging.push(res);
    } else {
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
      res.end(answer.body ?? '');
    }
    for (const w of this.waiters.filter((x) => x.n <= this.requests.length)) w.resolve(this.requests[w.n - 1]);
    this.waiters = this.waiters.filter((x) => x.n > this.requests.length);
  }
}

/** Answers as GitHub's POST /repos/{owner}/{repo}/statuses/{sha} does: 401 without the token, 201 with. */
export function githubLike(token: string, repo: string): Responder {
  return (req) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      return { status: 401, body: '{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}' };
    }
    if (!new RegExp(`^/repos/${repo}/statuses/[0-9a-f]{40}$`).test(req.path))
      return { status: 404, body: '{"message":"Not Found"}' };
    return { status: 201, body: JSON.stringify({ id: 1, ...JSON.parse(req.body) }) };
  };
}

/** Gitea's POST /api/v1/repos/{owner}/{repo}/statuses/{sha}: `Authorization: token <t>`. */
export function giteaLike(token: string, repo: string): Responder {
  return (req) => {
    if (req.headers.authorization !== `token ${token}`) return { status: 401, body: '{"message":"token is required"}' };
    if (!new RegExp(`^/api/v1/repos/${repo}/statuses/[0-9a-f]{40}$`).test(req.path)) return { status: 404, body: '{}' };
    return { status: 201, body: JSON.stringify({ id: 1, ...JSON.parse(req.body) }) };
  };
}

/**
 * GitLab's POST /api/v4/projects/{id}/statuses/{sha} with PRIVATE-TOKEN, and its state machine: a
 * status already pending or running cannot be set to the same state again (400).
 */
export function gitlabLike(token: string, project: string): Responder {
  const current = new Map<string, string>();
  return (req) => {
    if (req.headers['private-token'] !== token) return { status: 401, body: '{"message":"401 Unauthorized"}' };
    const m = new RegExp(`^/api/v4/projects/${encodeURIComponent(project)}/statuses/([0-9a-f]{40})$`).exec(req.path);
    if (!m) return { status: 404, body: '{"message":"404 Project Not Found"}' };
    const body = JSON.parse(req.body) as { state: string; name: string };
    if (!['pending', 'running', 'success', 'failed', 'canceled'].includes(body.state)) {
      return { status: 400, body: '{"error":"state does not have a valid value"}' };
    }
    const key = `${m[1]}/${body.name}`;
    const was = current.get(key);
    if (was === body.state && (was === 'running' || was === 'pending')) {
      const verb = was === 'running' ? 'run' : 'enqueue';
      return {
        status: 400,
        body: JSON.stringify({
          message: `Cannot transition status via :${verb} from :${was} (Reason(s): Status cannot transition via "${verb}")`,
        }),
      };
    }
    current.set(key, body.state);
    return { status: 201, body: JSON.stringify({ id: 93, status: body.state, name: body.name }) };
  };
}

export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A logger at debug level whose lines are parsed into `records`, and the raw text for secret checks. */
export function recordingLogger(): { log: Logger; records: LogRecord[]; text: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const records: LogRecord[] = [];
  const log = createLogger({ level: 'debug', destination: sink });
  return {
    log,
    get records() {
      records.length = 0;
      for (const l of lines) records.push(JSON.parse(l) as LogRecord);
      return records;
    },
    text: () => lines.join('\n'),
  };
}
