/**
 * The Network part of the plan. A network cannot change in place: a changed one is replaced (a
 * blocker without --allow-replace); an adopted one whose fields match is kept, its ownership
 * recorded in a config (network-ownership.ts), so nothing restarts; an external one must exist;
 * one named explicitly (shared) that someone else made is used as it is; an owned one the
 * manifests no longer declare is deleted with --prune. Whether a network may go while services
 * use it, and whether its subnets are free, is constraints.ts. Pure.
 */
import { ownershipOf } from '../api/labels.js';
import { networkOwnerLabels, networkRecordName } from '../api/network-ownership.js';
import { refId } from '../api/object-ref.js';
import type { DesiredNetwork } from '../model/desired-state.js';
import { defaultNetworkModel } from '../model/defaults.js';
import { networkModelFromLive, withoutServerAddressing } from '../model/network.js';
import type { SwarmConfig, SwarmNetwork } from '../api/swarm-types.js';
import { diffModels } from './field-diff.js';
import {
  changeBase,
  checkOwnership,
  emptyKindPlan,
  ownedBy,
  refFromLive,
  type KindPlan,
  type PlannerOptions,
} from './planner.js';

export interface NetworkPlan extends KindPlan {
  /** Networks this plan creates or replaces: Swarm name -> change id (services attached wait for them). */
  changeIds: Map<string, string>;
  /** Networks this plan replaces, by Swarm name (services attached to them are reattached). */
  replaced: Set<string>;
}

/** `configs`: the live configs, where the ownership records of adopted networks are. */
export function planNetworks(
  options: PlannerOptions,
  desired: DesiredNetwork[],
  live: SwarmNetwork[],
  configs: readonly SwarmConfig[],
): NetworkPlan {
  const out: NetworkPlan = { ...emptyKindPlan(), changeIds: new Map(), replaced: new Set() };
  const liveNetworks = new Map(live.map((n) => [n.Name, n]));
  for (const n of desired) {
    const id = refId(n.ref);
    const current = liveNetworks.get(n.swarmName);
    if (n.external) {
      if (!current)
        out.blockers.push({
          id,
          code: 'SC3003',
          message: `external network "${n.swarmName}" does not exist in the Swarm`,
          fix: `create it first (docker network create -d overlay ${n.swarmName}), or drop "external: true" to let the controller create it`,
        });
      else out.unchanged++;
      continue;
    }
    if (!current) {
      out.changes.push({
        ...changeBase(n.ref, n.swarmName),
        action: 'create',
        reason: 'not in the Swarm',
        restartsTasks: false,
        fields: diffModels(defaultNetworkModel, n.model),
        before: null,
        after: n.model,
        dependsOn: [],
        desired: n,
      });
      out.changeIds.set(n.swarmName, id);
      continue;
    }
    const ownerLabels = networkOwnerLabels(current, configs);
    const owner = ownershipOf(ownerLabels);
    if (
      n.shared &&
      !(owner.state === 'owned' && owner.applySet === options.applySet) &&
      !(owner.state === 'unmanaged' && options.adopt)
    ) {
      // An explicitly named network someone else made: used as it is, like an external one.
      out.unchanged++;
      out.notes.push({
        id,
        message: `network "${n.swarmName}" is shared: it exists (${owner.state === 'owned' ? `owned by apply set "${owner.applySet}"` : 'made outside the controller'}) and is used as it is`,
      });
      continue;
    }
    const ownership = checkOwnership(options, out.blockers, id, ownerLabels, `network "${n.swarmName}"`);
    if (ownership === 'blocked') continue;
    const liveModel = withoutServerAddressing(networkModelFromLive(current), n.model);
    const fields = diffModels(liveModel, n.model);
    if (fields.length === 0 && ownership === 'ok') {
      out.unchanged++;
      continue;
    }
    if (fields.length === 0 && ownership === 'adopt') {
      // Swarm cannot relabel a network: its ownership goes on a record (decision 76), nothing is recreated.
      out.changes.push({
        ...changeBase(n.ref, n.swarmName),
        action: 'update',
        reason: `adopt: labels only, restarts nothing (recorded in config ${networkRecordName(current.Id)}; the network stays)`,
        restartsTasks: false,
        fields: [],
        before: liveModel,
        after: n.model,
        dependsOn: [],
        desired: n,
        adopt: true,
      });
      continue;
    }
    const reason = `${ownership === 'adopt' ? 'adopt: ' : ''}networks cannot be changed in place (${fields.map((f) => f.path).join(', ')})`;
    if (!options.allowReplace) {
      out.blockers.push({
        id,
        code: 'SC4003',
        message: `network "${n.swarmName}" must be replaced: ${reason}`,
        fix: 'rerun with --allow-replace; services attached to it are detached and reattached, restarting their tasks',
      });
    }
    out.changes.push({
      ...changeBase(n.ref, n.swarmName),
      action: 'replace',
      reason,
      restartsTasks: true,
      fields,
      before: liveModel,
      after: n.model,
      dependsOn: [],
      desired: n,
      ...(ownership === 'adopt' ? { adopt: true as const } : {}),
    });
    out.changeIds.set(n.swarmName, id);
    out.replaced.add(n.swarmName);
  }

  const declared = new Set(desired.map((n) => n.swarmName));
  for (const n of live) {
    const labels = networkOwnerLabels(n, configs);
    if (!ownedBy(options.applySet, labels) || declared.has(n.Name)) continue;
    const ref = refFromLive('Network', labels, n.Name);
    if (!options.prune) {
      out.notes.push({
        id: refId(ref),
        message: `network "${n.Name}" is no longer in the manifests; it is kept (use --prune to delete it)`,
      });
      continue;
    }
    out.deletions.push({
      ...changeBase(ref, n.Name),
      action: 'delete',
      reason: 'no longer in the manifests',
      restartsTasks: false,
      fields: [],
      before: networkModelFromLive(n),
      after: null,
      dependsOn: [],
      desired: null,
    });
  }
  return out;
}
