/**
 * Reaching an engine at ssh://user@host the way the docker CLI does: each connection is the
 * system `ssh` client running `docker system dial-stdio` on the remote host, and the Engine API's
 * HTTP travels over that process's stdin and stdout. Using the system client means the user's
 * ~/.ssh/config, known_hosts, keys and agent apply exactly as for `docker -H ssh://...`; host keys
 * are checked by ssh itself (BatchMode: a key that does not match fails instead of prompting).
 * An http.Agent with keep-alive reuses each connection for many requests.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { AgentOptions } from 'node:http';
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { http } from '../node-http.js';

export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
}

/** The ssh command line for one connection (docker/cli connhelper/ssh, plus BatchMode). */
export function sshArgs(t: SshTarget): string[] {
  return [
    '-o',
    'ConnectTimeout=30',
    '-o',
    'BatchMode=yes',
    '-T',
    ...(t.user ? ['-l', t.user] : []),
    ...(t.port ? ['-p', String(t.port)] : []),
    '--',
    t.host,
    'docker',
    'system',
    'dial-stdio',
  ];
}

/** What went wrong, from ssh's stderr, in one line with the fix for the common cases. */
export function sshFailure(stderr: string, target: string): string {
  const host = target.replace(/^[^@]*@/, '').replace(/:\d+$/, '');
  if (/Host key verification failed/.test(stderr)) {
    return `the host key of ${host} does not match known_hosts, or is not in it (Host key verification failed). If the host was rebuilt, replace its key (ssh-keygen -R ${host}, then ssh-keyscan ${host} >> ~/.ssh/known_hosts after checking the fingerprint); otherwise do not connect`;
  }
  if (/Permission denied/.test(stderr)) {
    return `${target} refused our keys (Permission denied): put a key of ~/.ssh (or of the ssh agent) in its authorized_keys`;
  }
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^@+|^Warning: Permanently added/.test(l));
  return lines.slice(-3).join('; ') || 'no message';
}

/** A duplex over a child process's stdout (read) and stdin (write), shaped enough like a socket for http. */
class ProcessSocket extends Duplex {
  private stderr = '';
  private exited = false;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly describe: string,
  ) {
    super();
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += chunk.toString('utf8');
    });
    child.on('error', (err) => this.fail(new Error(`cannot run ssh for ${describe}: ${err.message}`)));
    // The stream ends when ssh has exited and its output is all read ('close', not 'end' of
    // stdout): a failing ssh (a host key that does not match) closes its output first, and only
    // its exit status and stderr say why.
    child.on('close', (code, signal) => {
      this.exited = true;
      if (code === 0) {
        this.push(null);
        return;
      }
      this.fail(
        new Error(`ssh to ${describe} failed (${signal ?? `exit code ${code}`}): ${sshFailure(this.stderr, describe)}`),
      );
    });
    child.stdin.on('error', () => {
      // the process is gone; its exit reports why
    });
  }

  private fail(err: Error): void {
    if (!this.destroyed) this.destroy(err);
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.exited) return cb(new Error(`ssh to ${this.describe} is closed`));
    this.child.stdin.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.child.stdin.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (!this.exited) this.child.kill('SIGTERM');
    cb(err);
  }

  // What http.Agent and ClientRequest call on a socket.
  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setTimeout(ms: number, cb?: () => void): this {
    if (cb) this.once('timeout', cb);
    void ms;
    return this;
  }
  ref(): this {
    this.child.ref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as Socket).ref?.();
    return this;
  }
  unref(): this {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as Socket).unref?.();
    return this;
  }
}

/** An http.Agent whose connections are `ssh ... docker system dial-stdio` processes. */
export class SshDialAgent extends http.Agent {
  constructor(
    private readonly target: SshTarget,
    private readonly sshBinary = process.env.SC_SSH_BINARY ?? 'ssh',
    options: AgentOptions = {},
  ) {
    super({ keepAlive: true, maxSockets: 8, ...options });
  }

  override createConnection(): Duplex {
    const child = spawn(this.sshBinary, sshArgs(this.target), { stdio: ['pipe', 'pipe', 'pipe'] });
    const who = `${this.target.user ? `${this.target.user}@` : ''}${this.target.host}${this.target.port ? `:${this.target.port}` : ''}`;
    return new ProcessSocket(child, who);
  }
}
