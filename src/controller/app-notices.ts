/**
 * Turns what happens to one App into notification events for its notifier (src/notify/): from
 * its sync records a revision refused (invalid manifests, a SOPS file that cannot be decrypted,
 * variables that cannot be read, an image the registry refused), a sync that failed, a sync that
 * succeeded (with a new revision), and a new revision starting; from its object statuses a drift
 * (repaired or reported) and Swarm rolling a service back. Only the replica that leads the App
 * sends. Everything here comes from status records, which hold no secret values. The notifier
 * returns at once and never throws: a receiver that fails or is slow never touches a sync.
 */
import type { NotificationEvent, ObjectNote } from '../notify/events.js';
import type { ObjectStatus, SyncRecord } from './status.js';

export interface NoticeSink {
  notify(event: NotificationEvent): void;
}

export interface AppNoticesOptions {
  app: string;
  notifier: NoticeSink;
  /** True when the source is git: revisions are commits (commit statuses are set on them). */
  git: boolean;
  now(): number;
  isLeader(): boolean;
  /** The revision being applied, and the failed objects of the last sync. */
  current(): { revision?: string; objects: ObjectStatus[] };
}

export class AppNotices {
  private commitMessage: string | undefined;

  constructor(private readonly o: AppNoticesOptions) {}

  private base(type: NotificationEvent['type'], revision: string | undefined, summary: string): NotificationEvent {
    return {
      type,
      at: this.o.now(),
      app: this.o.app,
      summary,
      ...(revision ? { revision } : {}),
      ...(revision && this.o.git ? { commit: revision } : {}),
      ...(this.commitMessage ? { commitMessage: this.commitMessage } : {}),
    };
  }

  /** A new revision starts being applied. */
  applying(revision: string, message: string | undefined): void {
    this.commitMessage = message;
    this.o.notifier.notify(this.base('sync-started', revision, `applying revision ${revision.slice(0, 12)}`));
  }

  /** A sync was recorded. */
  recorded(r: SyncRecord, leading: boolean): void {
    if (r.result === 'invalid') {
      // Standbys load and refuse revisions too; one message is enough: the leader's.
      if (!this.o.isLeader()) return;
      const image = /refused by their registry/.test(r.detail);
      this.o.notifier.notify({
        ...this.base(
          'revision-refused',
          r.revision,
          `revision ${r.revision?.slice(0, 12) ?? '?'} refused; the last good revision stays applied`,
        ),
        problems: problemLines(r.detail),
        refusal: image ? 'image' : 'invalid',
      });
      return;
    }
    if (!leading) return;
    if (r.result === 'failed' || r.result === 'fetch-failed') {
      const failed = this.o.current().objects.filter((x) => x.phase === 'Failed' || x.phase === 'Stalled');
      this.o.notifier.notify({
        ...this.base(
          'sync-failed',
          r.revision,
          `sync ${r.result === 'fetch-failed' ? 'could not fetch the source' : 'failed'}: ${r.detail}`,
        ),
        objects: failed.map(note),
        ...(r.result === 'fetch-failed' ? { problems: [r.detail] } : {}),
      });
    } else if (r.result === 'success' && r.detail !== 'in sync' && !r.detail.startsWith('loaded;')) {
      this.o.notifier.notify(
        this.base('sync-succeeded', r.revision, `revision ${r.revision?.slice(0, 12) ?? '?'} applied`),
      );
    }
  }

  /** An object status was recorded (leader only records them). */
  object(s: ObjectStatus): void {
    if (!this.o.isLeader()) return;
    const revision = this.o.current().revision;
    if (s.reason.startsWith('drift repaired:') || s.reason.startsWith('drifted from the manifests')) {
      const repaired = s.reason.startsWith('drift repaired:');
      this.o.notifier.notify({
        ...this.base(
          'drift',
          revision,
          `${s.id} drifted from the manifests; ${repaired ? 'put back' : 'reported, not repaired'}`,
        ),
        objects: [note(s)],
        driftMode: repaired ? 'repaired' : 'reported',
      });
    } else if (s.phase === 'Failed' && /roll(ed)?[ _-]?back|rollback/i.test(s.reason)) {
      this.o.notifier.notify({
        ...this.base('rollback', revision, `Swarm rolled ${s.id} back`),
        objects: [note(s)],
      });
    }
  }
}

const note = (s: ObjectStatus): ObjectNote => ({ id: s.id, reason: s.reason });

/** "2 problem(s); revision not applied, still applying X: a.yaml:3:1: error ...; b.yaml ..." -> one line per problem. */
function problemLines(detail: string): string[] {
  const keep = detail.indexOf('revision not applied');
  const colon = keep < 0 ? -1 : detail.indexOf(': ', keep);
  return (colon < 0 ? detail : detail.slice(colon + 2)).split('; ').filter(Boolean);
}
