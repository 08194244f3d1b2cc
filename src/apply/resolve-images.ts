/**
 * `--resolve-image always|changed|never`, with `docker stack deploy`'s meaning: before planning,
 * ask the registries (through the engine, with the user's logins) for the digest of each image
 * the manifests name, so that every node runs the same image and a tag pushed again is seen as a
 * change. `always`: every image; `changed`: images of services that are new or whose requested
 * image changed; `never`: none (nodes pull the tag themselves). Each distinct image is asked for
 * once. A registry that refuses the login, or has no such tag, is a problem reported against
 * each service that names the image (nothing is written); a registry that cannot be reached is a
 * warning and the image stays unpinned, as stack deploy does.
 */
import PQueue from 'p-queue';
import { refId, type ObjectRef } from '../api/object-ref.js';
import type { DesiredService, DesiredState, ImagePin } from '../model/desired-state.js';
import type { ImageRegistry } from '../api/swarm-access.js';
import type { SwarmService } from '../api/swarm-types.js';
import { RegistryError } from '../errors.js';
import { liveImage, namesDigest, pinImages } from '../plan/image-pins.js';

export type ResolveImageMode = 'always' | 'changed' | 'never';

export interface ImageProblem {
  /** The services (refIds) that name the image. */
  services: ObjectRef[];
  image: string;
  error: RegistryError;
}

export interface ResolvedImages {
  /** The desired state with each resolved digest pinned on its services. */
  desired: DesiredState;
  pins: Map<string, ImagePin>;
  /** Refused logins and missing images: apply must not go on. */
  problems: ImageProblem[];
  /** Registries that could not be reached: those images stay unpinned. */
  warnings: ImageProblem[];
}

/** The images to ask for under `mode`. */
export function imagesToResolve(
  services: DesiredService[],
  live: SwarmService[],
  mode: ResolveImageMode,
): Map<string, DesiredService[]> {
  const out = new Map<string, DesiredService[]>();
  if (mode === 'never') return out;
  const liveByName = new Map(live.map((s) => [s.Spec.Name ?? '', s]));
  for (const s of services) {
    if (namesDigest(s.model.image)) continue;
    if (mode === 'changed') {
      const current = liveByName.get(s.swarmName);
      if (current && liveImage(current.Spec).requested === s.model.image) continue;
    }
    const users = out.get(s.model.image) ?? [];
    users.push(s);
    out.set(s.model.image, users);
  }
  return out;
}

export async function resolveImages(
  desired: DesiredState,
  live: SwarmService[],
  mode: ResolveImageMode,
  registry: ImageRegistry,
  /** Digests already known for this run (controller run keeps them between syncs). */
  known: Map<string, ImagePin> = new Map(),
): Promise<ResolvedImages> {
  const wanted = imagesToResolve(desired.services, live, mode);
  const pins = new Map<string, ImagePin>();
  const problems: ImageProblem[] = [];
  const warnings: ImageProblem[] = [];
  const queue = new PQueue({ concurrency: 4 });
  await Promise.all(
    [...wanted].map(([image, users]) =>
      queue.add(async () => {
        const cached = known.get(image);
        if (cached) {
          pins.set(image, cached);
          return;
        }
        try {
          pins.set(image, await registry.resolveImage(image));
        } catch (err) {
          if (!(err instanceof RegistryError)) throw err;
          const problem = { services: users.map((u) => u.ref), image, error: err };
          (err.reason === 'unreachable' ? warnings : problems).push(problem);
        }
      }),
    ),
  );
  const order = (a: ImageProblem, b: ImageProblem) => a.image.localeCompare(b.image);
  return {
    desired: { ...desired, services: pinImages(desired.services, pins) },
    pins,
    problems: problems.sort(order),
    warnings: warnings.sort(order),
  };
}

/** "Service/shop/web, Service/shop/api" */
export function servicesNaming(p: ImageProblem): string {
  return p.services.map(refId).join(', ');
}
