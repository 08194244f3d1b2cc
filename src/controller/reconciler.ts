/**
 * reconcile(key): level-based. Given only an object key ("Service/shop/web"), re-read the
 * live Swarm, plan the whole desired state against it, keep the change for that key, and
 * apply it (one attempt); then record the object's status. Decides nothing about retries: it
 * returns an outcome or throws (an action that failed throws ActionFailedError, whose cause is
 * the typed error), and the reconcile handler (reconcile-handler.ts) decides. Drift (the live
 * object differs from the spec the controller itself applied) is repaired or only reported, as
 * configured.
 */
import { labelSpecHash } from '../api/labels.js';
import type { DesiredService, DesiredState } from '../model/desired-state.js';
import type { DesiredRoute, RolloutModel } from '../api/route-model.js';
import { refId } from '../api/object-ref.js';
import type { SwarmAccess } from '../api/swarm-access.js';
import type { LiveState, SwarmService } from '../api/swarm-types.js';
import { judge } from '../apply/convergence.js';
import { executePlan } from '../apply/execute-plan.js';
import { collectOldVersions } from '../apply/data-versions.js';
import { stemOfVersion } from '../api/data-model.js';
import { buildPlan } from '../plan/build-plan.js';
import type { Change, Plan } from '../plan/plan.js';
import { specHash } from '../plan/swarm-spec.js';
import type { LiveCache } from './live-cache.js';
import { ownRecordPrefixes } from './own-records.js';
import type { StatusStore } from './status.js';

export interface DesiredRevision {
  revision: string;
  desired: DesiredState;
}

export interface ReconcileObserver {
  action?(kind: string, action: string, result: 'success' | 'failure'): void;
  drift?(kind: string, mode: 'repaired' | 'reported'): void;
}

export interface ReconcilerOptions {
  applySet: string;
  drift: 'repair' | 'report';
  prune: boolean;
  allowReplace: boolean;
  maxDeletions: number;
  timeoutMs: number;
}

/** What the status of an object is recorded under. */
export interface ObjectBase {
  id: string;
  kind: string;
  swarmName: string;
  revision: string | undefined;
}

/** The change for a key was attempted once and failed; `cause` is the error as thrown (typed). */
export class ActionFailedError extends Error {
  constructor(
    readonly object: ObjectBase,
    readonly action: string,
    detail: string,
    cause: unknown,
  ) {
    super(`${action} failed: ${detail}`, { cause });
    this.name = 'ActionFailedError';
  }
}

export type ReconcileResult =
  | {
      outcome: 'in-sync' | 'applied' | 'reported' | 'blocked' | 'skipped';
      recheckAfterMs?: number;
      dependsOn?: string[];
    }
  | { outcome: 'waiting'; dependsOn: string[] };

/**
 * Progressive delivery (src/rollout/rollout-controller.ts): asked before a routed service whose
 * route has a rollout strategy is updated in a way that restarts its tasks. A result: the
 * rollout has the service, record it and look again; undefined: apply the update as usual.
 */
export interface RolloutDivert {
  divert(i: {
    key: string;
    desired: DesiredService;
    route: DesiredRoute & { model: { rollout: RolloutModel } };
    live: LiveState;
    revision: string;
  }): Promise<{ phase: 'Progressing' | 'Failed'; reason: string } | undefined>;
}

export interface ReconcilerDeps {
  swarm: SwarmAccess;
  /** The live Swarm, shared by a burst of keys. */
  cache: LiveCache;
  status: StatusStore;
  options: ReconcilerOptions;
  observer?: ReconcileObserver;
  rollouts?: RolloutDivert;
}

export class Reconciler {
  desired: DesiredRevision | undefined;
  /**
   * One plan per live snapshot and revision: a burst of keys shares it (O(n), not O(n^2)). A new
   * snapshot whose objects all have the versions of the planned one (liveVersions) keeps the plan:
   * the engine bumps an object's version on every write, so nothing the planner reads changed
   * (decision 100: an idle resync then re-reads the Swarm but does not plan it again).
   */
  private planned:
    | {
        live: LiveState;
        versions: string;
        desired: DesiredRevision | undefined;
        plan: Plan;
        byId: Map<string, Change>;
      }
    | undefined;
  /** Key -> Swarm name and desired service, per desired revision (lookups per key stay O(1)). */
  private indexed:
    { desired: DesiredRevision; names: Map<string, string>; services: Map<string, DesiredService> } | undefined;
  /** Service name -> live service, per live snapshot. */
  private liveServices = new WeakMap<LiveState, Map<string, SwarmService>>();
  private readonly swarm: SwarmAccess;
  private readonly cache: LiveCache;
  private readonly status: StatusStore;
  private readonly options: ReconcilerOptions;
  private readonly observer: ReconcileObserver;
  private readonly rollouts: RolloutDivert | undefined;
  /** How many times the whole set was planned (a snapshot with the last one's versions reuses its plan). */
  plansBuilt = 0;

  constructor(deps: ReconcilerDeps) {
    this.rollouts = deps.rollouts;
    this.swarm = deps.swarm;
    this.cache = deps.cache;
    this.status = deps.status;
    this.options = deps.options;
    this.observer = deps.observer ?? {};
  }

  /** Every key the loop should look at: declared objects and owned live objects of this set. */
  async allKeys(): Promise<string[]> {
    const keys = new Set<string>();
    for (const n of this.desired?.desired.networks ?? []) keys.add(refId(n.ref));
    for (const s of this.desired?.desired.services ?? []) keys.add(refId(s.ref));
    for (const r of this.desired?.desired.routes ?? []) keys.add(refId(r.ref));
    for (const d of [...(this.desired?.desired.configs ?? []), ...(this.desired?.desired.secrets ?? [])])
      keys.add(refId(d.ref));
    const live = await this.cache.get();
    const plan = this.plan(live);
    for (const c of plan.changes) keys.add(c.id);
    return [...keys].sort();
  }

  /** The status identity of a key: kind, Swarm name (the key itself when it is not known), revision. */
  objectBase(key: string): ObjectBase {
    return {
      id: key,
      kind: key.split('/')[0],
      swarmName: this.swarmNameOf(key) ?? key,
      revision: this.desired?.revision,
    };
  }

  /** Maps a Swarm object name from an event to the key that covers it, if any. */
  keyForSwarmName(kind: 'service' | 'network' | 'config' | 'secret', name: string): string | undefined {
    const d = this.desired?.desired;
    if (kind === 'config' || kind === 'secret') {
      const route = kind === 'config' ? /^(.*)\.route\.[0-9a-f]{10}$/.exec(name)?.[1] : undefined;
      const found = route
        ? d?.routes.find((r) => r.swarmName === route)
        : (kind === 'config' ? d?.configs : d?.secrets)?.find(
            (x) => !x.external && x.swarmName === stemOfVersion(name),
          );
      return found ? refId(found.ref) : undefined;
    }
    const found =
      kind === 'service'
        ? d?.services.find((s) => s.swarmName === name)
        : d?.networks.find((n) => n.swarmName === name);
    return found ? refId(found.ref) : undefined;
  }

  /** Removes old config and secret versions no service uses any more (beyond each one's retain). */
  async collectOldVersions(): Promise<string[]> {
    const d = this.desired?.desired;
    if (!d) return [];
    const r = await collectOldVersions(this.swarm, this.options.applySet, [...d.configs, ...d.secrets]);
    if (r.removed.length) this.cache.invalidate();
    return r.removed;
  }

  private plan(live: LiveState): Plan {
    return this.planOf(live).plan;
  }

  private planOf(live: LiveState): { plan: Plan; byId: Map<string, Change> } {
    if (this.planned?.live === live && this.planned.desired === this.desired) return this.planned;
    const versions = liveVersions(live);
    if (this.planned?.versions === versions && this.planned.desired === this.desired) {
      this.planned.live = live;
      return this.planned;
    }
    const plan = this.buildPlan(live);
    this.plansBuilt++;
    this.planned = { live, versions, desired: this.desired, plan, byId: new Map(plan.changes.map((c) => [c.id, c])) };
    return this.planned;
  }

  /**
   * Whether a Swarm object changed since the cached snapshot matters to this key: its own object
   * or one its change waits for (a network, a config's versions). Then the key needs a fresh read;
   * any other key keeps planning on the shared snapshot.
   */
  private touches(key: string, changed: ReadonlySet<string>): boolean {
    if (changed.size === 0) return false;
    const change = this.planned?.byId.get(key);
    for (const id of [key, ...(change?.dependsOn ?? [])]) {
      const name = this.swarmNameOf(id) ?? this.planned?.byId.get(id)?.swarmName;
      if (name === undefined || changed.has(name)) return true;
      const kind = id.split('/')[0];
      if (kind !== 'Service' && kind !== 'Network') for (const c of changed) if (c.startsWith(`${name}.`)) return true; // versioned configs and secrets
    }
    return false;
  }

  private liveService(live: LiveState, name: string): SwarmService | undefined {
    let byName = this.liveServices.get(live);
    if (!byName) {
      byName = new Map<string, SwarmService>();
      for (const s of live.services)
        if (s.Spec.Name !== undefined && !byName.has(s.Spec.Name)) byName.set(s.Spec.Name, s);
      this.liveServices.set(live, byName);
    }
    return byName.get(name);
  }

  private index() {
    const desired = this.desired!;
    if (this.indexed?.desired === desired) return this.indexed;
    const d = desired.desired;
    const names = new Map<string, string>();
    for (const x of [...d.configs, ...d.secrets, ...d.routes, ...d.networks, ...d.services])
      names.set(refId(x.ref), x.swarmName);
    const services = new Map(d.services.map((s) => [refId(s.ref), s]));
    this.indexed = { desired, names, services };
    return this.indexed;
  }

  private buildPlan(live: LiveState): Plan {
    return buildPlan(
      this.desired?.desired ?? { networks: [], services: [], routes: [], configs: [], secrets: [] },
      live,
      {
        applySet: this.options.applySet,
        prune: this.options.prune && !!this.desired,
        allowReplace: this.options.allowReplace,
        maxDeletions: this.options.maxDeletions,
      },
    );
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const snapshot = this.desired;
    if (!snapshot) return { outcome: 'skipped' };
    const live = await this.cache.getUnless((changed) => this.touches(key, changed));
    const { plan, byId } = this.planOf(live);
    const kind = key.split('/')[0];
    const change = byId.get(key);
    const blockers = plan.blockers.filter((b) => b.id === key || (b.id === '(prune)' && change?.action === 'delete'));
    const base = {
      id: key,
      kind,
      swarmName: change?.swarmName ?? this.swarmNameOf(key) ?? key,
      revision: snapshot.revision,
    };
    if (blockers.length) {
      this.status.setObject({
        ...base,
        phase: 'Failed',
        reason: blockers.map((b) => `${b.code} ${b.message}`).join('; '),
      });
      return { outcome: 'blocked' };
    }
    if (!change) {
      if (kind === 'Service') return this.observeService(key, base, live);
      if (this.isDeclared(key)) this.status.setObject({ ...base, phase: 'Ready', reason: '' });
      else this.status.removeObject(key);
      return { outcome: 'in-sync' };
    }
    const pending = change.dependsOn.filter((d) => byId.has(d));
    if (pending.length) {
      this.status.setObject({ ...base, phase: 'Pending', reason: `waiting for ${pending.join(', ')}` });
      return { outcome: 'waiting', dependsOn: pending };
    }
    const refused = this.refuseRepeatedRollback(change, live);
    if (refused) {
      this.status.setObject({ ...base, phase: 'Failed', reason: refused });
      return { outcome: 'blocked' };
    }
    const drifted = this.isDrift(change, live);
    const drift = drifted
      ? {
          at: this.status.nowIso(),
          fields: change.fields.map((f) => f.path),
          repaired: this.options.drift === 'repair',
        }
      : undefined;
    if (drifted) {
      this.observer.drift?.(kind, this.options.drift === 'repair' ? 'repaired' : 'reported');
      if (this.options.drift === 'report') {
        this.status.setObject({
          ...base,
          drift,
          phase: 'Failed',
          reason: `drifted from the manifests (${change.fields.map((f) => f.path).join(', ')}); not repaired (--drift=report)`,
        });
        return { outcome: 'reported' };
      }
    }
    const diverted = await this.divertToRollout(key, change, live, snapshot);
    if (diverted) {
      this.status.setObject({ ...base, ...diverted });
      return { outcome: 'skipped', recheckAfterMs: 2000 };
    }
    // One attempt, no retry policy: the reconcile handler decides whether and when to try again.
    const [outcome] = await executePlan(
      { ...plan, changes: [{ ...change, dependsOn: [] }], blockers: [] },
      this.swarm,
      {
        concurrency: 1,
        timeoutMs: this.options.timeoutMs,
        revision: snapshot.revision,
      },
    );
    this.cache.changed(change.swarmName); // keys that depend on it re-read; the others keep the snapshot
    const ok = outcome.status === 'succeeded';
    this.observer.action?.(kind, change.action, ok ? 'success' : 'failure');
    if (!ok) throw new ActionFailedError(base, change.action, outcome.detail, outcome.error);
    if (change.action === 'delete') {
      this.status.removeObject(key);
      return { outcome: 'applied' };
    }
    this.status.setObject({
      ...base,
      ...(drift ? { drift } : {}),
      phase: kind === 'Service' ? 'Progressing' : 'Ready',
      reason: `${drifted ? 'drift repaired: ' : ''}${change.action}: ${change.reason}`,
    });
    return { outcome: 'applied', recheckAfterMs: kind === 'Service' ? 1000 : undefined };
  }

  /** A restarting update of a service whose route has a rollout strategy goes to the rollout controller. */
  private async divertToRollout(key: string, change: Change, live: LiveState, snapshot: DesiredRevision) {
    if (!this.rollouts || change.kind !== 'Service' || change.action !== 'update' || !change.restartsTasks)
      return undefined;
    const desired = snapshot.desired.services.find((s) => refId(s.ref) === key);
    if (!desired) return undefined;
    const route = snapshot.desired.routes.find(
      (r) => r.model.rollout && r.model.backends.length === 1 && r.model.backends[0].service === desired.swarmName,
    );
    if (!route?.model.rollout) return undefined;
    return this.rollouts.divert({
      key,
      desired,
      route: route as DesiredRoute & { model: { rollout: RolloutModel } },
      live,
      revision: snapshot.revision,
    });
  }

  private swarmNameOf(key: string): string | undefined {
    return this.desired ? this.index().names.get(key) : undefined;
  }

  private isDeclared(key: string): boolean {
    return this.swarmNameOf(key) !== undefined;
  }

  /** The live object carries the hash of the desired spec, yet differs: someone changed it out of band. */
  private isDrift(change: Change, live: LiveState): boolean {
    if (change.kind !== 'Service' || (change.action !== 'update' && change.action !== 'scale')) return false;
    const desired = change.desired;
    const svc = this.liveService(live, change.swarmName);
    return (
      !!desired && !!svc && svc.Spec.Labels?.[labelSpecHash] === specHash('Service', desired.swarmName, desired.model)
    );
  }

  /** Swarm rolled back the very spec we would apply again: report it instead of looping. */
  private refuseRepeatedRollback(change: Change, live: LiveState): string | undefined {
    if (change.kind !== 'Service' || change.action !== 'update') return undefined;
    const svc = this.liveService(live, change.swarmName);
    const desired = change.desired;
    if (!svc || !desired || !svc.UpdateStatus?.State?.startsWith('rollback')) return undefined;
    if (svc.PreviousSpec?.Labels?.[labelSpecHash] !== specHash('Service', desired.swarmName, desired.model))
      return undefined;
    return `Swarm rolled this revision back (${svc.UpdateStatus.State}${svc.UpdateStatus.Message ? `: ${svc.UpdateStatus.Message}` : ''}); fix the manifest and commit again`;
  }

  private async observeService(
    key: string,
    base: { id: string; kind: string; swarmName: string; revision: string },
    live: LiveState,
  ): Promise<ReconcileResult> {
    const svc = this.liveService(live, base.swarmName);
    const desired = this.index().services.get(key);
    if (!svc || !desired) {
      this.status.removeObject(key);
      return { outcome: 'in-sync' };
    }
    const us = svc.UpdateStatus?.State ?? '';
    const settled = !us.startsWith('rollback') && us !== 'paused' && us !== 'updating';
    if (
      settled &&
      (svc.ServiceStatus?.RunningTasks ?? 0) >= (svc.ServiceStatus?.DesiredTasks ?? 0) &&
      svc.ServiceStatus
    ) {
      this.status.setObject({ ...base, phase: 'Ready', reason: '' }); // the list's counts suffice: no task listing
      return { outcome: 'in-sync' };
    }
    const tasks = await this.swarm.listTasks({ service: svc.ID, desiredState: 'running' });
    const verdict = judge(
      {
        id: key,
        swarmName: base.swarmName,
        specHash: specHash('Service', desired.swarmName, desired.model),
        writtenAt: 0,
      },
      svc,
      tasks,
      Number.MAX_SAFE_INTEGER,
    );
    const phase = verdict.state === 'converged' ? 'Ready' : verdict.state === 'failed' ? 'Failed' : 'Progressing';
    this.status.setObject({ ...base, phase, reason: verdict.state === 'converged' ? '' : verdict.detail });
    return { outcome: 'in-sync', ...(phase === 'Progressing' ? { recheckAfterMs: 2000 } : {}) };
  }
}

/**
 * What the planner reads of a live snapshot, as versions: every service, config, secret and route
 * config by ID and Version.Index (the engine raises the index on every write of the object, labels
 * included), every network by ID (networks cannot be updated), and the engine's API version; not the
 * controller's own records (leases and status documents, renewed every few seconds, which the
 * planner does not read: own-records.ts). Equal
 * strings mean equal specs; list order counts, so a reordered list only costs a new plan.
 * Task states and service status are not in it: the planner does not read them.
 */
let unversioned = 0;

export function liveVersions(live: LiveState): string {
  const parts: string[] = [live.apiVersion ?? ''];
  const versioned = (tag: string, xs: { ID: string; Version?: { Index?: number } }[]) => {
    parts.push(tag);
    for (const x of xs) {
      // An object without a version cannot be compared: this snapshot matches no other.
      if (x.Version?.Index === undefined) return void parts.push(`unversioned#${++unversioned}`);
      parts.push(`${x.ID}@${x.Version.Index}`);
    }
  };
  versioned('s', live.services);
  // The leases and status documents change every few seconds and are not planned (own-records.ts).
  versioned(
    'c',
    live.configs.filter((c) => !ownRecordPrefixes.some((p) => c.Spec.Name?.startsWith(p))),
  );
  versioned('x', live.secrets);
  versioned('r', live.routeConfigs);
  parts.push('n');
  for (const n of live.networks) parts.push(n.Id);
  return parts.join(' ');
}
