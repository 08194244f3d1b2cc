/**
 * The Route part of the plan: desired routes against the route configs in the Swarm. A route
 * is created (a new config), updated (a new config with the new content, then the old one
 * removed) or deleted (its configs removed). Routes never restart tasks. Ownership rules
 * are the same as for services: another apply set's route is a blocker. Pure.
 */
import { refId } from '../api/object-ref.js';
import { currentRoutes, type DesiredRoute, type RouteModel } from '../api/route-model.js';
import type { SwarmConfig } from '../api/swarm-types.js';
import { routeModel } from '../model/route.js';
import { diffModels } from './field-diff.js';
import type { Change } from './plan.js';
import { changeBase, emptyKindPlan, type KindPlan, type PlannerOptions } from './planner.js';

export const defaultRouteModel: RouteModel = routeModel(
  { apiVersion: 'swarm.controller/v1alpha1', kind: 'Route', metadata: { name: 'default' }, spec: {} },
  (n) => n,
);

export interface RoutePlanInput {
  routes: DesiredRoute[];
  routeConfigs: SwarmConfig[];
  /** Changes already planned for services, by Swarm name: a route waits for its services' creation. */
  serviceChanges: Map<string, Change>;
}

export type RoutePlan = KindPlan;

export function planRoutes(options: Pick<PlannerOptions, 'applySet' | 'prune'>, input: RoutePlanInput): RoutePlan {
  const out = emptyKindPlan();
  const { routes: stored, unreadable } = currentRoutes(input.routeConfigs);
  const live = new Map(stored.map((r) => [r.swarmName, r]));
  const desiredNames = new Set(input.routes.map((r) => r.swarmName));
  for (const u of unreadable)
    out.notes.push({
      id: `Route/(config ${u.configName})`,
      message: `route config "${u.configName}" cannot be read (${u.problem}); it is left alone`,
    });

  for (const r of input.routes) {
    const id = refId(r.ref);
    const current = live.get(r.swarmName);
    const dependsOn = r.model.backends
      .map((b) => input.serviceChanges.get(b.service))
      .filter((c) => c?.action === 'create')
      .map((c) => c!.id);
    if (!current) {
      out.changes.push({
        ...changeBase(r.ref, r.swarmName),
        action: 'create',
        reason: 'not in the Swarm',
        restartsTasks: false,
        fields: diffModels(defaultRouteModel, r.model),
        before: null,
        after: r.model,
        dependsOn,
        desired: r,
      });
      continue;
    }
    if (current.applySet !== options.applySet) {
      out.blockers.push({
        id,
        code: 'SC4001',
        message: `route "${r.swarmName}" belongs to apply set "${current.applySet}", not "${options.applySet}"`,
        fix: `manage it from apply set "${current.applySet}", or remove it from these manifests`,
      });
      continue;
    }
    const fields = diffModels(current.model, r.model);
    if (fields.length === 0 && current.stale.length === 0) {
      out.unchanged++;
      continue;
    }
    const reason = fields.length
      ? `${[
          ...new Set(
            fields.map(
              (f) =>
                f.path
                  .replace(/^spec\./, '')
                  .replace(/^metadata\./, '')
                  .split(/[.[]/)[0],
            ),
          ),
        ].join(', ')} changed`
      : `remove ${current.stale.length} stale config(s) left by an interrupted update`;
    out.changes.push({
      ...changeBase(r.ref, r.swarmName),
      action: 'update',
      reason,
      restartsTasks: false,
      fields,
      before: current.model,
      after: r.model,
      dependsOn,
      desired: r,
    });
  }

  for (const s of stored) {
    if (s.applySet !== options.applySet || desiredNames.has(s.swarmName)) continue;
    if (!options.prune) {
      out.notes.push({
        id: refId(s.ref),
        message: `route "${s.swarmName}" is no longer in the manifests; it is kept (use --prune to delete it)`,
      });
      continue;
    }
    out.deletions.push({
      ...changeBase(s.ref, s.swarmName),
      action: 'delete',
      reason: 'no longer in the manifests',
      restartsTasks: false,
      fields: [],
      before: s.model,
      after: null,
      dependsOn: [],
      desired: null,
    });
  }
  return out;
}
