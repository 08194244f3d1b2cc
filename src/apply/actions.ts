/**
 * What each planned change does to the Swarm, written so it can run again safely: every
 * attempt re-reads the object it touches and re-derives what is left to do, so a retry
 * after a version conflict, or a second run after a crash, neither repeats nor loses work.
 */
import type { SwarmAccess } from '../api/swarm-access.js';
import type { DesiredNetwork, DesiredService } from '../model/desired-state.js';
import { AlreadyExistsError, NotFoundError, TerminalError, TransientError } from '../errors.js';
import { ownershipOf } from '../api/labels.js';

import { diffModels } from '../plan/field-diff.js';
import { digestFields } from '../plan/image-pins.js';
import { serviceModelFromLive } from '../plan/live-model.js';
import { buildNetworkCreate, buildServiceSpec, networkOwnershipLabels, specHash } from '../plan/swarm-spec.js';
import { labelRecordFor, networkOwnerLabels, networkRecordName } from '../api/network-ownership.js';
import { labelSpecHash } from '../api/labels.js';
import type { Clock } from '../queue/clock.js';
import type { SwarmServiceSpec } from '../api/swarm-types.js';
import { endpointSpecChanges } from '../plan/restarts.js';
import {
  encodeRouteData,
  labelRoute,
  routeConfigLabels,
  routeConfigName,
  type DesiredRoute,
} from '../api/route-model.js';
import { labelRevision } from '../api/labels.js';

export interface ActionContext {
  swarm: SwarmAccess;
  applySet: string;
  /** The source revision being applied, if any (recorded on what is written). */
  revision?: string;
  clock: Clock;
  /** How long to wait for tasks to go or a network to be released. */
  timeoutMs: number;
  pollMs: number;
  /** Swarm network name -> ID, read once per run and again after a network action. */
  networkIds(): Promise<Map<string, string>>;
  forgetNetworks(): void;
  /** Swarm secret name -> ID, read once per run and again after a new version is written. */
  secretIds(): Promise<Map<string, string>>;
  /** Swarm config name -> ID, likewise. */
  configIds(): Promise<Map<string, string>>;
  /** Forget both caches (a config or secret version was created). */
  forgetData?(): void;
}

/** A cache of network IDs for one apply run; network actions call forgetNetworks(). */
export function networkIdCache(swarm: SwarmAccess): Pick<ActionContext, 'networkIds' | 'forgetNetworks'> {
  let cached: Promise<Map<string, string>> | undefined;
  return {
    networkIds: () => (cached ??= swarm.listNetworks().then((ns) => new Map(ns.map((n) => [n.Name, n.Id])))),
    forgetNetworks: () => {
      cached = undefined;
    },
  };
}

/** Caches of secret and config IDs for one apply run, forgotten when a version is created. */
export function dataIdCache(swarm: SwarmAccess): Pick<ActionContext, 'secretIds' | 'configIds' | 'forgetData'> {
  let secrets: Promise<Map<string, string>> | undefined;
  let configs: Promise<Map<string, string>> | undefined;
  return {
    secretIds: () => (secrets ??= swarm.listSecrets().then((xs) => new Map(xs.map((x) => [x.Spec.Name, x.ID])))),
    configIds: () => (configs ??= swarm.listConfigs().then((xs) => new Map(xs.map((x) => [x.Spec.Name, x.ID])))),
    forgetData: () => {
      secrets = undefined;
      configs = undefined;
    },
  };
}

async function dataIdsFor(
  ctx: ActionContext,
  s: DesiredService,
): Promise<{ secretIds?: Map<string, string>; configIds?: Map<string, string> }> {
  return {
    ...(s.model.secrets.length ? { secretIds: await ctx.secretIds() } : {}),
    ...(s.model.configs.length ? { configIds: await ctx.configIds() } : {}),
  };
}

/** What an action did: "created", "updated", "already up to date", ... and when it wrote. */
export interface ActionResult {
  summary: string;
  wrote: boolean;
  /** For services: the spec hash written, to check convergence against. */
  specHash?: string;
  writtenAt?: number;
  /** The update changed the endpoint spec of running tasks (see ConvergenceTarget.awaitUpdate). */
  awaitUpdate?: boolean;
}

export async function createService(ctx: ActionContext, s: DesiredService): Promise<ActionResult> {
  const spec = buildServiceSpec(s, {
    applySet: ctx.applySet,
    networkIds: await ctx.networkIds(),
    ...(await dataIdsFor(ctx, s)),
    revision: ctx.revision,
  });
  try {
    await ctx.swarm.createService(spec);
  } catch (err) {
    // Created by an earlier, interrupted run (or by someone else): update it instead, if ours.
    if (err instanceof AlreadyExistsError) return updateService(ctx, s);
    throw await networkGoneError(ctx, s, err);
  }
  return { summary: 'created', wrote: true, specHash: spec.Labels![labelSpecHash], writtenAt: ctx.clock.now() };
}

/**
 * The engine answers "network <id> not found" when a network this run counted on went away
 * after it read the Swarm: removed by someone meanwhile, or removed a moment before and still
 * listed (engine 20.10 keeps listing a removed overlay network for a few seconds, until its last
 * container has stopped). Only a new plan can put it right, so say that; other errors pass.
 */
async function networkGoneError(ctx: ActionContext, s: DesiredService, err: unknown): Promise<unknown> {
  if (!(err instanceof NotFoundError) || err.object !== 'network' || !err.id) return err;
  const id = err.id;
  // The IDs the spec was built from name it; then read them afresh for whatever runs next.
  const used = await ctx.networkIds().catch(() => new Map<string, string>());
  ctx.forgetNetworks();
  const name = [...used].find(([, v]) => v === id)?.[0] ?? id;
  return new TerminalError(
    'SC5006',
    `service "${s.swarmName}" needs network "${name}", which is no longer in the Swarm: it was removed after this run read the Swarm (a removed network stays listed for a few seconds while its last containers stop); nothing about "${s.swarmName}" was changed. Run the plan again: it creates the network before the service`,
  );
}

export async function updateService(ctx: ActionContext, s: DesiredService): Promise<ActionResult> {
  const live = await ctx.swarm.getService(s.swarmName);
  if (!live) return createService(ctx, s);
  const o = ownershipOf(live.Spec.Labels);
  if (o.state === 'owned' && o.applySet !== ctx.applySet) {
    throw new TerminalError('SC4001', `service "${s.swarmName}" now belongs to apply set "${o.applySet}"; not changed`);
  }
  const ids = await ctx.networkIds();
  const names = new Map([...ids].map(([name, id]) => [id, name]));
  const hash = specHash('Service', s.swarmName, s.model);
  const upToDate =
    diffModels(serviceModelFromLive(live, names), s.model).length === 0 &&
    digestFields(s, live.Spec).length === 0 &&
    live.Spec.Labels?.[labelSpecHash] === hash &&
    (live.Spec.TaskTemplate?.Networks ?? []).every((n) => names.has(n.Target ?? ''));
  if (upToDate) return { summary: 'already up to date', wrote: false, specHash: hash };
  const spec = buildServiceSpec(s, {
    applySet: ctx.applySet,
    networkIds: ids,
    ...(await dataIdsFor(ctx, s)),
    live: live.Spec,
    revision: ctx.revision,
  });
  await ctx.swarm.updateService(live.ID, live.Version.Index, spec).catch(async (err) => {
    throw await networkGoneError(ctx, s, err);
  });
  return {
    summary: 'updated',
    wrote: true,
    specHash: hash,
    writtenAt: ctx.clock.now(),
    ...(endpointRestartsTasks(live.Spec, spec) ? { awaitUpdate: true } : {}),
  };
}

/**
 * Whether an update restarts running tasks for their endpoint spec alone: Swarm marks every task
 * whose endpoint differs from the service's as out of date (swarmkit's IsTaskDirty), while the
 * task template, which the tasks' own specs show, may be unchanged. Only when tasks run before
 * and after: a service scaled from or to zero gets no update at all.
 */
function endpointRestartsTasks(before: SwarmServiceSpec, after: SwarmServiceSpec): boolean {
  const runs = (m: SwarmServiceSpec['Mode']) => m?.Global !== undefined || (m?.Replicated?.Replicas ?? 1) > 0;
  return runs(before.Mode) && runs(after.Mode) && endpointSpecChanges(before, after);
}

export async function replaceService(ctx: ActionContext, s: DesiredService): Promise<ActionResult> {
  const live = await ctx.swarm.getService(s.swarmName);
  if (live && live.Spec.Labels?.[labelSpecHash] !== specHash('Service', s.swarmName, s.model)) {
    await ctx.swarm.removeService(live.ID);
    await waitForTasksGone(ctx, live.ID);
  }
  const result = await createService(ctx, s);
  return { ...result, summary: live ? 'removed and created again' : result.summary };
}

export async function deleteService(ctx: ActionContext, swarmName: string): Promise<ActionResult> {
  const live = await ctx.swarm.getService(swarmName);
  if (live) await ctx.swarm.removeService(live.ID);
  await waitForTasksGone(ctx, live?.ID ?? swarmName);
  return { summary: live ? 'deleted; its tasks are gone' : 'already gone', wrote: !!live };
}

/** Removal stops tasks asynchronously; their network endpoints go with them. */
export async function waitForTasksGone(ctx: ActionContext, serviceId: string): Promise<void> {
  const deadline = ctx.clock.now() + ctx.timeoutMs;
  for (;;) {
    const tasks = await ctx.swarm.listTasks({ service: serviceId });
    const alive = tasks.filter(
      (t) =>
        !['shutdown', 'complete', 'failed', 'rejected', 'orphaned', 'remove'].includes(t.Status?.State ?? '') ||
        t.DesiredState === 'running',
    );
    if (alive.length === 0) return;
    if (ctx.clock.now() >= deadline)
      throw new TransientError(
        `${alive.length} task(s) of removed service ${serviceId} are still running after ${ctx.timeoutMs / 1000}s`,
      );
    await ctx.clock.sleep(ctx.pollMs);
  }
}

export async function createNetwork(ctx: ActionContext, n: DesiredNetwork): Promise<ActionResult> {
  const existing = (await ctx.swarm.listNetworks()).find((x) => x.Name === n.swarmName);
  if (
    existing &&
    networkOwnerLabels(existing, await ctx.swarm.listConfigs())[labelSpecHash] ===
      specHash('Network', n.swarmName, n.model)
  ) {
    return { summary: 'already exists', wrote: false };
  }
  await ctx.swarm.createNetwork(buildNetworkCreate(n, ctx.applySet, ctx.revision));
  ctx.forgetNetworks();
  return { summary: 'created', wrote: true };
}

/**
 * Takes over a network another tool made, whose spec already is the manifest's: Swarm cannot
 * relabel a network, so the ownership labels go on its record (api/network-ownership.ts).
 * Nothing about the network changes, so no task restarts.
 */
export async function adoptNetwork(ctx: ActionContext, n: DesiredNetwork): Promise<ActionResult> {
  const existing = (await ctx.swarm.listNetworks()).find((x) => x.Name === n.swarmName);
  if (!existing) return createNetwork(ctx, n);
  const labels: Record<string, string> = {
    ...networkOwnershipLabels(n, ctx.applySet, ctx.revision),
    [labelRecordFor]: n.swarmName,
  };
  const name = networkRecordName(existing.Id);
  const record = (await ctx.swarm.listConfigs()).find((c) => c.Spec.Name === name);
  if (!record) {
    await ctx.swarm.createConfig(name, labels, `ownership record of network ${n.swarmName} (${existing.Id})`);
    return { summary: `adopted; ownership recorded in config ${name}`, wrote: true };
  }
  const o = ownershipOf(record.Spec.Labels);
  if (o.state === 'owned' && o.applySet !== ctx.applySet)
    throw new TerminalError('SC4001', `network "${n.swarmName}" now belongs to apply set "${o.applySet}"; not changed`);
  if (record.Spec.Labels?.[labelSpecHash] === labels[labelSpecHash])
    return { summary: 'already adopted', wrote: false };
  await ctx.swarm.updateConfigLabels(record, labels);
  return { summary: `ownership record ${name} updated`, wrote: true };
}

/** Removes the ownership record of a network that is gone (one taken over by --adopt has one). */
async function removeNetworkRecord(ctx: ActionContext, networkId: string): Promise<void> {
  const record = (await ctx.swarm.listConfigs()).find((c) => c.Spec.Name === networkRecordName(networkId));
  if (record) await ctx.swarm.removeConfig(record.ID);
}

/** Detach every service from the network, remove it once released, create it again. */
export async function replaceNetwork(ctx: ActionContext, n: DesiredNetwork): Promise<ActionResult> {
  const networks = await ctx.swarm.listNetworks();
  const existing = networks.find((x) => x.Name === n.swarmName);
  const configs = await ctx.swarm.listConfigs();
  if (existing && networkOwnerLabels(existing, configs)[labelSpecHash] !== specHash('Network', n.swarmName, n.model)) {
    for (const svc of await ctx.swarm.listServices()) {
      const attached = (svc.Spec.TaskTemplate?.Networks ?? []).filter(
        (a) => a.Target === existing.Id || a.Target === existing.Name,
      );
      if (attached.length === 0) continue;
      const spec = structuredClone(svc.Spec);
      spec.TaskTemplate!.Networks = (spec.TaskTemplate!.Networks ?? []).filter(
        (a) => a.Target !== existing.Id && a.Target !== existing.Name,
      );
      await ctx.swarm.updateService(svc.ID, svc.Version.Index, spec);
    }
    await removeNetworkWhenReleased(ctx, existing.Id, n.swarmName);
    await removeNetworkRecord(ctx, existing.Id);
    ctx.forgetNetworks();
  }
  const result = await createNetwork(ctx, n);
  return { ...result, summary: existing ? 'removed and created again' : result.summary };
}

export async function deleteNetwork(ctx: ActionContext, swarmName: string): Promise<ActionResult> {
  const existing = (await ctx.swarm.listNetworks()).find((x) => x.Name === swarmName);
  if (!existing) return { summary: 'already gone', wrote: false };
  await removeNetworkWhenReleased(ctx, existing.Id, swarmName);
  await removeNetworkRecord(ctx, existing.Id);
  ctx.forgetNetworks();
  return { summary: 'deleted', wrote: true };
}

/** A network is "in use" until the last task endpoint on it is gone; keep trying until the timeout. */
async function removeNetworkWhenReleased(ctx: ActionContext, id: string, name: string): Promise<void> {
  const deadline = ctx.clock.now() + ctx.timeoutMs;
  for (;;) {
    try {
      await ctx.swarm.removeNetwork(id);
      return;
    } catch (err) {
      if (!(err instanceof TransientError) || ctx.clock.now() >= deadline) {
        throw err instanceof TransientError
          ? new TransientError(`network ${name} is still in use after ${ctx.timeoutMs / 1000}s: ${err.message}`)
          : err;
      }
      await ctx.clock.sleep(ctx.pollMs);
    }
  }
}

/**
 * Creates the route's config for its current content (a no-op when it exists), then removes
 * every other config of the route. Readers pick the newest config, so traffic never sees a
 * moment without the route. Serves create and update alike.
 */
export async function putRoute(ctx: ActionContext, r: DesiredRoute): Promise<ActionResult> {
  const name = routeConfigName(r.swarmName, r.model);
  const existing = await ctx.swarm.listConfigs([`${labelRoute}=${r.swarmName}`]);
  for (const c of existing) {
    const o = ownershipOf(c.Spec.Labels);
    if (o.state === 'owned' && o.applySet !== ctx.applySet)
      throw new TerminalError('SC4001', `route "${r.swarmName}" now belongs to apply set "${o.applySet}"; not changed`);
  }
  let wrote = false;
  if (!existing.some((c) => c.Spec.Name === name)) {
    try {
      await ctx.swarm.createConfig(
        name,
        routeConfigLabels(r, ctx.applySet, ctx.revision ? { [labelRevision]: ctx.revision } : {}),
        encodeRouteData(r),
      );
      wrote = true;
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
  }
  const stale = existing.filter((c) => c.Spec.Name !== name);
  for (const c of stale) await ctx.swarm.removeConfig(c.ID);
  const summary = wrote
    ? stale.length
      ? 'stored (new config; old one removed)'
      : 'stored'
    : stale.length
      ? 'removed stale configs'
      : 'already up to date';
  return { summary, wrote: wrote || stale.length > 0 };
}

export async function deleteRoute(ctx: ActionContext, swarmName: string): Promise<ActionResult> {
  const existing = (await ctx.swarm.listConfigs([`${labelRoute}=${swarmName}`])).filter((c) => {
    const o = ownershipOf(c.Spec.Labels);
    return o.state === 'owned' && o.applySet === ctx.applySet;
  });
  for (const c of existing) await ctx.swarm.removeConfig(c.ID);
  return { summary: existing.length ? 'deleted' : 'already gone', wrote: existing.length > 0 };
}
