/**
 * The HAProxy master process beside the agent: start (master-worker, foreground), check a
 * candidate configuration (`haproxy -c`), reload through the master CLI and wait for the new
 * worker, Runtime API commands on the worker's stats socket, stop. Owns every HAProxy child
 * the agent starts; reads every worker's counters through the master CLI. Must not import src/swarm/.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { realClock, type Clock } from '../queue/clock.js';

export interface HaproxyOptions {
  binary: string;
  stateDir: string;
  log: Logger;
  /** Deadlines, polling and the SIGKILL after a grace time (default the real clock). */
  clock?: Clock;
}

export interface ProcInfo {
  masterPid: number;
  reloads: number;
  failedReloads: number;
  workers: number[];
  /** Workers of earlier configurations still finishing their connections. */
  oldWorkers: number[];
}

/** One worker's `show info` DroppedLogs and `show stat` text (servers only). */
export interface WorkerStats {
  pid: number;
  current: boolean;
  droppedLogs: number;
  statText: string;
}

/** One command on a unix socket in non-interactive mode: write, half-close, read to the end. */
export function socketCommand(
  path: string,
  command: string,
  timeoutMs = 5000,
  clock: Clock = realClock,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const answered = new AbortController();
    const c = connect(path, () => c.end(`${command}\n`));
    void clock.sleep(timeoutMs, answered.signal).then(() => {
      if (answered.signal.aborted) return;
      c.destroy();
      reject(new Error(`no answer to "${command}" on ${path} within ${timeoutMs} ms`));
    });
    c.setEncoding('utf8');
    c.on('data', (d: string) => (out += d));
    c.on('error', (err) => {
      answered.abort();
      reject(err);
    });
    c.on('close', () => {
      answered.abort();
      resolve(out);
    });
  });
}

/** Parses the master CLI's `show proc`: the master's pid and reload count, current workers. */
export function parseShowProc(text: string): ProcInfo {
  let section = 'head';
  const info: ProcInfo = { masterPid: 0, reloads: 0, failedReloads: 0, workers: [], oldWorkers: [] };
  for (const line of text.split('\n')) {
    if (line.startsWith('# workers')) section = 'workers';
    else if (line.startsWith('# old workers')) section = 'old';
    else if (line.startsWith('#')) section = line.startsWith('#<PID>') ? 'head' : 'other';
    else {
      const f = line.trim().split(/\s+/);
      if (f.length < 3) continue;
      if (f[1] === 'master') {
        info.masterPid = Number(f[0]);
        info.reloads = Number(f[2]);
        info.failedReloads = Number(/\[failed: (\d+)\]/.exec(line)?.[1] ?? 0);
      } else if (section === 'workers' && f[1] === 'worker') info.workers.push(Number(f[0]));
      else if (section === 'old' && f[1] === 'worker') info.oldWorkers.push(Number(f[0]));
    }
  }
  return info;
}

/** Runtime API answers: empty on success, an informational "... changed from ..." for addr, else an error. */
export function runtimeAnswerError(answer: string): string | undefined {
  const t = answer.trim();
  if (t === '' || /changed from|no need to change/.test(t)) return undefined;
  return t;
}

export class HaproxyProcess {
  private child: ChildProcess | undefined;
  private exited = false;
  private stderrTail: string[] = [];
  private readonly killOnExit = () => this.child?.kill('SIGKILL');
  readonly configPath: string;
  readonly masterSocket: string;
  readonly statsSocket: string;
  private readonly clock: Clock;

  constructor(private readonly o: HaproxyOptions) {
    this.clock = o.clock ?? realClock;
    this.configPath = join(o.stateDir, 'haproxy.cfg');
    this.masterSocket = join(o.stateDir, 'master.sock');
    this.statsSocket = join(o.stateDir, 'haproxy.sock');
  }

  get running(): boolean {
    return !!this.child && !this.exited;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** `haproxy -c -f file`: undefined when valid, else HAProxy's messages. */
  check(file: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      execFile(this.o.binary, ['-c', '-f', file], { timeout: 30_000 }, (err, stdout, stderr) => {
        if (!err) return resolve(undefined);
        const lines = `${stdout}${stderr}`.split('\n').filter((l) => l.trim());
        const text = (
          lines.some((l) => !l.includes('[NOTICE]')) ? lines.filter((l) => !l.includes('[NOTICE]')) : lines
        ).join('\n');
        resolve(text || (err as Error).message);
      });
    });
  }

  /** Starts the master with the configuration already written at configPath; resolves when a worker answers. */
  async start(timeoutMs = 10_000): Promise<void> {
    const child = spawn(this.o.binary, ['-W', '-db', '-S', this.masterSocket, '-f', this.configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    process.on('exit', this.killOnExit);
    const onLine = (stream: string) => (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        this.stderrTail = [...this.stderrTail.slice(-19), line];
        this.o.log.info({ haproxy: stream }, line);
      }
    };
    child.stdout.on('data', onLine('stdout'));
    child.stderr.on('data', onLine('stderr'));
    child.on('exit', (code, signal) => {
      this.exited = true;
      process.off('exit', this.killOnExit);
      this.o.log.info({ code, signal }, 'haproxy exited');
    });
    child.on('error', (err) => this.o.log.error({ err }, 'haproxy could not be started'));
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      if (this.exited) throw new Error(`haproxy exited at start: ${this.stderrTail.join('\n')}`);
      const proc = await this.showProc().catch(() => undefined);
      if (proc?.workers.length) {
        const pid = await this.workerPid().catch(() => undefined);
        if (pid !== undefined && proc.workers.includes(pid)) return;
      }
      if (this.clock.now() > deadline)
        throw new Error(`haproxy did not start within ${timeoutMs} ms: ${this.stderrTail.join('\n')}`);
      await this.clock.sleep(20);
    }
  }

  async showProc(): Promise<ProcInfo> {
    return parseShowProc(await this.command(this.masterSocket, 'show proc'));
  }

  /** The pid of the worker that owns the stats socket now. */
  async workerPid(): Promise<number> {
    const m = /^Pid: (\d+)$/m.exec(await this.command(this.statsSocket, 'show info'));
    if (!m) throw new Error('show info gave no Pid');
    return Number(m[1]);
  }

  /**
   * Reloads (the master re-reads configPath) and resolves when a new worker runs and owns
   * the stats socket. The old worker finishes its connections (hard-stop-after 30s).
   */
  async reload(timeoutMs = 15_000): Promise<void> {
    const before = await this.showProc();
    const oldWorkers = new Set(before.workers);
    await this.command(this.masterSocket, 'reload').catch(() => undefined); // the master closes the socket while it re-executes
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      if (this.exited) throw new Error(`haproxy exited during a reload: ${this.stderrTail.join('\n')}`);
      const proc = await this.showProc().catch(() => undefined);
      if (proc && proc.reloads > before.reloads) {
        const fresh = proc.workers.filter((p) => !oldWorkers.has(p));
        if (fresh.length) {
          const pid = await this.workerPid().catch(() => undefined);
          if (pid !== undefined && fresh.includes(pid)) return;
        }
      }
      if (proc && proc.failedReloads > before.failedReloads)
        throw new Error(
          `haproxy could not load the new configuration (the old worker keeps serving): ${this.stderrTail.slice(-5).join('\n')}`,
        );
      if (this.clock.now() > deadline)
        throw new Error(
          `no new haproxy worker within ${timeoutMs} ms after a reload: ${this.stderrTail.slice(-5).join('\n')}`,
        );
      await this.clock.sleep(10);
    }
  }

  /**
   * DroppedLogs and the server rows of `show stat` from every worker, current and old, each
   * through the master CLI (`@!<pid>`): an old worker's counters are readable only until it
   * exits. A worker that exits between `show proc` and its read is left out. `backends`: only
   * these backends' servers (one `show stat <backend>` each), else every server.
   */
  async workerStats(backends?: string[]): Promise<WorkerStats[]> {
    const stat = backends ? backends.map((b) => `show stat ${b} 4 -1`).join('; ') : 'show stat -1 4 -1';
    const proc = await this.showProc();
    const out: WorkerStats[] = [];
    for (const [pid, current] of [
      ...proc.workers.map((p) => [p, true] as const),
      ...proc.oldWorkers.map((p) => [p, false] as const),
    ]) {
      const text = await socketCommand(this.masterSocket, `@!${pid}; show info; ${stat}`).catch((err: Error) => {
        if (current) throw err;
        return '';
      });
      const dropped = /^DroppedLogs: (\d+)$/m.exec(text);
      const at = text.indexOf('# pxname');
      if (!dropped || at < 0) {
        if (current) throw new Error(`worker ${pid} gave no statistics: ${text.slice(0, 200)}`);
        continue;
      }
      out.push({ pid, current, droppedLogs: Number(dropped[1]), statText: text.slice(at) });
    }
    return out;
  }

  /** Runs Runtime API commands in order; throws on the first error with HAProxy's answer. */
  async runtime(commands: string[]): Promise<void> {
    for (const cmd of commands) {
      const err = runtimeAnswerError(await this.command(this.statsSocket, cmd));
      if (err) throw new Error(`haproxy refused "${cmd}": ${err}`);
    }
  }

  /** SIGTERM to the master (workers stop with it), SIGKILL after graceMs. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const exited = new AbortController();
    void this.clock.sleep(graceMs, exited.signal).then(() => {
      if (!exited.signal.aborted) child.kill('SIGKILL');
    });
    await gone;
    exited.abort();
  }

  private command(socket: string, command: string): Promise<string> {
    return socketCommand(socket, command, 5000, this.clock);
  }
}
