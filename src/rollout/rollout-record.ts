/**
 * The state of one rollout, kept in the Swarm so that any leader (a restarted one, a standby
 * that took the lease) continues it at the same step: a Swarm config named
 * `sc-rollout.<service>` (a digest of the name when it is too long), labelled
 * `swarm.controller/kind=Rollout`, whose labels hold the state as JSON
 * (`swarm.controller/rollout-state`) and a request from `controller rollout promote|abort`
 * (`swarm.controller/rollout-request`, apart so that the leader's writes never drop it).
 * Writes are compare-and-swap on the config's version, tried again when another writer got
 * there first. The route reconciler reads these records to give the canary its weight, so the
 * weight a record names is the weight every leader serves.
 * Encoding and decoding are pure; `RolloutRecords` does the I/O through SwarmRecords.
 */
import { createHash } from 'node:crypto';
import type { SwarmReader, SwarmRecords } from '../api/swarm-access.js';
import type { SwarmConfig } from '../api/swarm-types.js';
import { AlreadyExistsError, NotFoundError, TerminalError, TransientError } from '../errors.js';
import type { Clock } from '../queue/clock.js';
import type { AnalysisThresholds, Verdict, WindowSummary } from './analysis.js';
import type { StoredWindow } from './traffic-window.js';

export const labelKindKey = 'swarm.controller/kind';
export const rolloutKind = 'Rollout';
export const labelRolloutService = 'swarm.controller/rollout-service';
export const labelRolloutState = 'swarm.controller/rollout-state';
export const labelRolloutRequest = 'swarm.controller/rollout-request';
/** On the canary service: the stable service it is the canary of. */
export const labelCanaryOf = 'swarm.controller/canary-of';

export type RolloutPhase = 'progressing' | 'promoting' | 'finalizing' | 'succeeded' | 'rolling-back' | 'rolled-back';

export const activePhases: readonly RolloutPhase[] = ['progressing', 'promoting', 'finalizing', 'rolling-back'];

export type RolloutRequest = '' | 'promote' | 'abort';

export interface RolloutState {
  /** The stable service's Swarm name ("shop_web"). */
  service: string;
  /** The canary service's Swarm name ("shop_web-canary"). */
  canary: string;
  /** The route's table name ("shop/web"), the one its traffic counters carry. */
  route: string;
  applySet: string;
  /** "Service/shop/web": the reconciler's key of the stable service. */
  key: string;
  strategy: 'canary' | 'blueGreen';
  phase: RolloutPhase;
  /** Index of the current step (steps.length once every step passed). */
  step: number;
  /** The weights and hold times (ms) of the steps, as the manifest gave them when the rollout started. */
  steps: { weight: number; holdMs: number }[];
  /** The canary's share of the route's traffic (0-100) the proxies are to serve now. */
  canaryWeight: number;
  /** The spec hash of the version rolled out (the desired service's), and its revision. */
  targetHash: string;
  revision: string;
  /** ms since the epoch. */
  startedAt: number;
  stepStartedAt: number;
  updatedAt: number;
  /** Why the rollout is where it is: the last verdict, the rollback's cause. */
  reason: string;
  /** The replica that wrote last. */
  writer: string;
  /** The route's rollout settings when the rollout started: a new leader judges by the same. */
  thresholds: AnalysisThresholds;
  intervalMs: number;
  maxExtensionMs: number;
  startTimeoutMs: number;
  canaryReplicas: number;
  /** The route had header or cookie matching when the rollout started (its rules are the route's current ones). */
  match?: boolean;
  /** Matching requests go to the canary: set with the first step's start, while the rollout progresses. */
  matching?: boolean;
  /** Set when the rollback was asked for with `controller rollout abort` (its end is an abort, not a failed check). */
  aborted?: boolean;
  /**
   * The stable version's traffic before the first step (canary strategy): the latency judge
   * removes the delay it shares with the canary by comparing the stable version now with it.
   * Absent: not taken yet (or a record from before baselines); null: no stable traffic then.
   */
  baseline?: RolloutBaseline | null;
  /** The leader's last judgement of the current step, with the checks' figures (for get/describe). */
  judgement?: RecordedJudgement;
}

export interface RolloutBaseline {
  /** ms since the epoch, and how long the window was. */
  takenAt: number;
  windowMs: number;
  window: StoredWindow;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface RecordedJudgement {
  at: number;
  /** 1-based step judged. */
  step: number;
  verdict: Verdict;
  canary: WindowSummary;
  stable: WindowSummary;
  checks: {
    name: string;
    verdict: string;
    observed: number | null;
    limit: number | null;
    baselineMs?: number | null;
    stableMs?: number | null;
    sharedDelayMs?: number;
    stableDrift?: number;
    heldForDrift?: boolean;
  }[];
}

export function rolloutRecordName(service: string): string {
  const plain = `sc-rollout.${service}`;
  return plain.length <= 64 ? plain : `sc-rollout.${createHash('sha256').update(service).digest('hex').slice(0, 32)}`;
}

export function canaryName(service: string): string {
  return `${service}-canary`;
}

export function isActive(s: Pick<RolloutState, 'phase'>): boolean {
  return activePhases.includes(s.phase);
}

export interface StoredRollout {
  state: RolloutState;
  request: RolloutRequest;
  config: SwarmConfig;
}

/** Reads a rollout config; undefined when it is not one or cannot be read. */
export function parseRolloutConfig(c: SwarmConfig): StoredRollout | undefined {
  const labels = c.Spec.Labels ?? {};
  if (labels[labelKindKey] !== rolloutKind) return undefined;
  try {
    const state = JSON.parse(labels[labelRolloutState] ?? '') as RolloutState;
    if (typeof state.service !== 'string' || typeof state.phase !== 'string' || !Array.isArray(state.steps))
      return undefined;
    const r = labels[labelRolloutRequest];
    return { state, request: r === 'promote' || r === 'abort' ? r : '', config: c };
  } catch {
    return undefined;
  }
}

/** A route's rollout as the route table serves it: the canary, its weight, and whether matching requests go to it. */
export interface ServedRollout {
  canary: string;
  weight: number;
  /** Header or cookie matching is on: only while the rollout progresses through its steps. */
  match?: boolean;
}

/** The canary weight of every active rollout, by route table name: what the route table serves. */
export function servedRollouts(configs: SwarmConfig[]): Map<string, ServedRollout> {
  const out = new Map<string, ServedRollout>();
  for (const c of configs) {
    const r = parseRolloutConfig(c);
    if (r && isActive(r.state))
      out.set(r.state.route, {
        canary: r.state.canary,
        weight: r.state.canaryWeight,
        ...(r.state.phase === 'progressing' && r.state.matching ? { match: true } : {}),
      });
  }
  return out;
}

/** Every rollout record (of one apply set), by service name: for readers that write nothing. */
export async function listRollouts(
  swarm: Pick<SwarmReader, 'listConfigs'>,
  applySet?: string,
): Promise<StoredRollout[]> {
  const configs = await swarm.listConfigs([`${labelKindKey}=${rolloutKind}`]);
  return configs
    .map(parseRolloutConfig)
    .filter((r): r is StoredRollout => !!r && (applySet === undefined || r.state.applySet === applySet))
    .sort((a, b) => (a.state.service < b.state.service ? -1 : a.state.service > b.state.service ? 1 : 0));
}

export class RolloutRecords {
  constructor(
    private readonly swarm: SwarmRecords & Pick<SwarmReader, 'listConfigs'>,
    private readonly clock: Clock,
    private readonly attempts = 5,
  ) {}

  async list(applySet?: string): Promise<StoredRollout[]> {
    return listRollouts(this.swarm, applySet);
  }

  async read(service: string): Promise<StoredRollout | undefined> {
    const c = await this.swarm.findConfig(rolloutRecordName(service));
    return c ? parseRolloutConfig(c) : undefined;
  }

  /**
   * Writes a new state computed from the current record (undefined: none), with compare-and-swap;
   * `change` returns undefined to write nothing. `clearRequest` also clears a pending request.
   */
  async update(
    service: string,
    change: (current: StoredRollout | undefined) => RolloutState | undefined,
    clearRequest = false,
  ): Promise<RolloutState | undefined> {
    return this.write(service, (cur) => {
      const next = change(cur);
      if (!next) return undefined;
      return {
        ...(cur?.config.Spec.Labels ?? {}),
        [labelKindKey]: rolloutKind,
        [labelRolloutService]: service,
        [labelRolloutState]: JSON.stringify({ ...next, updatedAt: this.clock.now() }),
        [labelRolloutRequest]: clearRequest ? '' : (cur?.request ?? ''),
      };
    }).then((labels) => (labels ? (JSON.parse(labels[labelRolloutState]) as RolloutState) : undefined));
  }

  /** `controller rollout promote|abort`: sets the request the leader acts on at its next look. */
  async request(service: string, request: Exclude<RolloutRequest, ''>): Promise<StoredRollout> {
    let found: StoredRollout | undefined;
    await this.write(service, (cur) => {
      found = cur;
      if (!cur) return undefined;
      return { ...cur.config.Spec.Labels, [labelRolloutRequest]: request };
    });
    if (!found)
      throw new TerminalError('SC5009', `no rollout of service ${service}; controller rollout status lists them`);
    return found;
  }

  private async write(
    service: string,
    labelsFor: (cur: StoredRollout | undefined) => Record<string, string> | undefined,
  ): Promise<Record<string, string> | undefined> {
    const name = rolloutRecordName(service);
    let last: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        const c = await this.swarm.findConfig(name);
        const cur = c ? parseRolloutConfig(c) : undefined;
        const labels = labelsFor(cur);
        if (!labels) return undefined;
        if (!c) await this.swarm.createConfig(name, labels, `rollout of ${service}`);
        else await this.swarm.updateConfigLabels(c, labels);
        return labels;
      } catch (err) {
        if (!(err instanceof TransientError || err instanceof AlreadyExistsError || err instanceof NotFoundError))
          throw err;
        last = err;
      }
      if (attempt < this.attempts) await this.clock.sleep(50 * attempt);
    }
    throw new TerminalError(
      'SC5004',
      `could not write ${name}: it kept changing underneath (${this.attempts} attempts; last: ${(last as Error).message})`,
    );
  }
}
