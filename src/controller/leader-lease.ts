/**
 * Leader election with the lease kept in the Swarm itself: a config named
 * `swarm-controller-lease.<apply set>` whose labels say who holds it. Taking or renewing it is
 * a compare-and-swap on the config's version index, so two replicas can never both succeed.
 * Like client-go's leaderelection, expiry is judged by the observer's own clock (how long the
 * record has gone unchanged), never by comparing timestamps written by another machine.
 *
 * Fencing: a standby takes the lease no sooner than `durationMs` after it first saw the last
 * renewal, which was written after that renewal's round started. So the holder counts itself
 * leader only until its last successful round's start plus `holdFraction` of the lease
 * (`validUntil`, on its own clock), and a round that has not finished by then (an engine that
 * cannot reach quorum holds a write for as long as it waits for a leader) is given up as lost:
 * the old leader stops before a new one can start, whatever the engine does meanwhile. A write
 * that lands late cannot make two leaders either: the next taker's compare-and-swap fails.
 */
import type { SwarmRecords } from '../api/swarm-access.js';
import type { SwarmConfig } from '../api/swarm-types.js';
import type { Clock } from '../queue/clock.js';
import { SwarmUnavailableError } from '../errors.js';

export const labelHolder = 'swarm.controller/lease-holder';
export const labelRenewed = 'swarm.controller/lease-renewed';
export const labelDuration = 'swarm.controller/lease-duration-ms';

export interface LeaseOptions {
  name: string;
  identity: string;
  durationMs: number;
  clock: Clock;
}

/**
 * The part of the lease the holder may use: the rest is margin for clocks that run at slightly
 * different rates and for the time between the round's start and the engine's commit.
 */
export const holdFraction = 0.8;

export class LeaderLease {
  private observedVersion = -1;
  private observedAt = 0;
  private leading = false;
  private round = 0;
  /** Clock time until which this replica may act as leader (0: not leading). */
  validUntil = 0;

  constructor(
    private readonly records: SwarmRecords,
    readonly options: LeaseOptions,
  ) {}

  /** Leading, and the last successful round is recent enough: what every write is fenced by. */
  get isLeader(): boolean {
    return this.leading && this.options.clock.now() < this.validUntil;
  }

  /** Who holds the lease as last seen ("" when free). */
  holder = '';

  /**
   * Why the last round could not reach the Swarm (no quorum, no engine, no answer in time), or
   * undefined when the Swarm answered it (a lost race is an answer).
   */
  unavailable: SwarmUnavailableError | undefined;

  /**
   * One round: take, keep or wait for the lease. Returns whether this replica now leads. A round
   * is bounded: a leader's by its `validUntil`, anyone's by the lease time; one that runs over
   * counts as lost, and whatever it does when it ends is ignored.
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { clock, durationMs } = this.options;
    const round = ++this.round;
    const startedAt = clock.now();
    const limit = this.isLeader ? this.validUntil - startedAt : durationMs;
    const timer = new AbortController();
    const outcome = await Promise.race([
      this.attempt(),
      clock.sleep(limit, timer.signal).then(
        () => 'timeout' as const,
        () => 'timeout' as const,
      ),
    ]);
    timer.abort();
    if (round !== this.round) return this.isLeader; // a later round decided meanwhile
    if (outcome === 'timeout') {
      this.unavailable = new SwarmUnavailableError(
        'no-answer',
        `the lease round had no answer from the engine within ${limit} ms`,
      );
      return this.become(false, this.holder);
    }
    this.unavailable = outcome.unavailable;
    if (!outcome.leading) return this.become(false, outcome.holder);
    // (a round that succeeded only after its own hold had passed leads from the next round on)
    this.validUntil = startedAt + Math.floor(durationMs * holdFraction);
    return this.become(clock.now() < this.validUntil, outcome.holder);
  }

  private async attempt(): Promise<{ leading: boolean; holder: string; unavailable?: SwarmUnavailableError }> {
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
        return { leading: true, holder: identity };
      }
      const holder = current.Spec.Labels?.[labelHolder] ?? '';
      if (current.Version.Index !== this.observedVersion) {
        this.observedVersion = current.Version.Index;
        this.observedAt = clock.now();
      }
      const expired = holder === '' || clock.now() - this.observedAt >= durationMs;
      if (holder !== identity && !expired) return { leading: false, holder };
      await this.records.updateConfigLabels(current, labels);
      return { leading: true, holder: identity };
    } catch (err) {
      // Lost a race (409 or a stale version) or the Swarm cannot answer: not leading now.
      return {
        leading: false,
        holder: this.holder,
        ...(err instanceof SwarmUnavailableError ? { unavailable: err } : {}),
      };
    }
  }

  /** Gives the lease up so another replica can take it at once (on SIGTERM). */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.validUntil = 0;
    this.round++;
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
    if (!leading) this.validUntil = 0;
    return leading;
  }
}
