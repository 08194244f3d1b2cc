/**
 * The Config and Secret part of the plan. Each managed object is a series of immutable
 * versions (`<ns>_<name>.<hash10>`): a new content is a new version (create or update), and
 * the services that mount it change with it (their changes depend on it). A labels-only change
 * updates the current version's labels. A deleted object loses all its versions once no
 * service uses them. Old versions beyond `retain` are not planned: they are collected after the
 * apply (src/apply/data-versions.ts), once nothing uses them. Contents never appear: fields
 * show `spec.content` as its sha256. Pure.
 */
import { ownershipOf } from '../api/labels.js';
import {
  contentHash,
  mountedName,
  storedData,
  versionUserLabels,
  type DataKind,
  type DesiredData,
  type StoredData,
} from '../api/data-model.js';
import type { DesiredService } from '../model/desired-state.js';
import { refId } from '../api/object-ref.js';
import type { SwarmService } from '../api/swarm-types.js';
import { diffModels } from './field-diff.js';
import type { DataChange } from './plan.js';
import { changeBase, emptyKindPlan, type KindPlan, type PlannerOptions } from './planner.js';

export interface DataPlanInput {
  kind: DataKind;
  desired: DesiredData[];
  /** Every live object of this kind (configs or secrets), labels included. */
  live: {
    ID: string;
    Version: { Index: number };
    Spec: { Name: string; Labels?: Record<string, string>; Templating?: { Name?: string } | null; Data?: string };
  }[];
  liveServices: SwarmService[];
  /** Versions mounted under another name (data-names.ts). */
  dataNames?: Record<string, string>;
}

export interface DataPlan extends KindPlan {
  /** Swarm names this plan creates (versions), for the existence checks of service mounts. */
  creates: Map<string, string>;
  /** Deleted objects: stem -> change, so service changes that let go of them can be ordered first. */
  deletes: Map<string, { change: DataChange; stored: StoredData }>;
}

const short = (content: string) => `${content.slice(0, 'sha256:'.length + 12)}…`;

export function planData(
  options: Pick<PlannerOptions, 'applySet' | 'prune' | 'adopt'>,
  input: DataPlanInput,
): DataPlan {
  const out: DataPlan = { ...emptyKindPlan(), creates: new Map(), deletes: new Map() };
  const what = input.kind.toLowerCase();
  const stored = new Map(storedData(input.kind, input.live).map((s) => [s.stem, s]));
  const liveByName = new Map(input.live.map((o) => [o.Spec.Name, o]));
  for (const d of input.desired) {
    const id = refId(d.ref);
    if (d.external) {
      if (liveByName.has(d.swarmName)) out.unchanged++;
      else
        out.blockers.push({
          id,
          code: input.kind === 'Secret' ? 'SC3011' : 'SC3019',
          message: `external ${what} "${d.swarmName}" does not exist in the Swarm`,
          fix: `create it first (docker ${what} create ${d.swarmName} FILE), or give the manifest a source instead of "external: true"`,
        });
      continue;
    }
    const name = input.dataNames?.[mountedName(d)] ?? mountedName(d);
    const s = stored.get(d.swarmName);
    const named = d.named ? liveByName.get(name) : undefined;
    const namedOwner = named && ownershipOf(named.Spec.Labels);
    if (
      namedOwner &&
      !(namedOwner.state === 'owned' && namedOwner.applySet === options.applySet) &&
      !(namedOwner.state === 'unmanaged' && options.adopt)
    ) {
      // Named explicitly and made by someone else: used as it is, like an external object.
      out.unchanged++;
      out.notes.push({
        id,
        message: `${what} "${name}" is shared: it exists (${namedOwner.state === 'owned' ? `owned by apply set "${namedOwner.applySet}"` : 'made outside the controller'}) and is used as it is`,
      });
      continue;
    }
    if (s && s.applySet !== options.applySet) {
      out.blockers.push({
        id,
        code: 'SC4001',
        message: `${what} "${d.swarmName}" belongs to apply set "${s.applySet}", not "${options.applySet}"`,
        fix: `manage it from apply set "${s.applySet}", or remove it from these manifests`,
      });
      continue;
    }
    const clash = liveByName.get(name);
    if (clash && ownershipOf(clash.Spec.Labels).state !== 'owned' && options.adopt) {
      // Swarm cannot rename it: it becomes the current version under the name it has.
      const data = clash.Spec.Data;
      if (
        input.kind === 'Config' &&
        data !== undefined &&
        `sha256:${contentHash(Buffer.from(data, 'base64'))}` !== d.model.content
      ) {
        out.blockers.push({
          id,
          code: 'SC4010',
          message: `${what} "${name}" exists with another content than the manifest's (${d.source}), and its name is fixed`,
          fix: 'make the manifest hold the content that is in the Swarm, adopt, then change it; or give it another spec.name',
        });
        continue;
      }
      const before = versionUserLabels(clash.Spec.Labels ?? {});
      out.changes.push({
        ...changeBase(d.ref, d.swarmName),
        action: 'update',
        reason: `adopt: labels only, restarts nothing (the ${what} keeps its name ${name}${input.kind === 'Secret' ? "; Swarm never returns a secret's value, so it is taken to hold the manifest's" : ''})`,
        restartsTasks: false,
        fields: diffModels({ labels: before }, { labels: d.model.labels }),
        before: { ...d.model, labels: before },
        after: d.model,
        dependsOn: [],
        desired: d,
        adopt: true,
      });
      continue;
    }
    if (clash && ownershipOf(clash.Spec.Labels).state !== 'owned') {
      out.blockers.push({
        id,
        code: 'SC4002',
        message: `${what} "${name}" exists in the Swarm but was not created by swarm-controller`,
        fix: `remove it, or rename the manifest`,
      });
      continue;
    }
    const current = s?.versions.find((v) => v.name === name);
    const newest = s?.versions[0];
    if (d.named && current && `sha256:${current.hash}` !== d.model.content) {
      out.blockers.push({
        id,
        code: 'SC4010',
        message: `${what} "${name}" is named explicitly, so its new content (${d.source}) cannot become a new version: Swarm keeps it immutable`,
        fix: `give it a new spec.name and mount that, or remove spec.name to let the controller store versions (<namespace>_<name>.<hash>)`,
      });
      continue;
    }
    if (current) {
      const fields = diffModels({ labels: versionUserLabels(current.labels) }, { labels: d.model.labels });
      if (fields.length === 0) out.unchanged++;
      else
        out.changes.push({
          ...changeBase(d.ref, d.swarmName),
          action: 'update',
          reason: 'labels changed (on the current version)',
          restartsTasks: false,
          fields,
          before: { ...d.model, labels: versionUserLabels(current.labels) },
          after: d.model,
          dependsOn: [],
          desired: d,
        });
      if (newest && newest.name !== name)
        out.notes.push({ id, message: `${what} "${d.swarmName}" goes back to its kept version ${name} (${d.source})` });
    } else {
      const users = input.liveServices
        .filter((svc) => mountsAny(svc, input.kind, new Set(s?.versions.map((v) => v.name) ?? [])))
        .map((svc) => svc.Spec.Name ?? '');
      const before = newest
        ? {
            labels: versionUserLabels(newest.labels),
            content: `sha256:${newest.hash}`,
            templateDriver: newest.templateDriver,
          }
        : null;
      const fields = diffModels(before ?? { labels: {}, content: null, templateDriver: null }, {
        labels: d.model.labels,
        content: d.model.content,
        templateDriver: d.model.templateDriver,
      });
      const reason = newest
        ? `content changed (${short(`sha256:${newest.hash}`)} -> ${short(d.model.content)}, ${d.source}): a new version${users.length ? `; ${users.join(', ')} move${users.length === 1 ? 's' : ''} to it` : ''}`
        : `not in the Swarm (${d.source}, ${d.model.size} bytes)`;
      out.changes.push({
        ...changeBase(d.ref, d.swarmName),
        action: newest ? 'update' : 'create',
        reason,
        restartsTasks: false,
        fields,
        before: before && { ...before, size: null, retain: d.model.retain },
        after: d.model,
        dependsOn: [],
        desired: d,
      });
      out.creates.set(name, id);
    }
    const kept = (s?.versions.length ?? 0) + (current ? 0 : 1);
    if (kept > d.model.retain)
      out.notes.push({
        id,
        message: `${what} "${d.swarmName}" has ${kept} versions; the oldest ${kept - d.model.retain} will be removed after the apply once no service uses them (retain ${d.model.retain})`,
      });
  }

  const desiredStems = new Set(input.desired.filter((d) => !d.external).map((d) => d.swarmName));
  for (const s of stored.values()) {
    if (s.applySet !== options.applySet || desiredStems.has(s.stem)) continue;
    if (!options.prune) {
      out.notes.push({
        id: refId(s.ref),
        message: `${what} "${s.stem}" is no longer in the manifests; it is kept (use --prune to delete it)`,
      });
      continue;
    }
    const newest = s.versions[0];
    const change: DataChange = {
      ...changeBase(s.ref, s.stem),
      action: 'delete',
      reason: `no longer in the manifests (${s.versions.length} version${s.versions.length === 1 ? '' : 's'})`,
      restartsTasks: false,
      fields: [],
      before: { labels: versionUserLabels(newest.labels), content: `sha256:${newest.hash}` },
      after: null,
      dependsOn: [],
      desired: null,
    };
    out.deletions.push(change);
    out.deletes.set(s.stem, { change, stored: s });
  }
  return out;
}

/** Whether a live service mounts any of these names. */
export function mountsAny(svc: SwarmService, kind: DataKind, names: Set<string>): boolean {
  const c = svc.Spec.TaskTemplate?.ContainerSpec;
  const refs =
    kind === 'Secret'
      ? (c?.Secrets ?? []).map((r) => r.SecretName ?? '')
      : (c?.Configs ?? []).map((r) => r.ConfigName ?? '');
  return refs.some((n) => names.has(n));
}

/** The Swarm names a desired service mounts, by kind. */
export function mountedNames(s: DesiredService, kind: DataKind): string[] {
  return (kind === 'Secret' ? s.model.secrets : s.model.configs).map((m) => m.name);
}
