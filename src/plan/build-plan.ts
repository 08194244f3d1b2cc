/**
 * The planner: a pure function from (desired state, live state, options) to a Plan. Runs the
 * planner of each kind (network-plan.ts, data-plan.ts for configs and secrets, service-plan.ts,
 * route-plan.ts; one shape, planner.ts), then the constraints pass (constraints.ts: subnets,
 * mounts, objects in use, prune limits), and orders the changes by dependency: networks,
 * configs, secrets, services, routes; deletions after, in reverse. Configs and secrets taken
 * over from stack deploy keep their names (data-names.ts): decided first, and services mount those.
 */
import type { DesiredNetwork, DesiredState } from '../model/desired-state.js';
import type { LiveState } from '../api/swarm-types.js';
import {
  checkDataInUse,
  checkEngineApi,
  checkMounts,
  checkNetworksInUse,
  checkPrune,
  checkSubnets,
} from './constraints.js';
import { remountServices, resolveDataNames } from './data-names.js';
import { planData } from './data-plan.js';
import { planNetworks } from './network-plan.js';
import type { Blocker, Change, Plan } from './plan.js';
import { planRoutes } from './route-plan.js';
import { planServices } from './service-plan.js';

export interface PlanOptions {
  applySet: string;
  prune?: boolean;
  allowReplace?: boolean;
  adopt?: boolean;
  /** Refuse to delete more than this many objects unless `force`. */
  maxDeletions?: number;
  force?: boolean;
}

export const defaultMaxDeletions = 10;

export function buildPlan(given: DesiredState, live: LiveState, options: PlanOptions): Plan {
  // Configs and secrets taken over from stack deploy keep their names; services mount those.
  const dataNames = resolveDataNames([...given.configs, ...given.secrets], live, !!options.adopt);
  const desired: DesiredState = { ...given, services: remountServices(given.services, dataNames) };
  const planner = {
    applySet: options.applySet,
    prune: !!options.prune,
    allowReplace: !!options.allowReplace,
    adopt: !!options.adopt,
  };
  const blockers: Blocker[] = [];

  // Networks first: what they create or replace, services wait for or reattach to.
  const networks = planNetworks(planner, desired.networks, live.networks, live.configs);
  blockers.push(...networks.blockers);
  checkSubnets(desired.networks, live.networks, networks.changeIds, blockers);

  // Configs and secrets: new versions before the services that mount them.
  const configs = planData(planner, {
    kind: 'Config',
    desired: desired.configs,
    live: live.configs,
    liveServices: live.services,
    dataNames,
  });
  const secrets = planData(planner, {
    kind: 'Secret',
    desired: desired.secrets,
    live: live.secrets,
    liveServices: live.services,
    dataNames,
  });
  blockers.push(...configs.blockers, ...secrets.blockers);

  const services = planServices(planner, {
    desired: desired.services,
    live: live.services,
    networkNames: new Map(live.networks.map((n) => [n.Id, n.Name])),
    specRefs: {
      networkIds: new Map(live.networks.map((n) => [n.Name, n.Id])),
      secretIds: new Map(live.secrets.map((x) => [x.Spec.Name, x.ID])),
      configIds: new Map(live.configs.map((x) => [x.Spec.Name, x.ID])),
    },
    networks,
    dataCreates: { Config: configs.creates, Secret: secrets.creates },
  });
  blockers.push(...services.blockers);
  checkEngineApi(desired.services, live.apiVersion, blockers);
  checkMounts(desired, live, { Config: configs.creates, Secret: secrets.creates }, blockers);

  // Routes: stored as configs; they wait for the services they send traffic to.
  const routes = planRoutes(planner, {
    routes: desired.routes,
    routeConfigs: live.routeConfigs,
    serviceChanges: services.byName,
  });
  blockers.push(...routes.blockers);

  const kinds = [networks, configs, secrets, services, routes];
  const deletions = [routes, services, networks, configs, secrets].flatMap((p) => p.deletions);
  const changes = [...kinds.flatMap((p) => p.changes), ...deletions];
  checkDataInUse(desired, live, { Config: configs, Secret: secrets }, services.byName, blockers);
  checkNetworksInUse(changes, desired, live, services.byName, blockers);
  if (options.prune)
    checkPrune(
      desired,
      deletions.length,
      {
        applySet: options.applySet,
        maxDeletions: options.maxDeletions ?? defaultMaxDeletions,
        force: !!options.force,
      },
      blockers,
    );

  return {
    applySet: options.applySet,
    changes: orderChanges(changes),
    blockers,
    notes: kinds.flatMap((p) => p.notes).sort((a, b) => a.id.localeCompare(b.id)),
    unchanged: kinds.reduce((n, p) => n + p.unchanged, 0),
    ...(Object.keys(dataNames).length ? { dataNames } : {}),
  };
}

/** Networks, configs, secrets, services, then routes; deletions after, in the reverse order; by name within. */
export function orderChanges(changes: Change[]): Change[] {
  const rank = { Network: 0, Config: 1, Secret: 2, Service: 3, Route: 4 } as const;
  const phase = (c: Change) => (c.action === 'delete' ? 9 - rank[c.kind] : rank[c.kind]);
  return [...changes].sort((a, b) => phase(a) - phase(b) || a.swarmName.localeCompare(b.swarmName));
}

export type { DesiredNetwork };
export { servicesUsing } from './constraints.js';
