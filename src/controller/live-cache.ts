/**
 * A short-lived cache of the live Swarm for the reconcile loop: reconciling many keys in a
 * burst shares one pair of list calls instead of making two per key. Entries older than
 * `maxAgeMs` are re-read; every write invalidates. Actions still re-read the one object they
 * change right before writing, so the cache never supplies a version index for a write.
 */
import type { SwarmReader } from '../api/swarm-access.js';
import type { LiveState } from '../api/swarm-types.js';
import type { Clock } from '../queue/clock.js';

export class LiveCache {
  private value: { at: number; state: Promise<LiveState> } | undefined;

  constructor(
    private readonly reader: SwarmReader,
    private readonly clock: Clock,
    private readonly maxAgeMs = 1000,
  ) {}

  get(): Promise<LiveState> {
    const now = this.clock.now();
    if (!this.value || now - this.value.at > this.maxAgeMs) {
      const state = this.reader.readLiveState();
      this.value = { at: now, state };
      state.catch(() => {
        if (this.value?.state === state) this.value = undefined;
      });
    }
    return this.value.state;
  }

  invalidate(): void {
    this.value = undefined;
  }
}
