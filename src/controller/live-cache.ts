/**
 * A short-lived cache of the live Swarm for the reconcile loop: reconciling many keys in a
 * burst shares one pair of list calls instead of making two per key. Entries older than
 * `maxAgeMs` are re-read. A write or a Swarm event names the object it touched (`changed`):
 * `get()` re-reads when anything changed since the snapshot, `getUnless(touches)` only when
 * something the caller depends on did, so that a burst of thousands of writes does not re-read
 * (and re-plan) the whole Swarm once per write (issue 16: that made a first sync quadratic).
 * `invalidate()` drops the snapshot for everyone. The age limit grows with the cost of a read (five
 * times the last one), so that with thousands of services the loop does not spend its time
 * re-reading a Swarm that no event said changed. Actions still re-read the one object they
 * change right before writing, so the cache never supplies a version index for a write.
 */
import type { SwarmReader } from '../api/swarm-access.js';
import type { LiveState } from '../api/swarm-types.js';
import type { Clock } from '../queue/clock.js';

export class LiveCache {
  private value: { at: number; state: Promise<LiveState>; changed: Set<string> } | undefined;
  private lastReadMs = 0;

  constructor(
    private readonly reader: Pick<SwarmReader, 'readLiveState'>,
    private readonly clock: Clock,
    private readonly maxAgeMs = 1000,
  ) {}

  /** The live Swarm, re-read when it is older than the maximum age or anything changed since. */
  get(): Promise<LiveState> {
    return this.getUnless((changed) => changed.size > 0);
  }

  /**
   * The cached snapshot unless it expired or `touches` says one of the names changed since it
   * was read matters to the caller; then a fresh read (shared by every caller until it changes).
   */
  getUnless(touches: (changed: ReadonlySet<string>) => boolean): Promise<LiveState> {
    const now = this.clock.now();
    const maxAge = Math.max(this.maxAgeMs, 5 * this.lastReadMs);
    if (!this.value || now - this.value.at > maxAge || touches(this.value.changed)) {
      const state = this.reader.readLiveState();
      void state.then(
        () => void (this.lastReadMs = this.clock.now() - now),
        () => undefined,
      );
      const value = { at: now, state, changed: new Set<string>() };
      this.value = value;
      state.catch(() => {
        if (this.value === value) this.value = undefined;
      });
    }
    return this.value.state;
  }

  /** The Swarm object of this name was written or reported changed by an event. */
  changed(name: string): void {
    this.value?.changed.add(name);
  }

  invalidate(): void {
    this.value = undefined;
  }
}
