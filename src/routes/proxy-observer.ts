/**
 * Reads what each proxy replica sees of the routes' servers (GET /v1/stats: HAProxy's health
 * and weight per task), for the status and the dashboard. Bounded in rate: one round every
 * `intervalMs`, and in a round one request per replica (all replicas at once, each with the
 * client's deadline), so at most one request is in flight to each replica. A failed read
 * forgets that replica's view (its servers show `unknown`) and says why. The leader only:
 * route-sync.ts gives it no replicas while it stands by. Pure merging is proxy-view.ts's.
 */
import type { Logger } from '../log.js';
import type { Clock } from '../queue/clock.js';
import type { AgentStatsReader } from './agent-client.js';
import { seenServers, type ReplicaView } from './proxy-view.js';
import type { ProxyReplica } from './swarm-facts.js';

export interface ProxyObserverOptions {
  reader: AgentStatsReader;
  clock: Clock;
  log: Logger;
  /** How often each replica is read (default 5 s). */
  intervalMs?: number;
  /** After every round (tests). */
  onRound?: (views: ReplicaView[]) => void;
}

interface Observed extends ProxyReplica {
  view: ReplicaView;
}

export class ProxyObserver {
  private readonly replicas = new Map<string, Observed>();
  private readonly abort = new AbortController();
  private stopped = false;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(private readonly o: ProxyObserverOptions) {}

  get intervalMs(): number {
    return this.o.intervalMs ?? 5000;
  }

  setReplicas(list: ProxyReplica[]): void {
    const seen = new Set(list.map((p) => p.task));
    for (const p of list) {
      const r = this.replicas.get(p.task);
      if (r) r.address = p.address;
      else
        this.replicas.set(p.task, {
          ...p,
          view: { task: p.task, error: 'not read yet', servers: new Map() },
        });
    }
    for (const task of [...this.replicas.keys()]) if (!seen.has(task)) this.replicas.delete(task);
  }

  /** Each current replica's last view, by task. */
  views(): ReplicaView[] {
    return [...this.replicas.values()].map((r) => r.view);
  }

  start(): void {
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loopDone;
  }

  /** One round: reads every replica once. */
  async round(): Promise<void> {
    await Promise.all(
      [...this.replicas.values()].map(async (r) => {
        const answer = await this.o.reader.getStats(r.address);
        if (this.replicas.get(r.task) !== r) return; // gone meanwhile
        if (answer.ok) r.view = { task: r.task, error: null, servers: seenServers(answer.value) };
        else {
          if (r.view.error === null)
            this.o.log.warn({ task: r.task, err: answer.error }, "cannot read the proxy replica's view of the servers");
          r.view = { task: r.task, error: answer.error, servers: new Map() };
        }
      }),
    );
    this.o.onRound?.(this.views());
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.round();
      await this.o.clock.sleep(this.intervalMs, this.abort.signal);
    }
  }
}
