/**
 * The shared state record of an apply set: a Swarm config `swarm-controller-state.<set>` whose
 * labels hold the suspend flag and its reason (written by `controller suspend` and `resume`) and
 * the last sync request a standby forwarded (a webhook it received, for the leader to act on at
 * its next lease round). Reads it, and writes it with a compare-and-swap on the config's version,
 * trying again a few times when another writer got there first; says so when it gives up.
 */
import type { SwarmRecords } from '../api/swarm-access.js';
import { AlreadyExistsError, NotFoundError, TerminalError, TransientError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock } from '../queue/clock.js';

export const suspendRecordName = (applySet: string) => `swarm-controller-state.${applySet}`;
export const labelSuspended = 'swarm.controller/suspended';
export const labelSuspendReason = 'swarm.controller/suspend-reason';
/** Set by a standby that received a webhook; the leader syncs when it changes. */
export const labelSyncRequested = 'swarm.controller/sync-requested';
/** Set by `controller sync`: the leader syncs at once, as a manual sync (sync windows with manualSync let it pass). */
export const labelManualSyncRequested = 'swarm.controller/manual-sync-requested';

export interface SuspendState {
  suspended: boolean;
  /** Why, as `controller suspend --reason` gave it. */
  reason: string | undefined;
  /** The last sync request a standby forwarded ("<time> <identity>"), if any. */
  syncRequested: string | undefined;
  /** The last manual sync asked for with `controller sync` ("<time> <who>"), if any. */
  manualSyncRequested: string | undefined;
}

export interface SuspendRecordOptions {
  records: SwarmRecords;
  applySet: string;
  clock: Clock;
  /** Writes in all before giving up (default 5). */
  attempts?: number;
  /** Wait between them (default 100 ms). */
  retryDelayMs?: number;
}

export class SuspendRecord {
  readonly name: string;

  constructor(private readonly o: SuspendRecordOptions) {
    this.name = suspendRecordName(o.applySet);
  }

  /** The record as stored; all false and empty when there is none. */
  async read(): Promise<SuspendState> {
    const labels = (await this.o.records.findConfig(this.name))?.Spec.Labels ?? {};
    return {
      suspended: labels[labelSuspended] === 'true',
      reason: labels[labelSuspendReason] || undefined,
      syncRequested: labels[labelSyncRequested],
      manualSyncRequested: labels[labelManualSyncRequested],
    };
  }

  /** `controller suspend` and `resume`. Throws SC5004 when the record kept changing underneath. */
  async setSuspended(suspended: boolean, reason: string | undefined): Promise<void> {
    await this.write(
      { [labelSuspended]: String(suspended), [labelSuspendReason]: suspended ? (reason ?? '') : '' },
      `suspend flag of apply set ${this.o.applySet}`,
    );
  }

  /** `controller sync`: stamps the record; the leader syncs at its next lease round, as a manual sync. */
  async requestManualSync(who: string): Promise<string> {
    const stamp = `${new Date(this.o.clock.now()).toISOString()} ${who}`;
    await this.write(
      { [labelSuspended]: 'false', [labelManualSyncRequested]: stamp },
      `state of apply set ${this.o.applySet}`,
      [labelSuspended],
    );
    return stamp;
  }

  /**
   * A standby received a webhook: asks the leader to sync by stamping the record. Never throws:
   * when the record cannot be written, says why in the log (the leader still syncs at its next poll).
   */
  async requestSync(identity: string, leader: string, log: Logger): Promise<boolean> {
    const stamp = `${new Date(this.o.clock.now()).toISOString()} ${identity}`;
    try {
      await this.write(
        { [labelSuspended]: 'false', [labelSyncRequested]: stamp },
        `state of apply set ${this.o.applySet}`,
        [labelSuspended],
      );
      log.info({ event: 'sync.forwarded', leader }, 'webhook received by a standby; asked the leader to sync');
      return true;
    } catch (err) {
      log.warn(
        { event: 'sync.forward-failed', leader, record: this.name, err: (err as Error).message },
        'webhook received by a standby, but the leader could not be asked to sync; it syncs at its next poll',
      );
      return false;
    }
  }

  /**
   * Sets `labels` on the record, creating it when missing; `onlyWhenCreating` are written only
   * into a new record. Another writer's race (a stale version, a create that lost, a record
   * removed meanwhile) is tried again after `retryDelayMs`; anything else is thrown at once.
   */
  private async write(labels: Record<string, string>, description: string, onlyWhenCreating: string[] = []) {
    const attempts = this.o.attempts ?? 5;
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const current = await this.o.records.findConfig(this.name);
        if (!current) await this.o.records.createConfig(this.name, labels, description);
        else {
          const update = Object.fromEntries(Object.entries(labels).filter(([k]) => !onlyWhenCreating.includes(k)));
          await this.o.records.updateConfigLabels(current, { ...current.Spec.Labels, ...update });
        }
        return;
      } catch (err) {
        if (!(err instanceof TransientError || err instanceof AlreadyExistsError || err instanceof NotFoundError))
          throw err;
        last = err;
      }
      if (attempt < attempts) await this.o.clock.sleep(this.o.retryDelayMs ?? 100);
    }
    throw new TerminalError(
      'SC5004',
      `could not write ${this.name}: it kept changing underneath (${attempts} attempts; last: ${(last as Error).message})`,
    );
  }
}
