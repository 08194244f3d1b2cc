/**
 * The planner: a pure function from (desired state, live state, options) to a Plan.
 * Decides per object whether to create, update in place, scale, replace or delete; refuses
 * (as blockers) what must not happen silently: touching objects of another apply set or
 * unmanaged ones, replacing without --allow-replace, pruning everything or too much.
 * Orders changes by dependency: networks, then services; deletions in reverse.
 */
import { ownershipOf } from '../api/labels.js';
import { refId, type ObjectRef } from '../api/object-ref.js';
import {
  serviceFieldEffects,
  type DesiredNetwork,
  type DesiredService,
  type DesiredState,
  type ServiceModel,
} from '../api/model.js';
import type { LiveState, SwarmNetwork, SwarmService } from '../api/swarm-types.js';
import { diffModels, maskModel } from './field-diff.js';
import { networkModelFromLive, serviceModelFromLive, withoutServerAddressing } from './live-model.js';
import type { Blocker, Change, FieldChange, Note, Plan } from './plan.js';
import { defaultNetworkModel, defaultServiceModel } from './defaults.js';
import { planRoutes } from './route-plan.js';
import { mountedNames, mountsAny, planData } from './data-plan.js';
import { subnetsOverlap } from './subnet-overlap.js';
import { digestFields, digestPath, withDigestFields } from './image-pins.js';

export interface PlanOptions {
  applySet: string;
  prune?: boolean;
  allowReplace?: boolean;
  adopt?: boolean;
  /** Refuse to delete more than this many objects unless `force`. */
  maxDeletions?: number;
  force?: boolean;
  /** Extra env var names to mask. */
  maskEnv?: string[];
}

export const defaultMaxDeletions = 10;

function refFromLive(
  kind: ObjectRef['kind'],
  labels: Record<string, string> | null | undefined,
  swarmName: string,
): ObjectRef {
  const ns = labels?.['com.docker.stack.namespace'];
  const name =
    labels?.['swarm.controller/name'] ??
    (ns && swarmName.startsWith(ns + '_') ? swarmName.slice(ns.length + 1) : swarmName);
  return { kind, name, ...(ns ? { namespace: ns } : {}) };
}

function base(ref: ObjectRef, swarmName: string): Pick<Change, 'id' | 'kind' | 'namespace' | 'name' | 'swarmName'> {
  return {
    id: refId(ref),
    kind: ref.kind,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    name: ref.name,
    swarmName,
  };
}

export function buildPlan(desired: DesiredState, live: LiveState, options: PlanOptions): Plan {
  const mask = options.maskEnv ?? [];
  const changes: Change[] = [];
  const blockers: Blocker[] = [];
  const notes: Note[] = [];
  let unchanged = 0;
  const liveNetworks = new Map(live.networks.map((n) => [n.Name, n]));
  const liveServices = new Map(live.services.map((s) => [s.Spec.Name ?? '', s]));
  const networkNames = new Map(live.networks.map((n) => [n.Id, n.Name]));
  const desiredNetworkNames = new Set(desired.networks.map((n) => n.swarmName));
  const desiredServices = new Map(desired.services.map((s) => [s.swarmName, s]));
  const desiredServiceNames = new Set(desiredServices.keys());
  const block = (id: string, code: Blocker['code'], message: string, fix: string) =>
    blockers.push({ id, code, message, fix });

  const ownershipProblem = (
    id: string,
    labels: Record<string, string> | null | undefined,
    what: string,
  ): 'ok' | 'adopt' | 'blocked' => {
    const o = ownershipOf(labels);
    if (o.state === 'owned') {
      if (o.applySet === options.applySet) return 'ok';
      block(
        id,
        'SC4001',
        `${what} belongs to apply set "${o.applySet}", not "${options.applySet}"`,
        `manage it from apply set "${o.applySet}", or remove it from these manifests`,
      );
      return 'blocked';
    }
    if (options.adopt) return 'adopt';
    block(
      id,
      'SC4002',
      `${what} exists in the Swarm but was not created by swarm-controller`,
      'rerun with --adopt to take it over (its spec will be replaced by the manifest), or rename the manifest',
    );
    return 'blocked';
  };

  // Networks.
  const replacedNetworks = new Set<string>();
  const networkChangeIds = new Map<string, string>(); // swarm name -> change id
  for (const n of desired.networks) {
    const id = refId(n.ref);
    const current = liveNetworks.get(n.swarmName);
    if (n.external) {
      if (!current)
        block(
          id,
          'SC3003',
          `external network "${n.swarmName}" does not exist in the Swarm`,
          `create it first (docker network create -d overlay ${n.swarmName}), or drop "external: true" to let the controller create it`,
        );
      else unchanged++;
      continue;
    }
    if (!current) {
      changes.push({
        ...base(n.ref, n.swarmName),
        action: 'create',
        reason: 'not in the Swarm',
        restartsTasks: false,
        fields: diffModels(defaultNetworkModel, n.model),
        before: null,
        after: n.model,
        dependsOn: [],
      });
      networkChangeIds.set(n.swarmName, id);
      continue;
    }
    const ownership = ownershipProblem(id, current.Labels, `network "${n.swarmName}"`);
    if (ownership === 'blocked') continue;
    const liveModel = withoutServerAddressing(networkModelFromLive(current), n.model);
    const fields = diffModels(liveModel, n.model);
    if (fields.length === 0 && ownership === 'ok') {
      unchanged++;
      continue;
    }
    const reason =
      ownership === 'adopt'
        ? 'adopt: a network cannot be relabelled in place'
        : `networks cannot be changed in place (${fields.map((f) => f.path).join(', ')})`;
    if (!options.allowReplace) {
      block(
        id,
        'SC4003',
        `network "${n.swarmName}" must be replaced: ${reason}`,
        'rerun with --allow-replace; services attached to it are detached and reattached, restarting their tasks',
      );
    }
    changes.push({
      ...base(n.ref, n.swarmName),
      action: 'replace',
      reason,
      restartsTasks: true,
      fields,
      before: liveModel,
      after: n.model,
      dependsOn: [],
      ...(ownership === 'adopt' ? { adopt: true as const } : {}),
    });
    networkChangeIds.set(n.swarmName, id);
    replacedNetworks.add(n.swarmName);
  }

  // A network to create (or re-create) must not claim addresses another network holds.
  const claimed: { owner: string; subnet: string }[] = live.networks.flatMap((l) =>
    (l.IPAM?.Config ?? []).flatMap((c) => (c.Subnet ? [{ owner: l.Name, subnet: c.Subnet }] : [])),
  );
  for (const n of desired.networks) {
    if (n.external) continue;
    const mine = n.model.ipam.subnets.map((x) => x.subnet);
    if (networkChangeIds.has(n.swarmName)) {
      for (const subnet of mine) {
        const other = claimed.find((c) => c.owner !== n.swarmName && subnetsOverlap(subnet, c.subnet));
        if (other) {
          block(
            refId(n.ref),
            'SC4008',
            `network "${n.swarmName}": subnet ${subnet} overlaps ${other.subnet} of network "${other.owner}"; Swarm would create it and leave every task attached to it in state New`,
            `choose a subnet no other network uses (docker network inspect ${other.owner} shows its range), or leave out ipam.subnets to let Swarm pick one`,
          );
        }
      }
    }
    claimed.push(...mine.map((subnet) => ({ owner: n.swarmName, subnet })));
  }

  // Configs and secrets: new versions before the services that mount them.
  const dataPlans = (['Config', 'Secret'] as const).map((kind) =>
    planData({
      kind,
      applySet: options.applySet,
      prune: !!options.prune,
      desired: kind === 'Config' ? desired.configs : desired.secrets,
      live: kind === 'Config' ? live.configs : live.secrets,
      liveServices: live.services,
    }),
  );
  for (const p of dataPlans) {
    changes.push(...p.changes.filter((c) => c.action !== 'delete'));
    blockers.push(...p.blockers);
    notes.push(...p.notes);
    unchanged += p.unchanged;
  }
  const [configPlan, secretPlan] = dataPlans as [ReturnType<typeof planData>, ReturnType<typeof planData>];

  // Services.
  const serviceChanges = new Map<string, Change>();
  for (const s of desired.services) {
    const id = refId(s.ref);
    const current = liveServices.get(s.swarmName);
    const dependsOn = [
      ...s.model.networks.map((n) => networkChangeIds.get(n.name)),
      ...mountedNames(s, 'Config').map((n) => configPlan.creates.get(n)),
      ...mountedNames(s, 'Secret').map((n) => secretPlan.creates.get(n)),
    ].filter((x): x is string => !!x);
    if (!current) {
      const c: Change = {
        ...base(s.ref, s.swarmName),
        action: 'create',
        reason: 'not in the Swarm',
        restartsTasks: true,
        fields: withDigestFields(
          diffModels(maskModel(defaultServiceModel, mask), maskModel(s.model, mask), mask),
          digestFields(s, undefined),
        ),
        before: null,
        after: maskModel(s.model, mask),
        dependsOn,
      };
      changes.push(c);
      serviceChanges.set(s.swarmName, c);
      continue;
    }
    const ownership = ownershipProblem(id, current.Spec.Labels, `service "${s.swarmName}"`);
    if (ownership === 'blocked') continue;
    const liveModel = serviceModelFromLive(current, networkNames);
    const fields = withDigestFields(diffModels(liveModel, s.model, mask), digestFields(s, current.Spec));
    const reattach = liveModel.networks.filter((n) => replacedNetworks.has(n.name)).map((n) => n.name);
    if (fields.length === 0 && ownership === 'ok' && reattach.length === 0) {
      unchanged++;
      continue;
    }
    const c = classifyServiceChange(s, liveModel, fields, ownership === 'adopt', reattach, mask);
    c.dependsOn = [...new Set([...dependsOn, ...reattach.map((n) => networkChangeIds.get(n)!)])];
    if (c.action === 'replace' && !options.allowReplace) {
      block(
        id,
        'SC4003',
        `service "${s.swarmName}" must be replaced: ${c.reason}`,
        'rerun with --allow-replace; the service is removed and created again, with downtime',
      );
    }
    changes.push(c);
    serviceChanges.set(s.swarmName, c);
  }

  // What services mount must exist, or be created by this plan (a new version).
  const secretNames = new Set([...live.secrets.map((x) => x.Spec.Name), ...secretPlan.creates.keys()]);
  const configNames = new Set([...live.configs.map((x) => x.Spec.Name), ...configPlan.creates.keys()]);
  const missingSecret = (id: string, name: string, user: string, fix: string) =>
    block(id, 'SC3011', `secret "${name}" used by ${user} does not exist in the Swarm`, fix);
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
        block(
          refId(s.ref),
          'SC3019',
          `config "${m.name}" used by service "${s.swarmName}" does not exist in the Swarm`,
          `declare a Config manifest "${m.name}" in namespace "${s.ref.namespace ?? ''}", or create it first (docker config create ${m.name} FILE)`,
        );
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

  // Routes: stored as configs; they wait for the services they send traffic to.
  const routePlan = planRoutes({
    applySet: options.applySet,
    prune: !!options.prune,
    routes: desired.routes,
    routeConfigs: live.routeConfigs,
    serviceChanges,
  });
  changes.push(...routePlan.changes.filter((c) => c.action !== 'delete'));
  blockers.push(...routePlan.blockers);
  notes.push(...routePlan.notes);
  unchanged += routePlan.unchanged;

  // Owned objects of this set that the manifests no longer declare.
  const deletions: Change[] = routePlan.changes.filter((c) => c.action === 'delete');
  for (const s of live.services) {
    const name = s.Spec.Name ?? '';
    const o = ownershipOf(s.Spec.Labels);
    if (o.state !== 'owned' || o.applySet !== options.applySet || desiredServiceNames.has(name)) continue;
    const ref = refFromLive('Service', s.Spec.Labels, name);
    if (!options.prune) {
      notes.push({
        id: refId(ref),
        message: `service "${name}" is no longer in the manifests; it is kept (use --prune to delete it)`,
      });
      continue;
    }
    const before = maskModel(serviceModelFromLive(s, networkNames), mask);
    const c: Change = {
      ...base(ref, name),
      action: 'delete',
      reason: 'no longer in the manifests',
      restartsTasks: true,
      fields: [],
      before,
      after: null,
      dependsOn: [],
    };
    deletions.push(c);
    serviceChanges.set(name, c);
  }
  for (const n of live.networks) {
    const o = ownershipOf(n.Labels);
    if (o.state !== 'owned' || o.applySet !== options.applySet || desiredNetworkNames.has(n.Name)) continue;
    const ref = refFromLive('Network', n.Labels, n.Name);
    if (!options.prune) {
      notes.push({
        id: refId(ref),
        message: `network "${n.Name}" is no longer in the manifests; it is kept (use --prune to delete it)`,
      });
      continue;
    }
    deletions.push({
      ...base(ref, n.Name),
      action: 'delete',
      reason: 'no longer in the manifests',
      restartsTasks: false,
      fields: [],
      before: networkModelFromLive(n),
      after: null,
      dependsOn: [],
    });
  }
  // A config or secret may only go once every service mounting one of its versions lets go.
  for (const [kind, p] of [
    ['Config', configPlan],
    ['Secret', secretPlan],
  ] as const) {
    for (const { change, stored } of p.deletes.values()) {
      deletions.push(change);
      const names = new Set(stored.versions.map((v) => v.name));
      for (const user of live.services.filter((svc) => mountsAny(svc, kind, names))) {
        const userName = user.Spec.Name ?? '';
        const userChange = serviceChanges.get(userName);
        const stillMounts = desiredServices.get(userName);
        const letsGo =
          userChange &&
          (userChange.action === 'delete' ||
            !stillMounts ||
            !mountedNames(stillMounts, kind).some((n) => names.has(n)));
        if (!letsGo)
          block(
            change.id,
            'SC4007',
            `${kind.toLowerCase()} "${change.swarmName}" is still mounted by service "${userName}", which this plan does not change`,
            `remove it from "${userName}" first, or keep the ${kind} manifest`,
          );
        else change.dependsOn.push(userChange.id);
      }
    }
  }
  changes.push(...deletions);

  // A network may only go (deleted or replaced) once every service using it has let go of it.
  for (const c of changes) {
    if (c.kind !== 'Network' || (c.action !== 'delete' && c.action !== 'replace')) continue;
    const network = liveNetworks.get(c.swarmName)!;
    for (const user of servicesUsing(network, live.services)) {
      const userName = user.Spec.Name ?? '';
      const userChange = serviceChanges.get(userName);
      const letsGo =
        c.action === 'replace' ||
        (userChange &&
          (userChange.action === 'delete' ||
            !(desiredServices.get(userName)?.model.networks ?? []).some((n) => n.name === c.swarmName)));
      if (!userChange || !letsGo) {
        block(
          c.id,
          'SC4006',
          `network "${c.swarmName}" is still used by service "${userName}", which this plan does not detach`,
          `detach "${userName}" from it first, or keep the network in the manifests`,
        );
      } else if (c.action === 'delete') {
        c.dependsOn.push(userChange.id);
      }
    }
  }

  if (options.prune) {
    if (
      desired.networks.length === 0 &&
      desired.services.length === 0 &&
      desired.routes.length === 0 &&
      desired.configs.length === 0 &&
      desired.secrets.length === 0
    ) {
      block(
        '(prune)',
        'SC4004',
        'the manifests declare nothing, so --prune would delete every object of apply set "' + options.applySet + '"',
        'check that -f points at the right directory; an empty checkout is almost always a mistake',
      );
    }
    const max = options.maxDeletions ?? defaultMaxDeletions;
    if (deletions.length > max && !options.force) {
      block(
        '(prune)',
        'SC4005',
        `the plan deletes ${deletions.length} objects, more than --max-deletions ${max}`,
        'review the deletions, then rerun with a higher --max-deletions or with --force',
      );
    }
  }

  return {
    applySet: options.applySet,
    changes: orderChanges(changes),
    blockers,
    notes: notes.sort((a, b) => a.id.localeCompare(b.id)),
    unchanged,
  };
}

export function servicesUsing(network: SwarmNetwork, services: SwarmService[]): SwarmService[] {
  return services.filter((s) =>
    (s.Spec.TaskTemplate?.Networks ?? s.Spec.Networks ?? []).some(
      (n) => n.Target === network.Id || n.Target === network.Name,
    ),
  );
}

function classifyServiceChange(
  s: DesiredService,
  liveModel: ServiceModel,
  fields: FieldChange[],
  adopt: boolean,
  reattach: string[],
  mask: string[],
): Change {
  const top = new Set(fields.map((f) => topField(f.path)));
  const effects = new Set([...top].map((t) => serviceFieldEffects[t as keyof ServiceModel] ?? 'restart'));
  const changed = [...top].join(', ');
  let action: Change['action'];
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
  if (adopt) reason = `adopt an unmanaged service${changed ? `; ${changed} changed` : ''}`;
  return {
    ...base(s.ref, s.swarmName),
    action,
    reason,
    restartsTasks: action === 'replace' || effects.has('restart') || reattach.length > 0,
    fields,
    before: maskModel(liveModel, mask),
    after: maskModel(s.model, mask),
    dependsOn: [],
    ...(adopt ? { adopt: true as const } : {}),
  };
}

function topField(path: string): string {
  if (path.startsWith('swarm:')) return 'unmanaged';
  if (path === digestPath) return 'image';
  if (path.startsWith('metadata.labels')) return 'labels';
  return path.slice('spec.'.length).split(/[.[]/)[0];
}

/** Networks, configs, secrets, services, then routes; deletions after, in the reverse order; by name within. */
export function orderChanges(changes: Change[]): Change[] {
  const rank = { Network: 0, Config: 1, Secret: 2, Service: 3, Route: 4 } as const;
  const phase = (c: Change) => (c.action === 'delete' ? 9 - rank[c.kind] : rank[c.kind]);
  return [...changes].sort((a, b) => phase(a) - phase(b) || a.swarmName.localeCompare(b.swarmName));
}

export type { DesiredNetwork };
