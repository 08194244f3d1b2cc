/**
 * Writes one status document stream (an apply set's, an app's or the route tier's) into the
 * Swarm while this replica leads, in the carrier of src/status/format.ts: every version is a
 * new config (configs are immutable) named with the next sequence number, and older versions
 * are removed once a newer one exists, the newest `keep` left so a reader never finds none.
 *
 * Bounded in rate and size: it looks every `intervalMs` and writes only when the document
 * changed, or when `heartbeatMs` passed since the last write (so readers can tell a live leader
 * from a gone one); codec.ts keeps every version under the size budget. A failed write is
 * logged (once per run of failures) and tried again at the next look; it never throws.
 */
import { createHash } from 'node:crypto';
import type { SwarmReader, SwarmRecords, SwarmWriter } from '../api/swarm-access.js';
import type { SwarmConfig } from '../api/swarm-types.js';
import { AlreadyExistsError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock } from '../queue/clock.js';
import { encodeStatus } from '../status/codec.js';
import {
  labelSequence,
  labelStatusOf,
  statusApiVersion,
  statusConfigName,
  statusOfValue,
  type StatusDocument,
  type StatusRef,
} from '../status/format.js';
import type { StatusBody } from './status-document.js';

export interface StatusWrite {
  configName: string;
  sequence: number;
  /** Stored (gzip) and JSON sizes. */
  bytes: number;
  jsonBytes: number;
  /** Objects or routes cut to stay within the budget. */
  cut: number;
}

export interface StatusPublisherOptions {
  swarm: Pick<SwarmReader, 'listConfigs'> & Pick<SwarmRecords, 'createConfig'> & Pick<SwarmWriter, 'removeConfig'>;
  ref: StatusRef;
  identity: string;
  version: string;
  clock: Clock;
  log: Logger;
  /** The document body now; undefined: nothing to write yet. */
  build: () => StatusBody | undefined;
  /** True while this replica should write (it leads). */
  active: () => boolean;
  /** How often to look for a change (default 5 s): the most writes per interval is one. */
  intervalMs?: number;
  /** Rewrite an unchanged document this often (default 60 s). */
  heartbeatMs?: number;
  /** Versions kept (default 2). */
  keep?: number;
  /** After every write (tests, benchmarks). */
  onWrite?: (w: StatusWrite) => void;
}

export class StatusPublisher {
  private readonly abort = new AbortController();
  private stopped = false;
  private wasActive = false;
  /** Our view of the versions in the Swarm: name → sequence, ID. */
  private versions: { name: string; id: string; sequence: number }[] = [];
  private nextSequence: number | undefined;
  private lastHash = '';
  private lastWriteAt = -Infinity;
  private failing = false;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(private readonly o: StatusPublisherOptions) {}

  get intervalMs(): number {
    return this.o.intervalMs ?? 5000;
  }

  get heartbeatMs(): number {
    return this.o.heartbeatMs ?? 60_000;
  }

  start(): void {
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.tick();
      await this.o.clock.sleep(this.intervalMs, this.abort.signal);
    }
  }

  /** One look: writes when active and the document changed or the heartbeat is due. */
  async tick(): Promise<StatusWrite | undefined> {
    const active = this.o.active();
    const becameActive = active && !this.wasActive;
    this.wasActive = active;
    if (!active) return undefined;
    if (becameActive) this.nextSequence = undefined; // another leader may have written meanwhile
    const body = this.o.build();
    if (!body) return undefined;
    const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const now = this.o.clock.now();
    if (hash === this.lastHash && now - this.lastWriteAt < this.heartbeatMs) return undefined;
    try {
      const w = await this.write(body, now);
      this.lastHash = hash;
      this.lastWriteAt = now;
      if (this.failing)
        this.o.log.info({ event: 'status.write-recovered', config: w.configName }, 'status written again');
      this.failing = false;
      this.o.onWrite?.(w);
      return w;
    } catch (err) {
      if (!this.failing)
        this.o.log.warn(
          { event: 'status.write-failed', ref: statusOfValue(this.o.ref), err: (err as Error).message },
          'cannot write the status into the Swarm; trying again',
        );
      this.failing = true;
      this.nextSequence = undefined;
      return undefined;
    }
  }

  private async write(body: StatusBody, now: number): Promise<StatusWrite> {
    for (let attempt = 1; ; attempt++) {
      if (this.nextSequence === undefined) await this.refresh();
      const sequence = this.nextSequence!;
      const doc = {
        ...body,
        apiVersion: statusApiVersion,
        sequence,
        writtenAt: new Date(now).toISOString(),
        writer: { identity: this.o.identity, version: this.o.version },
        heartbeatMs: this.heartbeatMs,
      } as StatusDocument;
      const encoded = encodeStatus(doc);
      const name = statusConfigName(this.o.ref, sequence);
      let id: string;
      try {
        id = await this.o.swarm.createConfig(name, encoded.labels, encoded.data);
      } catch (err) {
        // Another writer (a leader of a moment ago) took this sequence: read again, go above it.
        if (err instanceof AlreadyExistsError && attempt < 3) {
          this.nextSequence = undefined;
          continue;
        }
        throw err;
      }
      this.nextSequence = sequence + 1;
      this.versions.push({ name, id, sequence });
      await this.removeOld();
      const t = encoded.document.truncated;
      return {
        configName: name,
        sequence,
        bytes: encoded.data.length,
        jsonBytes: encoded.jsonBytes,
        cut: t?.objects ?? 0,
      };
    }
  }

  /** The versions in the Swarm, and the next sequence above all of them. */
  private async refresh(): Promise<void> {
    const configs = await this.o.swarm.listConfigs([`${labelStatusOf}=${statusOfValue(this.o.ref)}`]);
    const seq = (c: SwarmConfig) => Number(c.Spec.Labels?.[labelSequence] ?? 0);
    this.versions = configs.map((c) => ({ name: c.Spec.Name, id: c.ID, sequence: seq(c) }));
    this.nextSequence = Math.max(0, ...this.versions.map((v) => v.sequence)) + 1;
  }

  private async removeOld(): Promise<void> {
    const keep = this.o.keep ?? 2;
    this.versions.sort((a, b) => b.sequence - a.sequence);
    const old = this.versions.splice(keep);
    for (const v of old) {
      try {
        await this.o.swarm.removeConfig(v.id);
      } catch (err) {
        // Left for the next write to try (it is re-listed after any failure).
        this.o.log.debug({ config: v.name, err: (err as Error).message }, 'old status version not removed yet');
        this.versions.push(v);
      }
    }
  }
}
