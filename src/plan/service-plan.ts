/**
 * The Service part of the plan: per service, create, update in place, scale or replace
 * (classified by the effects of the fields that changed: serviceFieldEffects), or nothing; a
 * service attached to a replaced network is reattached; an owned one the manifests no longer
 * declare is deleted with --prune. A service waits for the networks, configs and secrets it
 * uses that this plan creates. Whether what it mounts exists is constraints.ts. Pure.
 */
import { refId } from '../api/object-ref.js';
import type { DesiredService } from '../model/desired-state.js';
import { isJob, serviceFieldEffects, type ServiceModel } from '../model/service.js';
import { defaultServiceModel } from '../model/defaults.js';
import type { DataKind } from '../api/data-model.js';
import type { SwarmService } from '../api/swarm-types.js';
import { mountedNames } from './data-plan.js';
import { diffModels } from './field-diff.js';
import { digestFields, digestPath, withDigestFields } from './image-pins.js';
import { serviceModelFromLive } from './live-model.js';
import type { NetworkPlan } from './network-plan.js';
import type { FieldChange, ServiceChange } from './plan.js';
import { taskSpecChanges } from './restarts.js';
import { buildServiceSpec, type ServiceSpecContext } from './swarm-spec.js';
import {
  changeBase,
  checkOwnership,
  emptyKindPlan,
  ownedBy,
  refFromLive,
  type KindPlan,
  type PlannerOptions,
} from './planner.js';

export interface ServicePlanInput {
  desired: DesiredService[];
  live: SwarmService[];
  /** Live network ID -> name, to read the networks a live service is attached to. */
  networkNames: Map<string, string>;
  /** Live names -> IDs, to build the spec an update would write and see what of the task template it changes. */
  specRefs: Pick<ServiceSpecContext, 'networkIds' | 'secretIds' | 'configIds'>;
  networks: Pick<NetworkPlan, 'changeIds' | 'replaced'>;
  /** Config and secret versions this plan creates: Swarm name -> change id. */
  dataCreates: Record<DataKind, Map<string, string>>;
}

export interface ServicePlan extends KindPlan {
  /** Every service change, deletions included, by Swarm name (routes and the in-use checks read it). */
  byName: Map<string, ServiceChange>;
}

export function planServices(options: PlannerOptions, input: ServicePlanInput): ServicePlan {
  const out: ServicePlan = { ...emptyKindPlan(), byName: new Map() };
  const liveServices = new Map(input.live.map((s) => [s.Spec.Name ?? '', s]));
  for (const s of input.desired) {
    const id = refId(s.ref);
    const current = liveServices.get(s.swarmName);
    const dependsOn = [
      ...s.model.networks.map((n) => input.networks.changeIds.get(n.name)),
      ...mountedNames(s, 'Config').map((n) => input.dataCreates.Config.get(n)),
      ...mountedNames(s, 'Secret').map((n) => input.dataCreates.Secret.get(n)),
    ].filter((x): x is string => !!x);
    if (!current) {
      const c: ServiceChange = {
        ...changeBase(s.ref, s.swarmName),
        action: 'create',
        reason: 'not in the Swarm',
        restartsTasks: true,
        fields: withDigestFields(diffModels(defaultServiceModel, s.model), digestFields(s, undefined)),
        before: null,
        after: s.model,
        dependsOn,
        desired: s,
      };
      out.changes.push(c);
      out.byName.set(s.swarmName, c);
      continue;
    }
    const ownership = checkOwnership(options, out.blockers, id, current.Spec.Labels, `service "${s.swarmName}"`);
    if (ownership === 'blocked') continue;
    const liveModel = serviceModelFromLive(current, input.networkNames);
    const fields = withDigestFields(diffModels(liveModel, s.model), digestFields(s, current.Spec));
    const reattach = liveModel.networks.filter((n) => input.networks.replaced.has(n.name)).map((n) => n.name);
    if (fields.length === 0 && ownership === 'ok' && reattach.length === 0) {
      out.unchanged++;
      continue;
    }
    const next = buildServiceSpec(s, { applySet: options.applySet, ...input.specRefs, live: current.Spec });
    const taskChanges = taskSpecChanges(current.Spec, next);
    const c = classifyServiceChange(s, liveModel, fields, ownership === 'adopt', reattach, taskChanges);
    c.dependsOn = [...new Set([...dependsOn, ...reattach.map((n) => input.networks.changeIds.get(n)!)])];
    if (c.action === 'replace' && !options.allowReplace) {
      out.blockers.push({
        id,
        code: 'SC4003',
        message: `service "${s.swarmName}" must be replaced: ${c.reason}`,
        fix: 'rerun with --allow-replace; the service is removed and created again, with downtime',
      });
    }
    out.changes.push(c);
    out.byName.set(s.swarmName, c);
  }

  const declared = new Set(input.desired.map((s) => s.swarmName));
  for (const s of input.live) {
    const name = s.Spec.Name ?? '';
    if (!ownedBy(options.applySet, s.Spec.Labels) || declared.has(name)) continue;
    const ref = refFromLive('Service', s.Spec.Labels, name);
    if (!options.prune) {
      out.notes.push({
        id: refId(ref),
        message: `service "${name}" is no longer in the manifests; it is kept (use --prune to delete it)`,
      });
      continue;
    }
    const c: ServiceChange = {
      ...changeBase(ref, name),
      action: 'delete',
      reason: 'no longer in the manifests',
      restartsTasks: true,
      fields: [],
      before: serviceModelFromLive(s, input.networkNames),
      after: null,
      dependsOn: [],
      desired: null,
    };
    out.deletions.push(c);
    out.byName.set(name, c);
  }
  return out;
}

function classifyServiceChange(
  s: DesiredService,
  liveModel: ServiceModel,
  fields: FieldChange[],
  adopt: boolean,
  reattach: string[],
  /** The task template and endpoint paths the update changes (restarts.ts). */
  taskChanges: string[],
): ServiceChange {
  const top = new Set(fields.map((f) => topField(f.path)));
  const effects = new Set([...top].map((t) => serviceFieldEffects[t as keyof ServiceModel] ?? 'restart'));
  const changed = [...top].join(', ');
  let action: ServiceChange['action'];
  let reason: string;
  if (effects.has('replace')) {
    action = 'replace';
    reason = `${[...top].filter((t) => serviceFieldEffects[t as keyof ServiceModel] === 'replace').join(' and ')} cannot change in place`;
  } else if (effects.has('restart') || reattach.length) {
    action = 'update';
    reason = reattach.length
      ? `reattach to replaced network ${reattach.join(', ')}${changed ? `; ${changed} changed` : ''}`
      : `${changed} changed`;
  } else if (effects.size === 1 && effects.has('scale')) {
    action = 'scale';
    reason = `replicas ${liveModel.replicas} -> ${s.model.replicas}`;
  } else {
    action = 'update';
    reason = `${changed || 'ownership'} changed`;
  }
  // Swarm runs a job again on every update of it, whatever changed (measured on engine 20.10).
  const job = isJob(s.model.mode) && isJob(liveModel.mode);
  const restartsTasks = job || action === 'replace' || taskChanges.length > 0 || reattach.length > 0;
  if (adopt)
    reason =
      !restartsTasks && [...top].every((t) => t === 'labels')
        ? 'adopt: labels only, restarts nothing'
        : `adopt an unmanaged service${changed ? `; ${changed} changed` : ''}`;
  if (job && action === 'update') reason += '; the job runs again';
  else if (action === 'update' && !restartsTasks && effects.has('restart'))
    reason += ' (the task template stays the same: no task restarts)';
  return {
    ...changeBase(s.ref, s.swarmName),
    action,
    reason,
    restartsTasks,
    fields,
    before: liveModel,
    after: s.model,
    dependsOn: [],
    desired: s,
    ...(adopt ? { adopt: true as const } : {}),
  };
}

function topField(path: string): string {
  if (path.startsWith('swarm:')) return 'unmanaged';
  if (path === digestPath) return 'image';
  if (path.startsWith('metadata.labels')) return 'labels';
  return path.slice('spec.'.length).split(/[.[]/)[0];
}
