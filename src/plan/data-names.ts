/**
 * Which Swarm object a service mounts for each desired Config and Secret. Normally the version
 * named after the content, `<stem>.<hash10>`; but Swarm cannot rename an object, so one taken
 * over from `docker stack deploy` keeps the name stack deploy gave it, the bare stem
 * (`<namespace>_<name>`). Where the Swarm holds the desired content under the bare stem, services
 * keep mounting it by that name: a version of ours (labelled with that content's hash), or, with
 * --adopt, one not yet labelled whose content matches (a config's data is compared; a secret's
 * cannot be read back from Swarm, so it is taken as the manifest's). The plan decides these
 * names once (Plan.dataNames) and apply follows them. Pure.
 */
import { ownershipOf } from '../api/labels.js';
import { contentHash, mountedName, type DesiredData } from '../api/data-model.js';
import { labelSpecHash } from '../api/labels.js';
import type { LiveState } from '../api/swarm-types.js';
import type { DesiredService } from '../model/desired-state.js';

/** Version name -> the name services mount instead; only entries that differ. */
export type DataNames = Record<string, string>;

export function resolveDataNames(desired: DesiredData[], live: LiveState, adopt: boolean): DataNames {
  const out: DataNames = {};
  for (const d of desired) {
    if (d.external || d.named) continue;
    const kind = d.ref.kind;
    const objects: {
      Spec: { Name: string; Labels?: Record<string, string>; Data?: string; Templating?: { Name?: string } | null };
    }[] = kind === 'Config' ? live.configs : live.secrets;
    const version = mountedName(d);
    if (objects.some((o) => o.Spec.Name === version)) continue;
    const bare = objects.find((o) => o.Spec.Name === d.swarmName);
    if (!bare || (bare.Spec.Templating?.Name || null) !== d.model.templateDriver) continue;
    const content = d.model.content.replace(/^sha256:/, '');
    const own = ownershipOf(bare.Spec.Labels);
    const holds =
      own.state === 'owned'
        ? bare.Spec.Labels?.[labelSpecHash] === content
        : adopt &&
          (kind === 'Secret' ||
            (bare.Spec.Data !== undefined && contentHash(Buffer.from(bare.Spec.Data, 'base64')) === content));
    if (holds) out[version] = d.swarmName;
  }
  return out;
}

/** The services with their config and secret mounts renamed as `names` says. */
export function remountServices(services: DesiredService[], names: DataNames): DesiredService[] {
  if (Object.keys(names).length === 0) return services;
  const rename = <M extends { name: string }>(m: M): M => (names[m.name] ? { ...m, name: names[m.name] } : m);
  return services.map((s) => ({
    ...s,
    model: { ...s.model, secrets: s.model.secrets.map(rename), configs: s.model.configs.map(rename) },
  }));
}
