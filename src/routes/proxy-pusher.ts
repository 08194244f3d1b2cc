/**
 * Keeps every proxy replica on the desired route table. One loop per replica, so at most one
 * request is in flight to each and it always carries the newest table: an older generation is
 * never sent after a newer one. A push that fails (no answer, 5xx) is retried with backoff; a
 * table the agent refuses (422: HAProxy or the certificate check said no) is not sent again
 * until the table changes, and the replica keeps serving its last good one. Every
 * `verifyIntervalMs` each replica's status is read back, so a restarted agent is caught up.
 */
import type { Logger } from '../log.js';
import type { Clock, Random } from '../queue/clock.js';
import { backoffDelay, type BackoffPolicy } from '../queue/backoff.js';
import type { RouteTable } from '../proxy/route-table.js';
import type { AgentClient } from './agent-client.js';
import type { ProxyReplica } from './swarm-facts.js';

export interface ReplicaStatus {
  task: string;
  address: string;
  /** What the agent reported or acknowledged last; null until it answered once. */
  generation: number | null;
  checksum: string | null;
  inSync: boolean;
  lastError: string | null;
  lastPushAt: string | null;
}

export interface PushSink {
  push(result: 'ok' | 'refused' | 'error', seconds: number): void;
}

interface Replica extends ProxyReplica {
  generation: number | null;
  checksum: string | null;
  lastError: string | null;
  lastPushAt: number | null;
  /** The checksum of a table this replica refused; not sent again. */
  refused: string | null;
  needsStatus: boolean;
  removed: boolean;
  /** Set by wake(); the loop looks again before it sleeps, so no wake-up is lost. */
  dirty: boolean;
  waiter: (() => void) | null;
}

function wake(r: Replica): void {
  r.dirty = true;
  const w = r.waiter;
  r.waiter = null;
  w?.();
}

const retryPolicy: BackoffPolicy = { maxAttempts: Infinity, baseDelayMs: 100, maxDelayMs: 5000, jitter: true };

export interface ProxyPusherOptions {
  client: AgentClient;
  clock: Clock;
  /** The retry backoff's jitter (default Math.random). */
  random?: Random;
  log: Logger;
  sink: PushSink;
  /** How often each replica's status is read back (default 5 s). */
  verifyIntervalMs?: number;
  /** A replica holds a newer generation than the desired table (another leader pushed): number the table above it. */
  onAhead?: (generation: number) => void;
}

export class ProxyPusher {
  private desired: RouteTable | undefined;
  private readonly replicas = new Map<string, Replica>();
  private stopped = false;
  private readonly client: AgentClient;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly log: Logger;
  private readonly sink: PushSink;
  private readonly verifyIntervalMs: number;
  private readonly onAhead: (generation: number) => void;

  constructor(o: ProxyPusherOptions) {
    this.client = o.client;
    this.clock = o.clock;
    this.random = o.random ?? Math.random;
    this.log = o.log;
    this.sink = o.sink;
    this.verifyIntervalMs = o.verifyIntervalMs ?? 5000;
    this.onAhead = o.onAhead ?? (() => undefined);
  }

  get table(): RouteTable | undefined {
    return this.desired;
  }

  /** Starts a loop for each new replica, stops those of replicas gone. */
  setReplicas(list: ProxyReplica[]): void {
    const seen = new Set<string>();
    for (const p of list) {
      seen.add(p.task);
      const r = this.replicas.get(p.task);
      if (!r) {
        const fresh = this.newReplica(p);
        this.replicas.set(p.task, fresh);
        this.log.info({ task: p.task, address: p.address }, 'proxy replica found');
        void this.loop(fresh);
      } else if (r.address !== p.address) {
        r.address = p.address;
        r.needsStatus = true;
        wake(r);
      }
    }
    for (const [task, r] of this.replicas) {
      if (seen.has(task)) continue;
      r.removed = true;
      wake(r);
      this.replicas.delete(task);
      this.log.info({ task }, 'proxy replica gone');
    }
  }

  setTable(table: RouteTable): void {
    this.desired = table;
    for (const r of this.replicas.values()) wake(r);
  }

  /**
   * Asks each replica not heard from yet for its status, waiting at most `timeoutMs`; returns
   * the highest generation any replica reports (0 when none).
   */
  async learnGenerations(timeoutMs: number): Promise<number> {
    const deadline = this.clock.now() + timeoutMs;
    while (
      this.clock.now() < deadline &&
      [...this.replicas.values()].some((r) => r.generation === null && r.lastError === null)
    )
      await this.clock.sleep(20);
    return this.maxGeneration();
  }

  maxGeneration(): number {
    return Math.max(0, ...[...this.replicas.values()].map((r) => r.generation ?? 0));
  }

  /** True when every replica holds the given checksum (and there is at least one replica). */
  allHold(checksum: string): boolean {
    return this.replicas.size > 0 && [...this.replicas.values()].every((r) => r.checksum === checksum);
  }

  status(): ReplicaStatus[] {
    const want = this.desired;
    return [...this.replicas.values()]
      .map((r) => ({
        task: r.task,
        address: r.address,
        generation: r.generation,
        checksum: r.checksum,
        inSync: !!want && r.generation === want.generation && r.checksum === want.checksum,
        lastError: r.lastError,
        lastPushAt: r.lastPushAt === null ? null : new Date(r.lastPushAt).toISOString(),
      }))
      .sort((a, b) => (a.task < b.task ? -1 : 1));
  }

  stop(): void {
    this.stopped = true;
    this.setReplicas([]);
  }

  private newReplica(p: ProxyReplica): Replica {
    return {
      ...p,
      generation: null,
      checksum: null,
      lastError: null,
      lastPushAt: null,
      refused: null,
      needsStatus: true,
      removed: false,
      dirty: false,
      waiter: null,
    };
  }

  private async loop(r: Replica): Promise<void> {
    let failures = 0;
    let verifyAt = this.clock.now() + this.verifyIntervalMs;
    while (!r.removed && !this.stopped) {
      r.dirty = false;
      if (this.clock.now() >= verifyAt) {
        r.needsStatus = true;
        verifyAt = this.clock.now() + this.verifyIntervalMs;
      }
      let delay: number | undefined;
      if (r.needsStatus) {
        const s = await this.client.getStatus(r.address);
        if (r.removed) break;
        if (s.ok) {
          failures = 0;
          r.needsStatus = false;
          if (r.generation !== s.value.generation || r.checksum !== s.value.checksum) {
            if (r.generation !== null)
              this.log.warn(
                { task: r.task, reported: s.value.generation, acknowledged: r.generation },
                'proxy replica reports another table than it acknowledged (restarted?)',
              );
            r.generation = s.value.generation;
            r.checksum = s.value.checksum;
          }
          if (r.refused === null) r.lastError = null;
        } else {
          r.lastError = `status: ${s.error}`;
          delay = backoffDelay(retryPolicy, ++failures, this.random);
        }
      }
      const want = this.desired;
      if (
        delay === undefined &&
        want &&
        r.generation !== null &&
        (r.generation > want.generation || (r.generation === want.generation && r.checksum !== want.checksum))
      ) {
        this.onAhead(r.generation);
      } else if (
        delay === undefined &&
        want &&
        (r.checksum !== want.checksum || r.generation !== want.generation) &&
        r.refused !== want.checksum
      ) {
        const t0 = this.clock.now();
        const res = await this.client.putTable(r.address, want);
        const seconds = (this.clock.now() - t0) / 1000;
        r.lastPushAt = this.clock.now();
        if (r.removed) break;
        if (res.ok) {
          failures = 0;
          r.generation = res.value.generation;
          r.checksum = res.value.checksum;
          r.lastError = null;
          r.refused = null;
          this.sink.push('ok', seconds);
          continue; // the table may have moved on meanwhile
        }
        r.lastError = `generation ${want.generation}: ${res.error}`;
        if (res.status === 422 || res.status === 400) {
          r.refused = want.checksum;
          this.sink.push('refused', seconds);
          this.log.error(
            { task: r.task, generation: want.generation, error: res.error },
            'proxy replica refused the route table; it keeps serving its last good one',
          );
        } else {
          this.sink.push('error', seconds);
          r.needsStatus = true; // it may have applied the table before the answer was lost
          delay = backoffDelay(retryPolicy, ++failures, this.random);
          this.log.warn(
            { task: r.task, generation: want.generation, error: res.error, retryInMs: delay },
            'route table push failed; retrying',
          );
        }
      }
      if (r.dirty && delay === undefined) continue;
      await new Promise<void>((resolve) => {
        r.waiter = resolve;
        void this.clock.sleep(delay ?? Math.max(1, verifyAt - this.clock.now())).then(resolve);
      });
      r.waiter = null;
    }
  }
}
