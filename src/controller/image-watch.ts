/**
 * Image digests in `controller run`. At each new revision the images are resolved as
 * `--resolve-image` says (a refused login or a missing tag refuses the revision, like an invalid
 * manifest; the last good revision stays). Between revisions nothing asks the registries, so
 * resyncs cost no registry calls. With `--image-check DURATION` every image of the current
 * revision is asked for again on that interval; a new digest under a tag is rolled out as a normal
 * change (what Shepherd and Komodo are used for), and status and metrics say what was found.
 */
import type { DesiredState, ImagePin } from '../model/desired-state.js';
import type { ImageRegistry } from '../api/swarm-access.js';
import type { SwarmService } from '../api/swarm-types.js';
import { resolveImages, servicesNaming, type ResolveImageMode, type ResolvedImages } from '../apply/resolve-images.js';
import type { Logger } from '../log.js';

export interface ImageCheckRecord {
  at: string;
  /** Distinct images asked for. */
  checked: number;
  /** Images whose digest moved, and to what. */
  changed: { image: string; from?: string; to: string }[];
  /** Images the registries refused or could not be reached for. */
  failed: { image: string; error: string }[];
}

export interface ImageStatus {
  mode: ResolveImageMode;
  /** 0 when off. */
  checkIntervalMs: number;
  /** Images pinned to a digest in the revision being applied. */
  pinned: number;
  lastCheck?: ImageCheckRecord;
  /** The last check that found a new digest. */
  lastChange?: ImageCheckRecord;
}

export interface ImageMetricsSink {
  imageCheck(result: 'unchanged' | 'changed' | 'failed', changedImages: number): void;
  pinnedImages(n: number): void;
}

export class ImageWatch {
  private pins = new Map<string, ImagePin>();
  private lastCheck: ImageCheckRecord | undefined;
  private lastChange: ImageCheckRecord | undefined;

  constructor(
    private readonly registry: ImageRegistry,
    private readonly options: { mode: ResolveImageMode; checkIntervalMs: number },
    private readonly log: Logger,
    private readonly metrics: ImageMetricsSink,
    private readonly now: () => number,
  ) {}

  /** A new revision: its images resolved as --resolve-image says. */
  async forRevision(desired: DesiredState, live: SwarmService[]): Promise<ResolvedImages> {
    const r = await resolveImages(desired, live, this.options.mode, this.registry);
    for (const w of r.warnings) {
      this.log.warn({ event: 'image.unpinned', image: w.image, services: servicesNaming(w) }, w.error.message);
    }
    if (!r.problems.length) this.remember(r.pins);
    return r;
  }

  /**
   * --image-check: every image of `desired` asked for again. Returns the desired state with the
   * new digests when one moved, else undefined.
   */
  async check(desired: DesiredState): Promise<DesiredState | undefined> {
    const r = await resolveImages(desired, [], 'always', this.registry);
    // A digest we knew that moved is a change; one we did not know yet (--resolve-image changed
    // left it to the live pin) is learnt, and the plan compares it with what runs.
    const changed: ImageCheckRecord['changed'] = [];
    let learnt = 0;
    for (const [image, pin] of r.pins) {
      const known = this.pins.get(image);
      if (!known) learnt++;
      else if (known.digest !== pin.digest) changed.push({ image, from: known.digest, to: pin.digest });
    }
    const failed = [...r.problems, ...r.warnings].map((p) => ({ image: p.image, error: p.error.message }));
    this.lastCheck = { at: new Date(this.now()).toISOString(), checked: r.pins.size + failed.length, changed, failed };
    if (changed.length) this.lastChange = this.lastCheck;
    this.metrics.imageCheck(changed.length ? 'changed' : failed.length ? 'failed' : 'unchanged', changed.length);
    for (const f of failed) this.log.warn({ event: 'image.check.failed', image: f.image }, f.error);
    if (!changed.length && !learnt) return undefined;
    for (const c of changed) {
      this.log.info({ event: 'image.digest.changed', ...c }, `image ${c.image} has a new digest: rolling it out`);
    }
    this.remember(new Map([...this.pins, ...r.pins]));
    // Keep the pins of images that could not be asked this time (their last known digest).
    const services = desired.services.map((s) => {
      const pin = this.pins.get(s.model.image);
      return pin && !s.model.image.includes('@') ? { ...s, pin } : s;
    });
    return { ...desired, services };
  }

  status(): ImageStatus {
    return {
      mode: this.options.mode,
      checkIntervalMs: this.options.checkIntervalMs,
      pinned: this.pins.size,
      ...(this.lastCheck ? { lastCheck: this.lastCheck } : {}),
      ...(this.lastChange ? { lastChange: this.lastChange } : {}),
    };
  }

  private remember(pins: Map<string, ImagePin>): void {
    this.pins = new Map(pins);
    this.metrics.pinnedImages(this.pins.size);
  }
}
