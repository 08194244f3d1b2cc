/**
 * Collects the agent's traffic counters (GET /v1/stats): receives the request log, reads every
 * HAProxy worker's `show stat` when asked and before every change of membership or reload (so
 * that an old worker's last counts are taken before it goes, and a slot's counts stay with the
 * task that had it), and keeps them in TrafficCounters. Reads are serialised; a failed read is
 * recorded and the counters wait for the next one. Must not import src/swarm/.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { realClock, type Clock } from '../queue/clock.js';
import type { HaproxyProcess } from './haproxy-process.js';
import { parseServerStats } from './haproxy-stats.js';
import { parseRequestLog, requestLogTag } from './request-log.js';
import { RequestLogReceiver } from './request-log-receiver.js';
import type { RouteTable } from './route-table.js';
import type { SlotMap } from './slots.js';
import { TrafficCounters, type TrafficStats } from './traffic-counters.js';

export interface TrafficStatsOptions {
  haproxy: Pick<HaproxyProcess, 'workerStats'>;
  log: Logger;
  /** The time of the counters' timestamps and their retention (default the real clock). */
  clock?: Clock;
  retentionMs?: number;
}

export class TrafficStatsCollector {
  private readonly counters: TrafficCounters;
  private receiver: RequestLogReceiver | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: TrafficStatsOptions) {
    this.counters = new TrafficCounters({
      epoch: randomUUID(),
      now: () => (o.clock ?? realClock).now(),
      ...(o.retentionMs !== undefined ? { retentionMs: o.retentionMs } : {}),
    });
  }

  /** Binds the request log socket; call before rendering a configuration (it names the socket). */
  async start(): Promise<void> {
    this.receiver = await RequestLogReceiver.start((line) => {
      const rec = parseRequestLog(line);
      if (rec) this.counters.recordRequest(rec);
      else this.counters.recordOtherLine(line.startsWith(`${requestLogTag} `) ? 'unparsed' : 'haproxy');
    });
  }

  /** "127.0.0.1:<port>", where haproxy.cfg sends the request log. */
  get logTarget(): string {
    if (!this.receiver) throw new Error('the traffic statistics were not started');
    return this.receiver.target;
  }

  setTable(table: Pick<RouteTable, 'routes'>, slots: SlotMap): void {
    this.counters.setTable(table, slots);
  }

  /**
   * Reads every worker's counters, of `backends` only when given (never throws: a failure is
   * recorded in the collection status).
   */
  sample(backends?: string[]): Promise<void> {
    const run = async () => {
      try {
        const workers = await this.o.haproxy.workerStats(backends);
        for (const w of workers) {
          const rows = parseServerStats(w.statText);
          this.counters.recordWorkerSample(w.pid, rows, w.droppedLogs);
          if (w.current) this.counters.recordServerStates(rows);
        }
        this.counters.setWorkers(workers.map((w) => w.pid));
      } catch (err) {
        const message = (err as Error).message;
        this.counters.statsError(message);
        this.o.log.warn({ err: message }, 'reading the haproxy workers statistics failed');
      }
    };
    const p = this.chain.then(run, run);
    this.chain = p;
    return p;
  }

  /** A fresh read of the workers, then every counter. */
  async read(): Promise<TrafficStats> {
    await this.sample();
    if (this.receiver) this.counters.setKernelDrops(await this.receiver.kernelDrops());
    return this.counters.snapshot();
  }

  close(): void {
    this.receiver?.close();
  }
}
