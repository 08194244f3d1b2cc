/**
 * Runs the rollouts of one apply set in `controller run` (docs/rollouts.md). Two entry points:
 *  - `divert()`, called by the reconciler instead of updating a routed service whose route has a
 *    rollout strategy, when the update would restart its tasks: starts (or continues) a rollout,
 *    creating the canary service `<service>-canary` with the new spec, and tells the reconciler
 *    to leave the stable service alone until the rollout says so (promotion);
 *  - a loop, while this replica leads, that moves every active rollout on: canary tasks up,
 *    the step's weight written to the rollout record (which the route reconciler serves), the
 *    proxies' counters read every `interval` and judged (analysis.ts, step-decision.ts), then
 *    the next step, promotion (all traffic to the canary, the stable service updated in place
 *    by the reconciler, all traffic back to it, the canary removed) or rollback (all traffic to
 *    the stable service, then the canary removed).
 * Everything a new leader needs is in the rollout record (rollout-record.ts); only the
 * traffic window of the current step lives in memory, and a new leader starts it again (the
 * step's hold time, counted from the record, goes on).
 * Talks to the Swarm only through SwarmAccess/SwarmRecords and to the proxies through a stats
 * reader; imports nothing from src/swarm/.
 */
import { labelApplySet, labelManagedBy, labelSpecHash, labelStackNamespace } from '../api/labels.js';
import type { DesiredService } from '../model/desired-state.js';
import type { DesiredRoute, RolloutModel } from '../api/route-model.js';
import type { SwarmAccess, SwarmRecords } from '../api/swarm-access.js';
import type { LiveState, SwarmService, SwarmServiceSpec } from '../api/swarm-types.js';
import { judge as judgeConvergence } from '../apply/convergence.js';
import type { Logger } from '../log.js';
import { buildServiceSpec, specHash } from '../plan/swarm-spec.js';
import type { Clock } from '../queue/clock.js';
import type { TrafficStats } from '../proxy/traffic-counters.js';
import { parseDuration } from '../units.js';
import {
  defaultMaxStableDrift,
  judgeStep,
  quantileMs,
  type AnalysisThresholds,
  type StepAnalysis,
} from './analysis.js';
import {
  canaryName,
  isActive,
  labelCanaryOf,
  RolloutRecords,
  type RecordedJudgement,
  type RolloutState,
  type StoredRollout,
} from './rollout-record.js';
import { decideStep, stepLabel } from './step-decision.js';
import {
  coldServers,
  unreadyServers,
  loadWindow,
  storeWindow,
  sumWindows,
  windowBetween,
  type TrafficWindow,
} from './traffic-window.js';

/** What the rollout controller needs of the route reconciler. */
export interface RolloutRoutes {
  /** Every proxy replica serves the route with this canary weight. */
  serving(route: string, canary: string, weight: number, match?: boolean): boolean;
  /** The proxy replicas' control addresses. */
  replicaAddresses(): string[];
  /** Read the Swarm again now (a rollout record changed). */
  refresh(): void;
}

export interface StatsReader {
  getStats(address: string): Promise<{ ok: true; value: TrafficStats } | { ok: false; error: string }>;
}

export type RolloutEventType =
  'rollout-started' | 'rollout-step' | 'rollout-promoted' | 'rollout-rolled-back' | 'rollout-aborted';

/**
 * Told on every transition, once: only by the replica whose write of that transition to the
 * rollout record succeeded (compare-and-swap), so a restarted or new leader does not tell it
 * again. `controller run` logs it and sends the rollout's end (promoted, rolled back, aborted)
 * through the notifier (rollout-notices.ts).
 */
export interface RolloutEvent {
  type: RolloutEventType;
  at: number;
  applySet: string;
  /** "Service/shop/web" */
  key: string;
  service: string;
  /** The route ("shop/web"). */
  route: string;
  strategy: RolloutState['strategy'];
  revision: string;
  /** The step (0-based) and how many there are. */
  step: number;
  steps: number;
  weight: number;
  reason: string;
}

export interface RolloutMetricsSink {
  state(service: string, phase: string, step: number, weight: number): void;
  verdict(service: string, verdict: string): void;
  finished(result: 'promoted' | 'rolled-back'): void;
}

/** What the reconciler records for the stable service while a rollout has it. */
export interface DivertResult {
  phase: 'Progressing' | 'Failed';
  reason: string;
}

export interface RolloutView extends RolloutState {
  request: string;
  /** The last verdict on the current step (the leader's own, from memory). */
  analysis?: StepAnalysis;
}

export interface RolloutControllerOptions {
  swarm: SwarmAccess & SwarmRecords;
  routes: RolloutRoutes;
  stats: StatsReader;
  clock: Clock;
  log: Logger;
  applySet: string;
  identity: string;
  isLeader: () => boolean;
  /** How often active rollouts are looked at (default 1 s). */
  tickMs?: number;
  /** Time between all traffic leaving the canary and its removal (default 2 s). */
  drainMs?: number;
  onEvent?: (e: RolloutEvent) => void;
  metrics?: RolloutMetricsSink;
}

interface StepWindow {
  key: string;
  baseline: Map<string, TrafficStats>;
  startedAt: number;
  lastJudgedAt: number;
}

const ms = (d: string, fallback: number) => {
  const ns = parseDuration(d);
  return ns === undefined ? fallback : Math.round(ns / 1e6);
};

export function thresholdsOf(m: RolloutModel): AnalysisThresholds {
  return {
    minRequests: m.analysis.minRequests,
    maxErrorRate: m.analysis.maxErrorRate,
    maxErrorRateRatio: m.analysis.maxErrorRateRatio,
    latency: m.analysis.latency.map((l) => ({ ...l })),
    latencyToleranceMs: ms(m.analysis.latencyTolerance, 5),
    failConfidence: m.analysis.failConfidence,
    passConfidence: m.analysis.passConfidence,
    maxStableDrift: defaultMaxStableDrift,
  };
}

export class RolloutController {
  readonly records: RolloutRecords;
  private readonly windows = new Map<string, StepWindow>();
  private readonly analyses = new Map<string, { key: string; analysis: StepAnalysis }>();
  private readonly servedSince = new Map<string, number>();
  /** The step (window key) whose canary servers the last read found warm, per service. */
  private readonly warmAt = new Map<string, string>();
  /** Services whose tasks the last read found ready for traffic (by service and target). */
  private readonly readyOnce = new Set<string>();
  /** Since when the stable service, updated, waits for the proxies' check of its tasks. */
  private readonly unreadySince = new Map<string, number>();
  /** The first read of the counters for a rollout's baseline (by target hash), per service. */
  private readonly baselineFrom = new Map<string, { target: string; at: number; stats: Map<string, TrafficStats> }>();
  private known: StoredRollout[] = [];
  private readonly abort = new AbortController();
  private stopped = false;
  private busy = false;

  constructor(private readonly o: RolloutControllerOptions) {
    this.records = new RolloutRecords(o.swarm, o.clock);
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }

  /** The rollouts of this apply set as last read, with the leader's last verdicts: for /status. */
  status(): RolloutView[] {
    return this.known.map((r) => {
      const a = this.analyses.get(r.state.service);
      return {
        ...r.state,
        request: r.request,
        ...(a && a.key === windowKey(r.state) ? { analysis: a.analysis } : {}),
      };
    });
  }

  /**
   * The reconciler would update `desired` in place, restarting its tasks, and its route has a
   * rollout strategy. Returns what to record for the service while the rollout has it, or
   * undefined when the reconciler should apply the update itself (promotion, or a service that
   * has nothing running to compare with).
   */
  async divert(i: {
    key: string;
    desired: DesiredService;
    route: DesiredRoute & { model: { rollout: RolloutModel } };
    live: LiveState;
    revision: string;
  }): Promise<DivertResult | undefined> {
    const service = i.desired.swarmName;
    const target = specHash('Service', service, i.desired.model);
    const cur = await this.records.read(service);
    if (cur && cur.state.targetHash === target) {
      const s = cur.state;
      switch (s.phase) {
        case 'succeeded':
          return undefined;
        case 'promoting':
          return this.o.routes.serving(s.route, s.canary, 100)
            ? undefined
            : { phase: 'Progressing', reason: `rollout promoting: moving all traffic to ${s.canary}` };
        case 'rolled-back':
          return {
            phase: 'Failed',
            reason: `rollout of revision ${short(s.revision)} rolled back: ${s.reason}; the stable version keeps serving. Commit a fixed version to roll out again`,
          };
        default:
          return { phase: 'Progressing', reason: `rollout ${s.phase}: ${s.reason}` };
      }
    }
    const stable = i.live.services.find((x) => x.Spec.Name === service);
    if (!stable || (stable.ServiceStatus?.RunningTasks ?? 0) === 0) return undefined; // nothing to compare with
    const m = i.route.model.rollout;
    const replicas = m.canaryReplicas ?? i.desired.model.replicas ?? 1;
    const now = this.o.clock.now();
    const state: RolloutState = {
      service,
      canary: canaryName(service),
      route: `${i.route.ref.namespace ?? 'default'}/${i.route.ref.name}`,
      applySet: this.o.applySet,
      key: i.key,
      strategy: m.strategy,
      phase: 'progressing',
      step: 0,
      steps: m.steps.map((x) => ({ weight: x.weight, holdMs: ms(x.hold, 60_000) })),
      canaryWeight: 0,
      targetHash: target,
      revision: i.revision,
      startedAt: now,
      stepStartedAt: now,
      updatedAt: now,
      reason: 'starting the canary',
      writer: this.o.identity,
      thresholds: thresholdsOf(m),
      intervalMs: Math.max(1000, ms(m.interval, 10_000)),
      maxExtensionMs: ms(m.maxExtension, 300_000),
      startTimeoutMs: ms(m.startTimeout, 300_000),
      canaryReplicas: replicas,
      ...(m.match?.length ? { match: true } : {}),
    };
    // The record first: a leader that dies between the two writes finds a rollout whose canary it creates again.
    const written = await this.records.update(
      service,
      (c) => (c && c.state.targetHash === target ? undefined : state),
      true,
    );
    await this.ensureCanary(i.desired, i.live, state, replicas);
    this.o.routes.refresh();
    if (written) {
      this.emit('rollout-started', state, `rolling out revision ${short(i.revision)} as ${state.canary}`);
      this.o.log.info(
        { event: 'rollout.started', service, canary: state.canary, steps: state.steps },
        `rollout of ${service} started: canary ${state.canary}, steps ${state.steps.map((x) => `${x.weight}%`).join(', ')}`,
      );
    }
    return { phase: 'Progressing', reason: `rollout started: ${state.canary} is starting` };
  }

  private async ensureCanary(d: DesiredService, live: LiveState, s: RolloutState, replicas: number): Promise<void> {
    const spec = canarySpec(d, live, s, replicas, this.o.applySet);
    const existing = await this.o.swarm.getService(s.canary);
    if (!existing) {
      await this.o.swarm.createService(spec);
      return;
    }
    if (existing.Spec.Labels?.[labelSpecHash] === s.targetHash && existing.Spec.Labels?.[labelCanaryOf] === s.service)
      return;
    await this.o.swarm.updateService(existing.ID, existing.Version.Index, spec);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.o.clock.sleep(this.o.tickMs ?? 1000, this.abort.signal);
      if (this.stopped) break;
      if (this.busy) continue;
      this.busy = true;
      try {
        this.known = await this.records.list(this.o.applySet);
        if (this.o.isLeader()) {
          for (const r of this.known) {
            if (!isActive(r.state)) {
              this.o.metrics?.state(r.state.service, r.state.phase, r.state.step, r.state.canaryWeight);
              continue;
            }
            try {
              await this.advance(r);
            } catch (err) {
              this.o.log.warn(
                { event: 'rollout.error', service: r.state.service, err: (err as Error).message },
                `rollout of ${r.state.service}: ${(err as Error).message}; trying again`,
              );
            }
          }
        }
      } catch (err) {
        this.o.log.warn({ event: 'rollout.error', err: (err as Error).message }, 'cannot read the rollout records');
      } finally {
        this.busy = false;
      }
    }
  }

  /** One look at an active rollout. */
  private async advance(r: StoredRollout): Promise<void> {
    const s = r.state;
    this.o.metrics?.state(s.service, s.phase, s.step, s.canaryWeight);
    const now = this.o.clock.now();
    switch (s.phase) {
      case 'progressing':
        return this.progress(r, now);
      case 'promoting':
        return this.promoting(r);
      case 'finalizing':
      case 'rolling-back':
        return this.finish(r, now);
      default:
        return;
    }
  }

  private async progress(r: StoredRollout, now: number): Promise<void> {
    const s = r.state;
    if (r.request === 'abort')
      return this.rollBack(s, `aborted with controller rollout abort at ${stepLabel(s)}`, true);
    const canary = await this.o.swarm.getService(s.canary);
    if (!canary) return; // divert() creates it when the reconciler next looks at the service
    if (s.canaryWeight === 0 && s.step === 0 && !s.matching) {
      const baselineTaken = await this.takeBaseline(s, now);
      const running = await this.runningTasks(canary);
      const late = now - s.startedAt > s.startTimeoutMs;
      if (running < s.canaryReplicas) {
        if (late)
          return this.rollBack(
            s,
            `the canary's tasks did not run within ${Math.round(s.startTimeoutMs / 1000)}s (${running} of ${s.canaryReplicas})`,
          );
        return;
      }
      if (!baselineTaken) return;
      // No request reaches the canary before every proxy has checked each of its tasks.
      const { ready, problems } = await this.readiness(s, s.canary, running);
      if (!ready) {
        if (late && problems.length)
          return this.rollBack(
            s,
            `the proxies' health check of the canary's tasks did not pass within ${Math.round(s.startTimeoutMs / 1000)}s: ${problems.slice(0, 3).join(', ')}`,
          );
        const reason = "waiting for every proxy's health check of the canary's tasks before the first step";
        if (s.reason !== reason) await this.write(s, { reason });
        return;
      }
    }
    const step = s.steps[s.step];
    // With match, matching requests go to the canary from the first step's start (a step of
    // weight 0: only they do).
    if (s.canaryWeight !== step.weight || (s.match && !s.matching)) {
      const change = { canaryWeight: step.weight, ...(s.match ? { matching: true } : {}) };
      if (await this.write(s, { ...change, stepStartedAt: now, reason: `${stepLabel({ ...s, ...change })} started` }))
        this.emit(
          'rollout-step',
          { ...s, ...change },
          `${stepLabel({ ...s, ...change })}: ${step.weight ? `${step.weight}% of the traffic` : 'matching requests only'}${s.match && step.weight ? ' and matching requests' : ''}`,
        );
      return;
    }
    if (!this.o.routes.serving(s.route, s.canary, step.weight, !!s.matching)) return;
    const wkey = windowKey(s);
    const w = this.windows.get(s.service);
    if (!w || w.key !== wkey) return this.warmUp(s, wkey, now);
    if (now - w.lastJudgedAt < s.intervalMs && r.request === '') return;
    w.lastJudgedAt = now;
    const analysis = await this.judge(s, w);
    if (analysis) {
      this.analyses.set(s.service, { key: wkey, analysis });
      this.o.metrics?.verdict(s.service, analysis.verdict);
    }
    const d = decideStep(s, s.maxExtensionMs, analysis, now, r.request);
    this.o.log.info(
      {
        event: 'rollout.judged',
        service: s.service,
        step: s.step,
        weight: s.canaryWeight,
        verdict: analysis?.verdict,
        canary: analysis?.canary,
        stable: analysis?.stable,
        decision: d.action,
      },
      `rollout of ${s.service}: ${d.reason}`,
    );
    switch (d.action) {
      case 'wait':
        if (d.reason !== s.reason) await this.write(s, { reason: d.reason, ...recorded(s, analysis, now) });
        return;
      case 'next':
        // The next step's start (its weight written) is the event.
        await this.write(s, { step: s.step + 1, reason: d.reason, ...recorded(s, analysis, now) });
        return;
      case 'promote':
        await this.write(
          s,
          { phase: 'promoting', canaryWeight: 100, reason: d.reason, ...recorded(s, analysis, now) },
          true,
        );
        this.o.log.info({ event: 'rollout.promoting', service: s.service }, `rollout of ${s.service}: ${d.reason}`);
        return;
      case 'rollback':
        return this.rollBack(s, d.reason, false, recorded(s, analysis, now));
    }
  }

  /**
   * The stable version's baseline (canary strategy, before the first step): its traffic from
   * the first look at the rollout for at least an `interval`, and longer (up to six intervals,
   * within startTimeout) until it has the responses every latency quantile needs to be bounded
   * both ways. Written to the record, so that a new leader judges with the same baseline.
   * True once taken (or not needed); a new leader that finds none starts it again.
   */
  private async takeBaseline(s: RolloutState, now: number): Promise<boolean> {
    if (s.baseline !== undefined || s.strategy !== 'canary') return true;
    const from = this.baselineFrom.get(s.service);
    if (!from || from.target !== s.targetHash) {
      const stats = await this.readStats();
      if (stats.size) this.baselineFrom.set(s.service, { target: s.targetHash, at: now, stats });
      else if (now - s.startedAt > s.startTimeoutMs) await this.write(s, { baseline: null });
      return false;
    }
    const elapsed = now - from.at;
    if (elapsed < s.intervalMs) return false;
    const stats = await this.readStats();
    if (!stats.size) return false;
    const bounds = [...stats.values()][0].latencyBoundsMs;
    const windows: TrafficWindow[] = [];
    for (const [address, after] of stats) {
      if (after.latencyBoundsMs.length !== bounds.length) continue;
      windows.push(
        windowBetween(from.stats.get(address), after, (rt, sv) => rt.route === s.route && sv.service === s.service),
      );
    }
    const w = sumWindows(windows, bounds);
    const responses = w.latency.counts.reduce((a, b) => a + b, 0);
    const need = baselineResponses(s.thresholds);
    const longest = Math.max(s.intervalMs, Math.min(6 * s.intervalMs, s.startTimeoutMs));
    if (responses < need && elapsed < longest) return false;
    this.baselineFrom.delete(s.service);
    const baseline =
      responses > 0
        ? {
            takenAt: now,
            windowMs: elapsed,
            window: storeWindow(w),
            p50Ms: quantileMs(w, 0.5),
            p99Ms: quantileMs(w, 0.99),
          }
        : null;
    const reason = baseline
      ? `baseline of ${s.service} before the first step: p50 ${fmtMs(baseline.p50Ms)}, p99 ${fmtMs(baseline.p99Ms)} over ${responses} responses in ${Math.round(elapsed / 1000)}s`
      : `no baseline: ${s.service} served no requests in the ${Math.round(elapsed / 1000)}s before the first step (latency is compared with the stable version only)`;
    this.o.log.info(
      { event: 'rollout.baseline', service: s.service, responses, baseline },
      `rollout of ${s.service}: ${reason}`,
    );
    await this.write(s, { baseline, reason });
    return false;
  }

  /**
   * The step's judging window starts only once every proxy's health check passed for every
   * canary task it serves, in two reads in a row (a read right after a slot changed hands can
   * still show the previous task's last check): a brand-new task is often unreachable for its
   * first moments, and its cold start says nothing about the version. Not warm within
   * startTimeout of the step's start: rolled back.
   */
  private async warmUp(s: RolloutState, wkey: string, now: number): Promise<void> {
    const stats = await this.readStats();
    const cold = stats.size
      ? [...stats.values()].flatMap((st) =>
          coldServers(st, (rt, sv) => rt.route === s.route && sv.service === s.canary),
        )
      : ['no proxy answered'];
    if (cold.length) {
      this.warmAt.delete(s.service);
      if (now - s.stepStartedAt > s.startTimeoutMs)
        return this.rollBack(
          s,
          `${stepLabel(s)}: the proxies' health check of the canary's tasks did not pass within ${Math.round(s.startTimeoutMs / 1000)}s: ${cold.slice(0, 3).join(', ')}`,
        );
      const reason = `${stepLabel(s)}: warming up: waiting for the proxies' health check of the canary's tasks before judging`;
      if (s.reason !== reason) await this.write(s, { reason });
      return;
    }
    if (this.warmAt.get(s.service) !== wkey) {
      this.warmAt.set(s.service, wkey);
      return;
    }
    this.warmAt.delete(s.service);
    this.windows.set(s.service, { key: wkey, baseline: stats, startedAt: now, lastJudgedAt: now });
  }

  /** All traffic on the canary, then the reconciler updates the stable service (divert says yes); then back. */
  private async promoting(r: StoredRollout): Promise<void> {
    const s = r.state;
    const stable = await this.o.swarm.getService(s.service);
    const updated = stable?.Spec.Labels?.[labelSpecHash] === s.targetHash;
    if (
      stable?.UpdateStatus?.State?.startsWith('rollback') &&
      stable.PreviousSpec?.Labels?.[labelSpecHash] === s.targetHash
    )
      return this.rollBack(s, `Swarm rolled the stable service's update back (${stable.UpdateStatus.State})`);
    if (r.request === 'abort' && !updated)
      return this.rollBack(s, 'aborted with controller rollout abort before the stable service was updated', true);
    if (!this.o.routes.serving(s.route, s.canary, 100)) return;
    if (!stable || !updated) return; // the reconciler updates it (its re-check runs every 2 s)
    const tasks = await this.o.swarm.listTasks({ service: stable.ID, desiredState: 'running' });
    const v = judgeConvergence(
      { id: s.key, swarmName: s.service, specHash: s.targetHash, writtenAt: 0 },
      stable,
      tasks,
      Number.MAX_SAFE_INTEGER,
    );
    if (v.state === 'failed') return this.rollBack(s, `the stable service's update failed: ${v.detail}`);
    if (v.state !== 'converged') return;
    // The traffic moves back only to tasks every proxy has checked; past startTimeout it moves
    // anyway (the stable service runs the new version either way) and the reason says so.
    const running = tasks.filter((t) => t.Status?.State === 'running').length;
    const { ready, problems: unready } = await this.readiness(s, s.service, running);
    const now = this.o.clock.now();
    const since = this.unreadySince.get(s.service) ?? now;
    if (!ready && now - since <= s.startTimeoutMs) {
      this.unreadySince.set(s.service, since);
      return;
    }
    this.unreadySince.delete(s.service);
    await this.write(s, {
      phase: 'finalizing',
      canaryWeight: 0,
      stepStartedAt: now,
      reason: unready.length
        ? `the stable service runs the new version; moving the traffic back to it although the proxies' health check of its tasks did not pass within ${Math.round(s.startTimeoutMs / 1000)}s: ${unready.slice(0, 3).join(', ')}`
        : 'the stable service runs the new version; moving the traffic back to it',
    });
  }

  /** All traffic on the stable service; after the drain time the canary is removed, and the rollout ends. */
  private async finish(r: StoredRollout, now: number): Promise<void> {
    const s = r.state;
    const served = this.o.routes.serving(s.route, s.canary, 0);
    const k = windowKey(s);
    if (served && !this.servedSince.has(k)) this.servedSince.set(k, now);
    const since = this.servedSince.get(k);
    // Not served within a minute (no proxy answers): remove the canary anyway; its tasks then leave every table.
    const timedOut = now - s.stepStartedAt > 60_000;
    if (!timedOut && (since === undefined || now - since < (this.o.drainMs ?? 2000))) return;
    const canary = await this.o.swarm.getService(s.canary);
    if (canary) {
      await this.o.swarm.removeService(canary.ID);
      return;
    }
    this.servedSince.delete(k);
    const promoted = s.phase === 'finalizing';
    const written = await this.write(s, {
      phase: promoted ? 'succeeded' : 'rolled-back',
      reason: promoted ? `promoted: ${s.reason}` : s.reason,
    });
    this.windows.delete(s.service);
    // Another replica wrote the end first: it counts it and tells it.
    if (!written) return;
    this.o.metrics?.finished(promoted ? 'promoted' : 'rolled-back');
    this.emit(
      promoted ? 'rollout-promoted' : s.aborted ? 'rollout-aborted' : 'rollout-rolled-back',
      s,
      promoted
        ? `revision ${short(s.revision)} of ${s.service} promoted`
        : `revision ${short(s.revision)} of ${s.service} ${s.aborted ? 'aborted' : 'rolled back'}: ${s.reason}`,
    );
    this.o.log.info(
      { event: promoted ? 'rollout.promoted' : 'rollout.rolled-back', service: s.service, reason: s.reason },
      `rollout of ${s.service} ${promoted ? 'promoted' : 'rolled back'}: ${s.reason}`,
    );
  }

  private async rollBack(
    s: RolloutState,
    reason: string,
    aborted = false,
    extra: Partial<RolloutState> = {},
  ): Promise<void> {
    await this.write(
      s,
      {
        ...extra,
        phase: 'rolling-back',
        canaryWeight: 0,
        stepStartedAt: this.o.clock.now(),
        reason,
        ...(aborted ? { aborted: true } : {}),
      },
      true,
    );
    this.o.log.warn(
      { event: 'rollout.rolling-back', service: s.service, reason },
      `rollout of ${s.service}: rolling back: ${reason}`,
    );
  }

  /** Writes a change unless another leader moved the rollout on meanwhile; true when written. */
  private async write(s: RolloutState, change: Partial<RolloutState>, clearRequest = false): Promise<boolean> {
    const written = await this.records.update(
      s.service,
      (cur) => {
        // Another leader moved it on meanwhile: leave its state alone.
        if (!cur || cur.state.targetHash !== s.targetHash || cur.state.phase !== s.phase || cur.state.step !== s.step)
          return undefined;
        return { ...cur.state, ...change, writer: this.o.identity };
      },
      clearRequest,
    );
    this.o.routes.refresh();
    return written !== undefined;
  }

  private async runningTasks(svc: SwarmService): Promise<number> {
    const tasks = await this.o.swarm.listTasks({ service: svc.ID, desiredState: 'running' });
    return tasks.filter((t) => t.Status?.State === 'running').length;
  }

  /**
   * Why traffic cannot move onto `service`'s tasks of the rollout's route yet (unreadyServers),
   * asked twice in a row: a read right after a slot changed hands can still show the previous
   * task's last check. Ready once two reads in a row found every proxy ready; `problems` says
   * why not (empty after the first of the two).
   */
  private async readiness(
    s: RolloutState,
    service: string,
    running: number,
  ): Promise<{ ready: boolean; problems: string[] }> {
    const stats = await this.readStats();
    const problems = unreadyServers(
      stats,
      this.o.routes.replicaAddresses().length,
      (rt, sv) => rt.route === s.route && sv.service === service,
      running,
    );
    const key = `${service}\u0000${s.targetHash}`;
    if (problems.length) {
      this.readyOnce.delete(key);
      return { ready: false, problems };
    }
    if (this.readyOnce.has(key)) {
      this.readyOnce.delete(key);
      return { ready: true, problems };
    }
    this.readyOnce.add(key);
    return { ready: false, problems };
  }

  private async readStats(): Promise<Map<string, TrafficStats>> {
    const out = new Map<string, TrafficStats>();
    await Promise.all(
      this.o.routes.replicaAddresses().map(async (a) => {
        const r = await this.o.stats.getStats(a);
        if (r.ok) out.set(a, r.value);
      }),
    );
    return out;
  }

  /** The canary's and the stable version's traffic since the window started, summed over the proxies. */
  private async judge(s: RolloutState, w: StepWindow): Promise<StepAnalysis | undefined> {
    const now = await this.readStats();
    if (!now.size) return undefined;
    const bounds = [...now.values()][0].latencyBoundsMs;
    const canary: TrafficWindow[] = [];
    const stable: TrafficWindow[] = [];
    for (const [address, after] of now) {
      if (after.latencyBoundsMs.length !== bounds.length) continue;
      const before = w.baseline.get(address);
      canary.push(windowBetween(before, after, (rt, sv) => rt.route === s.route && sv.service === s.canary));
      stable.push(windowBetween(before, after, (rt, sv) => rt.route === s.route && sv.service === s.service));
    }
    const baseline = s.baseline ? loadWindow(s.baseline.window, bounds) : undefined;
    return judgeStep(sumWindows(canary, bounds), sumWindows(stable, bounds), s.thresholds, baseline);
  }

  private emit(type: RolloutEventType, s: RolloutState, reason: string): void {
    const e: RolloutEvent = {
      type,
      at: this.o.clock.now(),
      applySet: s.applySet,
      key: s.key,
      service: s.service,
      route: s.route,
      strategy: s.strategy,
      revision: s.revision,
      step: s.step,
      steps: s.steps.length,
      weight: s.canaryWeight,
      reason,
    };
    try {
      this.o.onEvent?.(e);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'a rollout event listener failed');
    }
  }
}

/** Identifies a step of a rollout: a window or a drain time belongs to one. */
function windowKey(s: Pick<RolloutState, 'targetHash' | 'step' | 'phase' | 'canaryWeight'>): string {
  return `${s.targetHash}:${s.phase}:${s.step}:${s.canaryWeight}`;
}

/** Stable responses a baseline needs: enough to bound every judged quantile both ways at passConfidence. */
export function baselineResponses(t: AnalysisThresholds): number {
  return Math.max(
    t.minRequests,
    ...t.latency.map((l) => Math.ceil(Math.log(1 - t.passConfidence) / Math.log(Math.max(l.quantile, 1 - l.quantile)))),
  );
}

/** The last judgement as the record keeps it (for controller get/describe). */
function recorded(s: RolloutState, a: StepAnalysis | undefined, now: number): { judgement?: RecordedJudgement } {
  if (!a) return {};
  return {
    judgement: {
      at: now,
      step: Math.min(s.step + 1, s.steps.length),
      verdict: a.verdict,
      canary: a.canary,
      stable: a.stable,
      checks: a.checks.map((c) => ({
        name: c.name,
        verdict: c.verdict,
        observed: c.observed,
        limit: c.limit,
        ...(c.baselineMs !== undefined ? { baselineMs: c.baselineMs, stableMs: c.stableMs ?? null } : {}),
        ...(c.sharedDelayMs !== undefined ? { sharedDelayMs: c.sharedDelayMs } : {}),
        ...(c.stableDrift !== undefined ? { stableDrift: c.stableDrift } : {}),
        ...(c.heldForDrift ? { heldForDrift: true } : {}),
      })),
    },
  };
}

function fmtMs(x: number | null): string {
  return x === null ? '-' : `${Math.round(x * 10) / 10} ms`;
}

function short(revision: string): string {
  return revision.length > 12 ? revision.slice(0, 12) : revision;
}

/**
 * The canary's spec: the desired service's, named `<service>-canary`, with its own replicas, no
 * published ports (they belong to the stable service), and not owned by the apply set (the
 * planner must neither prune nor adopt it): it carries `canary-of` and the target spec hash.
 */
export function canarySpec(
  d: DesiredService,
  live: LiveState,
  s: Pick<RolloutState, 'canary' | 'service' | 'targetHash' | 'revision'>,
  replicas: number,
  applySet: string,
): SwarmServiceSpec {
  const ids = (list: { ID: string; Spec: { Name?: string } }[]) => new Map(list.map((x) => [x.Spec.Name ?? '', x.ID]));
  const networkIds = new Map(live.networks.map((n) => [n.Name ?? '', n.Id ?? '']));
  const spec = buildServiceSpec(d, {
    applySet,
    networkIds,
    secretIds: ids(live.secrets),
    configIds: ids(live.configs),
    revision: s.revision,
  });
  const labels = { ...(spec.Labels ?? {}) };
  delete labels[labelManagedBy];
  delete labels[labelApplySet];
  const ports = (spec.EndpointSpec?.Ports ?? []).filter((p) => !p.PublishedPort);
  return {
    ...spec,
    Name: s.canary,
    Labels: {
      ...labels,
      [labelCanaryOf]: s.service,
      [labelSpecHash]: s.targetHash,
      'swarm.controller/rollout-set': applySet,
      ...(labels[labelStackNamespace] ? { [labelStackNamespace]: labels[labelStackNamespace] } : {}),
    },
    Mode: spec.Mode?.Global ? spec.Mode : { Replicated: { Replicas: replicas } },
    ...(spec.EndpointSpec ? { EndpointSpec: { ...spec.EndpointSpec, Ports: ports } } : {}),
  };
}
