/**
 * The constraints pass: what holds across kinds once every planner has run. Each check adds
 * blockers, and the in-use checks also order deletions after the service changes that let go:
 *   - subnets: a network to create or replace must not claim addresses another one holds (SC4008);
 *   - mounts: the secrets and configs services and routes use exist or are created (SC3011, SC3019);
 *   - in use: a config, secret or network goes only once every service using it lets go (SC4007,
 *     SC4006);
 *   - prune: never everything (SC4004), never more than --max-deletions without --force (SC4005);
 *   - engine API: no service field the engine's API does not have (SC4009).
 * Pure.
 */
import { refId } from '../api/object-ref.js';
import type { DataKind } from '../api/data-model.js';
import type { DesiredNetwork, DesiredService, DesiredState } from '../model/desired-state.js';
import { fieldsNeedingApi } from '../model/service.js';
import type { LiveState, SwarmNetwork, SwarmService } from '../api/swarm-types.js';
import { mountedNames, mountsAny, type DataPlan } from './data-plan.js';
import type { Blocker, Change } from './plan.js';
import { subnetsOverlap } from './subnet-overlap.js';

/** SC4008: the subnets of the networks this plan creates or replaces (`changeIds`) against every other. */
export function checkSubnets(
  desired: DesiredNetwork[],
  live: SwarmNetwork[],
  changeIds: Map<string, string>,
  blockers: Blocker[],
): void {
  const claimed: { owner: string; subnet: string }[] = live.flatMap((l) =>
    (l.IPAM?.Config ?? []).flatMap((c) => (c.Subnet ? [{ owner: l.Name, subnet: c.Subnet }] : [])),
  );
  for (const n of desired) {
    if (n.external) continue;
    const mine = n.model.ipam.subnets.map((x) => x.subnet);
    if (changeIds.has(n.swarmName)) {
      for (const subnet of mine) {
        const other = claimed.find((c) => c.owner !== n.swarmName && subnetsOverlap(subnet, c.subnet));
        if (other) {
          blockers.push({
            id: refId(n.ref),
            code: 'SC4008',
            message: `network "${n.swarmName}": subnet ${subnet} overlaps ${other.subnet} of network "${other.owner}"; Swarm would create it and leave every task attached to it in state New`,
            fix: `choose a subnet no other network uses (docker network inspect ${other.owner} shows its range), or leave out ipam.subnets to let Swarm pick one`,
          });
        }
      }
    }
    claimed.push(...mine.map((subnet) => ({ owner: n.swarmName, subnet })));
  }
}

/** SC3011, SC3019: what services mount and routes terminate TLS with exists, or is created by this plan. */
export function checkMounts(
  desired: DesiredState,
  live: LiveState,
  creates: Record<DataKind, Map<string, string>>,
  blockers: Blocker[],
): void {
  const secretNames = new Set([...live.secrets.map((x) => x.Spec.Name), ...creates.Secret.keys()]);
  const configNames = new Set([...live.configs.map((x) => x.Spec.Name), ...creates.Config.keys()]);
  const missingSecret = (id: string, name: string, user: string, fix: string) =>
    blockers.push({ id, code: 'SC3011', message: `secret "${name}" used by ${user} does not exist in the Swarm`, fix });
  for (const s of desired.services) {
    for (const m of s.model.secrets) {
      if (!secretNames.has(m.name))
        missingSecret(
          refId(s.ref),
          m.name,
          `service "${s.swarmName}"`,
          `declare a Secret manifest "${m.name}" in namespace "${s.ref.namespace ?? ''}" (from a file or an environment variable), or create it first (printf '%s' "$VALUE" | docker secret create ${m.name} -)`,
        );
    }
    for (const m of s.model.configs) {
      if (!configNames.has(m.name))
        blockers.push({
          id: refId(s.ref),
          code: 'SC3019',
          message: `config "${m.name}" used by service "${s.swarmName}" does not exist in the Swarm`,
          fix: `declare a Config manifest "${m.name}" in namespace "${s.ref.namespace ?? ''}", or create it first (docker config create ${m.name} FILE)`,
        });
    }
  }
  for (const r of desired.routes) {
    if (r.model.tls && !secretNames.has(r.model.tls.secret)) {
      missingSecret(
        refId(r.ref),
        r.model.tls.secret,
        `route "${r.swarmName}"`,
        `create it from the certificate chain and key (cat cert.pem key.pem | docker secret create ${r.model.tls.secret} -), and mount it in the proxy service`,
      );
    }
  }
}

/**
 * SC4007: a deleted config or secret goes only once every service mounting one of its versions
 * lets go (deleted, or no longer mounting it); its deletion then waits for those changes.
 */
export function checkDataInUse(
  desired: DesiredState,
  live: LiveState,
  plans: Record<DataKind, Pick<DataPlan, 'deletes'>>,
  serviceChanges: Map<string, Change>,
  blockers: Blocker[],
): void {
  for (const kind of ['Config', 'Secret'] as const) {
    for (const { change, stored } of plans[kind].deletes.values()) {
      const names = new Set(stored.versions.map((v) => v.name));
      for (const user of live.services.filter((svc) => mountsAny(svc, kind, names))) {
        const userName = user.Spec.Name ?? '';
        const userChange = serviceChanges.get(userName);
        const stillMounts = desired.services.find((d) => d.swarmName === userName);
        const letsGo =
          userChange &&
          (userChange.action === 'delete' ||
            !stillMounts ||
            !mountedNames(stillMounts, kind).some((n) => names.has(n)));
        if (!letsGo)
          blockers.push({
            id: change.id,
            code: 'SC4007',
            message: `${kind.toLowerCase()} "${change.swarmName}" is still mounted by service "${userName}", which this plan does not change`,
            fix: `remove it from "${userName}" first, or keep the ${kind} manifest`,
          });
        else change.dependsOn.push(userChange.id);
      }
    }
  }
}

/**
 * SC4006: a network is deleted or replaced only once every service using it lets go (a replaced
 * one reattaches them itself); a deletion then waits for those service changes.
 */
export function checkNetworksInUse(
  changes: Change[],
  desired: DesiredState,
  live: LiveState,
  serviceChanges: Map<string, Change>,
  blockers: Blocker[],
): void {
  const liveNetworks = new Map(live.networks.map((n) => [n.Name, n]));
  for (const c of changes) {
    if (c.kind !== 'Network' || (c.action !== 'delete' && c.action !== 'replace')) continue;
    const network = liveNetworks.get(c.swarmName)!;
    for (const user of servicesUsing(network, live.services)) {
      const userName = user.Spec.Name ?? '';
      const userChange = serviceChanges.get(userName);
      const letsGo =
        c.action === 'replace' ||
        (userChange && (userChange.action === 'delete' || !desiredNetworksOf(desired, userName).includes(c.swarmName)));
      if (!userChange || !letsGo) {
        blockers.push({
          id: c.id,
          code: 'SC4006',
          message: `network "${c.swarmName}" is still used by service "${userName}", which this plan does not detach`,
          fix: `detach "${userName}" from it first, or keep the network in the manifests`,
        });
      } else if (c.action === 'delete') {
        c.dependsOn.push(userChange.id);
      }
    }
  }
}

/** SC4004, SC4005 (with prune only): not everything, and not more than `maxDeletions` unless `force`. */
export function checkPrune(
  desired: DesiredState,
  deletions: number,
  options: { applySet: string; maxDeletions: number; force: boolean },
  blockers: Blocker[],
): void {
  if (
    desired.networks.length === 0 &&
    desired.services.length === 0 &&
    desired.routes.length === 0 &&
    desired.configs.length === 0 &&
    desired.secrets.length === 0
  ) {
    blockers.push({
      id: '(prune)',
      code: 'SC4004',
      message:
        'the manifests declare nothing, so --prune would delete every object of apply set "' + options.applySet + '"',
      fix: 'check that -f points at the right directory; an empty checkout is almost always a mistake',
    });
  }
  if (deletions > options.maxDeletions && !options.force) {
    blockers.push({
      id: '(prune)',
      code: 'SC4005',
      message: `the plan deletes ${deletions} objects, more than --max-deletions ${options.maxDeletions}`,
      fix: 'review the deletions, then rerun with a higher --max-deletions or with --force',
    });
  }
}

function desiredNetworksOf(desired: DesiredState, swarmName: string): string[] {
  return desired.services.find((s) => s.swarmName === swarmName)?.model.networks.map((n) => n.name) ?? [];
}

export function servicesUsing(network: SwarmNetwork, services: SwarmService[]): SwarmService[] {
  return services.filter((s) =>
    (s.Spec.TaskTemplate?.Networks ?? s.Spec.Networks ?? []).some(
      (n) => n.Target === network.Id || n.Target === network.Name,
    ),
  );
}

/** SC4009: a field this engine's API does not have: it would drop it, and every plan would show it again. */
export function checkEngineApi(services: DesiredService[], apiVersion: string | undefined, blockers: Blocker[]): void {
  if (!apiVersion) return;
  for (const s of services)
    for (const n of fieldsNeedingApi(s.model, apiVersion))
      blockers.push({
        id: refId(s.ref),
        code: 'SC4009',
        message: `service "${s.swarmName}": ${n.field} needs Engine API ${n.api}, and this engine speaks ${apiVersion}; it would drop the field`,
        fix: `remove ${n.field}, or upgrade the engine to Docker Engine ${n.engine} or later (API ${n.api})`,
      });
}
