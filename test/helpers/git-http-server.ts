/**
 * A real git server over http for tests: git's own `git http-backend` run as CGI behind a small
 * Node server on 127.0.0.1, with basic auth as GitHub, GitLab and Gitea do it for tokens: any
 * user name, the token as password. A request without credentials, or with another password,
 * gets 401 and never reaches git. The accepted token can be changed while it runs (rotation),
 * and every request is recorded (method, path, user name, status), never the password.
 *
 *   const server = await startGitHttpServer(root, 'the-token');
 *   git clone http://127.0.0.1:<port>/ops/swarm.git   (the bare repository <root>/ops/swarm.git)
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitRequest {
  method: string;
  path: string;
  /** The user name of the basic credentials, when there were any. */
  user?: string;
  /** Whether the password was the accepted token. */
  authorised: boolean;
  status: number;
}

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  requests: GitRequest[];
  /** Accept another token from now on (the old one is refused). */
  setToken(token: string): void;
  stop(): Promise<void>;
}

const backend = '/usr/lib/git-core/git-http-backend';

export async function startGitHttpServer(root: string, token: string): Promise<GitHttpServer> {
  let accepted = token;
  const requests: GitRequest[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const credentials = basicCredentials(req.headers.authorization);
    const authorised = credentials !== undefined && credentials.password === accepted;
    const record: GitRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      ...(credentials ? { user: credentials.user } : {}),
      authorised,
      status: 0,
    };
    requests.push(record);
    if (!authorised) {
      record.status = 401;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="e2e git"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      req.resume();
      return;
    }
    runBackend(root, req, res, url, credentials.user, (status) => (record.status = status));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    setToken: (t) => {
      accepted = t;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Runs git http-backend as CGI for one request and copies its answer back. */
function runBackend(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  user: string,
  done: (status: number) => void,
): void {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    // The repositories belong to root and are served by root here; no ~/.gitconfig needed.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_USER: user,
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
    ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
  };
  const cgi = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(cgi.stdin);
  cgi.stdin.on('error', () => undefined);
  let stderr = '';
  cgi.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let head = Buffer.alloc(0);
  let headersSent = false;
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    done(status);
    headersSent = true;
    res.write(head.subarray(end + 4));
  });
  cgi.on('close', (code) => {
    if (!headersSent) {
      done(500);
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`git http-backend exited ${code}: ${stderr}`);
      return;
    }
    res.end();
  });
}
