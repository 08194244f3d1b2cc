/**
 * Leader election with the lease kept in the Swarm itself: a config named
 * `swarm-controller-lease.<apply set>` whose labels say who holds it. Taking or renewing it is
 * a compare-and-swap on the config's version index, so two replicas can never both succeed.
 * Like client-go's leaderelection, expiry is judged by the observer's own clock (how long the
 * record has gone unchanged), never by comparing timestamps written by another machine.
 */
import type { SwarmRecords } from '../api/swarm-access.js';
import type { SwarmConfig } from '../api/swarm-types.js';
import type { Clock } from '../queue/clock.js';

export const labelHolder = 'swarm.controller/lease-holder';
export const labelRenewed = 'swarm.controller/lease-renewed';
export const labelDuration = 'swarm.controller/lease-duration-ms';

export interface LeaseOptions {
  name: string;
  identity: string;
  durationMs: number;
  clock: Clock;
}

export class LeaderLease {
  private observedVersion = -1;
  private observedAt = 0;
  private leading = false;

  constructor(
    private readonly records: SwarmRecords,
    readonly options: LeaseOptions,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** Who holds the lease as last seen ("" when free). */
  holder = '';

  /** One round: take, keep or wait for the lease. Returns whether this replica now leads. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { clock, identity, durationMs, name } = this.options;
    const labels = {
      [labelHolder]: identity,
      [labelRenewed]: new Date(clock.now()).toISOString(),
      [labelDuration]: String(durationMs),
    };
    let current: SwarmConfig | undefined;
    try {
      current = await this.records.findConfig(name);
      if (!current) {
        await this.records.createConfig(name, labels, `lease for ${name}`);
        return this.become(true, identity);
      }
      const holder = current.Spec.Labels?.[labelHolder] ?? '';
      this.holder = holder;
      if (current.Version.Index !== this.observedVersion) {
        this.observedVersion = current.Version.Index;
        this.observedAt = clock.now();
      }
      const expired = holder === '' || clock.now() - this.observedAt >= durationMs;
      if (holder !== identity && !expired) return this.become(false, holder);
      await this.records.updateConfigLabels(current, labels);
      return this.become(true, identity);
    } catch {
      // Lost a race (409 or a stale version) or the engine is unreachable: not leading now.
      return this.become(false, this.holder);
    }
  }

  /** Gives the lease up so another replica can take it at once (on SIGTERM). */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    const current = await this.records.findConfig(this.options.name).catch(() => undefined);
    if (current && current.Spec.Labels?.[labelHolder] === this.options.identity) {
      await this.records
        .updateConfigLabels(current, { ...current.Spec.Labels, [labelHolder]: '' })
        .catch(() => undefined);
    }
  }

  private become(leading: boolean, holder: string): boolean {
    this.leading = leading;
    this.holder = holder;
    return leading;
  }
}
