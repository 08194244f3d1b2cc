/**
 * Images pinned to registry digests, as `docker stack deploy` pins them: the manifest asks for
 * `app:1`; the spec written says `app:1@sha256:...`, so that every node runs the same image. The
 * requested reference is what the canonical model (and so every plan) holds; the digest is
 * compared beside it: a new digest under the same tag is an image change (`spec.image@digest`),
 * which restarts tasks. Without a resolved digest (`--resolve-image never`, or `changed` for an
 * image that did not change) the digest the service already runs is carried forward. Pure.
 */
import { canonicalImage, parseImageRef, withDigest, withoutDigest } from '../api/image-ref.js';
import { labelImage } from '../api/labels.js';
import type { DesiredService, ImagePin } from '../model/desired-state.js';
import type { SwarmServiceSpec } from '../api/swarm-types.js';
import type { FieldChange } from './plan.js';

/** The path of a digest change in a plan. */
export const digestPath = 'spec.image@digest';

/** The image a live spec was asked to run, and the digest it is pinned to (if any). */
export function liveImage(spec: SwarmServiceSpec | undefined): { requested: string; digest?: string } {
  const image = spec?.TaskTemplate?.ContainerSpec?.Image ?? '';
  if (!image) return { requested: '' };
  const ref = parseImageRef(image);
  const asked = spec?.Labels?.[labelImage] ?? spec?.Labels?.['com.docker.stack.image'];
  // A manifest may itself name a digest: then the digest is what was asked for.
  if (asked && parseImageRef(asked).digest && canonicalImage(asked) === canonicalImage(image)) {
    return { requested: canonicalImage(image) };
  }
  if (ref.tag && ref.digest) return { requested: canonicalImage(withoutDigest(image)), digest: ref.digest };
  return { requested: canonicalImage(image) };
}

/** Whether an image names its digest already (nothing to resolve). */
export function namesDigest(image: string): boolean {
  return !!parseImageRef(image).digest;
}

/**
 * The image to write, and the platforms to place it by: the resolved pin, else the live pin
 * carried forward while the requested image is unchanged, else the requested image as it is.
 */
export function imageToWrite(
  desired: DesiredService,
  live: SwarmServiceSpec | undefined,
): { image: string; platforms?: unknown[] } {
  const requested = desired.model.image;
  if (desired.pin && !namesDigest(requested)) {
    return { image: withDigest(requested, desired.pin.digest), platforms: desired.pin.platforms };
  }
  const current = liveImage(live);
  const livePlatforms = live?.TaskTemplate?.Placement?.Platforms;
  if (current.digest && current.requested === requested) {
    return {
      image: withDigest(requested, current.digest),
      ...(livePlatforms?.length ? { platforms: livePlatforms } : {}),
    };
  }
  return { image: requested };
}

/** A digest change as a field of the plan, when a digest was resolved and differs from the live one. */
export function digestFields(desired: DesiredService, live: SwarmServiceSpec | undefined): FieldChange[] {
  if (!desired.pin || namesDigest(desired.model.image)) return [];
  if (!live) return [{ path: digestPath, before: null, after: desired.pin.digest }];
  const current = liveImage(live);
  if (current.requested !== desired.model.image || current.digest === desired.pin.digest) return [];
  return [{ path: digestPath, before: current.digest ?? null, after: desired.pin.digest }];
}

/** The model's field changes with the digest change placed right after `spec.image` (or first). */
export function withDigestFields(fields: FieldChange[], digest: FieldChange[]): FieldChange[] {
  if (!digest.length) return fields;
  const at = fields.findIndex((f) => f.path === 'spec.image');
  return at < 0 ? [...digest, ...fields] : [...fields.slice(0, at + 1), ...digest, ...fields.slice(at + 1)];
}

/** Desired services with the digests resolved for their images. */
export function pinImages<T extends DesiredService>(services: T[], pins: Map<string, ImagePin>): T[] {
  return services.map((s) => {
    const pin = pins.get(s.model.image);
    return pin ? { ...s, pin } : s;
  });
}
