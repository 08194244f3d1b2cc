/**
 * A minimal Language Server Protocol client over stdio, for tests that run a real language
 * server (yaml-language-server): JSON-RPC framing (Content-Length headers), requests with
 * their responses, notifications the server sends, and answers to the few requests a server
 * makes of its client (workspace/configuration and capability registration).
 *
 * Nothing here knows YAML: the test says what to open and what to wait for.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface Position {
  line: number;
  character: number;
}

export interface Diagnostic {
  range: { start: Position; end: Position };
  message: string;
  severity?: number;
  source?: string;
}

export interface PublishDiagnostics {
  uri: string;
  version?: number;
  diagnostics: Diagnostic[];
}

interface Message {
  jsonrpc: '2.0';
  id?: number | string;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string };
}

interface Waiter {
  method: string;
  accept: (params: unknown) => boolean;
  resolve: (params: unknown) => void;
}

export class LspClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly waiters: Waiter[] = [];
  /** Every notification received, in order (method and params). */
  readonly notifications: { method: string; params: unknown }[] = [];
  private stderr = '';
  private exited: Error | undefined;

  /**
   * Starts `command args` and speaks LSP over its stdin and stdout. `configuration` answers
   * workspace/configuration requests: the value of each requested section.
   */
  constructor(
    command: string,
    args: string[],
    private readonly configuration: (section: string | undefined) => unknown = () => null,
  ) {
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => this.receive(chunk));
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.child.on('exit', (code, signal) => {
      this.exited = new Error(`language server exited (code ${code}, signal ${signal}); stderr:\n${this.stderr}`);
      for (const p of this.pending.values()) p.reject(this.exited);
      this.pending.clear();
    });
  }

  /** Sends a request and resolves with its result (rejects on an error response). */
  request<T = unknown>(method: string, params: unknown): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    const done = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.send({ jsonrpc: '2.0', id, method, params });
    return done;
  }

  notify(method: string, params: unknown): void {
    this.send({ jsonrpc: '2.0', method, params });
  }

  /**
   * Resolves with the params of the first notification `method` (received before or after
   * the call) that `accept` takes. The caller's test timeout bounds the wait.
   */
  waitForNotification<T>(method: string, accept: (params: T) => boolean = () => true): Promise<T> {
    const seen = this.notifications.find((n) => n.method === method && accept(n.params as T));
    if (seen) return Promise.resolve(seen.params as T);
    return new Promise<T>((resolve) => {
      this.waiters.push({
        method,
        accept: (p) => accept(p as T),
        resolve: (p) => resolve(p as T),
      });
    });
  }

  /** The diagnostics the server publishes for `uri` next (after this call). */
  nextDiagnostics(uri: string): Promise<PublishDiagnostics> {
    return new Promise<PublishDiagnostics>((resolve) => {
      this.waiters.push({
        method: 'textDocument/publishDiagnostics',
        accept: (p) => (p as PublishDiagnostics).uri === uri,
        resolve: (p) => resolve(p as PublishDiagnostics),
      });
    });
  }

  /** shutdown, exit, and waits for the process to end. */
  async close(): Promise<void> {
    if (this.exited) return;
    const ended = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      await this.request('shutdown', null);
      this.notify('exit', null);
    } catch {
      this.child.kill('SIGKILL');
    }
    await ended;
  }

  private send(message: Message): void {
    const body = Buffer.from(JSON.stringify(message), 'utf8');
    this.child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.child.stdin.write(body);
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buffer.subarray(0, headerEnd).toString('ascii');
      const length = /Content-Length: (\d+)/i.exec(header);
      if (!length) throw new Error(`LSP message without Content-Length: ${header}`);
      const start = headerEnd + 4;
      const end = start + Number(length[1]);
      if (this.buffer.length < end) return;
      const message = JSON.parse(this.buffer.subarray(start, end).toString('utf8')) as Message;
      this.buffer = this.buffer.subarray(end);
      this.dispatch(message);
    }
  }

  private dispatch(message: Message): void {
    if (message.method !== undefined && message.id !== undefined) {
      this.send({ jsonrpc: '2.0', id: message.id, result: this.answer(message.method, message.params) });
      return;
    }
    if (message.method !== undefined) {
      this.notifications.push({ method: message.method, params: message.params });
      for (let i = 0; i < this.waiters.length; i++) {
        const w = this.waiters[i];
        if (w.method === message.method && w.accept(message.params)) {
          this.waiters.splice(i--, 1);
          w.resolve(message.params);
        }
      }
      return;
    }
    const waiting = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
    if (!waiting) return;
    this.pending.delete(message.id as number);
    if (message.error) waiting.reject(new Error(`LSP error ${message.error.code}: ${message.error.message}`));
    else waiting.resolve(message.result);
  }

  /** The client's side of the requests a server makes. */
  private answer(method: string, params: unknown): unknown {
    if (method === 'workspace/configuration') {
      const items = (params as { items?: { section?: string }[] }).items ?? [];
      return items.map((item) => this.configuration(item.section));
    }
    return null; // client/registerCapability, window/workDoneProgress/create, ...
  }
}
