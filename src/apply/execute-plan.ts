/**
 * Applies a plan: one task per change in the task graph, in dependency order, with bounded
 * concurrency. Retries of transient errors (a version conflict re-reads and re-diffs, in
 * actions.ts) happen only when the caller asks with `retry`: the CLI's apply does;
 * `controller run` does not, as its work queue decides retries in one place. Refuses to start
 * when the plan has blockers. Reports every outcome, a failure with its typed error.
 */
import type { SwarmAccess } from '../api/swarm-access.js';
import type { Change, Plan } from '../plan/plan.js';
import { defaultBackoff, type BackoffPolicy } from '../queue/backoff.js';
import { realClock, type Clock, type Random } from '../queue/clock.js';
import { runTaskGraph, type GraphTask } from '../queue/task-graph.js';
import { TerminalError } from '../errors.js';
import * as actions from './actions.js';
import { deleteData, putData } from './data-versions.js';
import { mountedName } from '../api/data-model.js';
import type { ActionResult } from './actions.js';

export interface ApplyReporter {
  started?(change: Change, attempt: number): void;
  retrying?(change: Change, attempt: number, error: Error, delayMs: number): void;
  finished?(outcome: ChangeOutcome): void;
}

export interface ApplyOptions {
  concurrency?: number;
  /** Bound on waiting for tasks to stop and networks to be released, per action. */
  timeoutMs?: number;
  pollMs?: number;
  clock?: Clock;
  /**
   * Retries of transient errors per change, with this backoff (the CLI's apply passes
   * `applyRetries`). Absent: one attempt per change, and the caller decides what to do with a
   * failure (`controller run` requeues the key through its work queue).
   */
  retry?: BackoffPolicy;
  /** The retry backoff's jitter (default Math.random). */
  random?: Random;
  reporter?: ApplyReporter;
  /** The source revision being applied (`controller run`). */
  revision?: string;
}

export interface ChangeOutcome {
  change: Change;
  status: 'succeeded' | 'failed' | 'skipped';
  /** What was done ("created", "already up to date") or why it failed or was skipped. */
  detail: string;
  attempts: number;
  durationMs: number;
  result?: ActionResult;
  /** The error of a failed change, as thrown (a TerminalError or TransientError subclass, or unknown). */
  error?: Error;
}

/** The CLI apply's retries of transient errors: 6 attempts, 200 ms doubling, with jitter (about 6 s in all). */
export const applyRetries: BackoffPolicy = defaultBackoff;

/** One attempt per change: what `controller run` passes (nothing), its work queue retrying instead. */
const oneAttempt: BackoffPolicy = { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 };

export class PlanBlockedError extends Error {
  constructor(readonly plan: Plan) {
    super(`the plan has ${plan.blockers.length} blocker(s); nothing was applied`);
  }
}

export async function executePlan(
  plan: Plan,
  swarm: SwarmAccess,
  options: ApplyOptions = {},
): Promise<ChangeOutcome[]> {
  if (plan.blockers.length > 0) throw new PlanBlockedError(plan);
  const clock = options.clock ?? realClock;
  const ctx: actions.ActionContext = {
    swarm,
    applySet: plan.applySet,
    clock,
    timeoutMs: options.timeoutMs ?? 120_000,
    pollMs: options.pollMs ?? 500,
    ...actions.networkIdCache(swarm),
    ...actions.dataIdCache(swarm),
    ...(options.revision ? { revision: options.revision } : {}),
  };
  const byId = new Map(plan.changes.map((c) => [c.id, c]));

  const run = (c: Change): Promise<ActionResult> => {
    if (c.action === 'delete') {
      switch (c.kind) {
        case 'Service':
          return actions.deleteService(ctx, c.swarmName);
        case 'Network':
          return actions.deleteNetwork(ctx, c.swarmName);
        case 'Route':
          return actions.deleteRoute(ctx, c.swarmName);
        default:
          return deleteData(ctx, c.kind, c.swarmName);
      }
    }
    switch (c.kind) {
      case 'Service': {
        const s = written(c, c.desired);
        if (c.action === 'create') return actions.createService(ctx, s);
        if (c.action === 'replace') return actions.replaceService(ctx, s);
        return actions.updateService(ctx, s);
      }
      case 'Network': {
        const n = written(c, c.desired);
        if (c.action === 'create') return actions.createNetwork(ctx, n);
        if (c.action === 'replace') return actions.replaceNetwork(ctx, n);
        // An update of a network is an adopt: its ownership record is written, the network stays.
        if (c.action === 'update') return actions.adoptNetwork(ctx, n);
        throw new Error(`a network cannot be ${c.action}d`);
      }
      case 'Route':
        return actions.putRoute(ctx, written(c, c.desired));
      default: {
        // Configs and secrets taken over from stack deploy keep their names (the plan decided which);
        // the services planned with them already mount those names.
        const d = written(c, c.desired);
        return putData(ctx, d, { name: plan.dataNames?.[mountedName(d)], adopt: c.adopt });
      }
    }
  };

  const tasks: GraphTask<ActionResult>[] = plan.changes.map((c) => ({
    id: c.id,
    dependsOn: c.dependsOn,
    run: () => run(c),
  }));
  const outcomes = await runTaskGraph(tasks, {
    concurrency: options.concurrency,
    backoff: options.retry ?? oneAttempt,
    clock,
    ...(options.random ? { random: options.random } : {}),
    onStart: (id, attempt) => options.reporter?.started?.(byId.get(id)!, attempt),
    onRetry: (id, attempt, error, delay) => options.reporter?.retrying?.(byId.get(id)!, attempt, error, delay),
    onFinish: (o) => {
      const change = byId.get(o.id)!;
      options.reporter?.finished?.(toOutcome(change, o as Parameters<typeof toOutcome>[1]));
    },
  });
  return outcomes.map((o) => toOutcome(byId.get(o.id)!, o));
}

/** What a create, update, scale or replace writes: the plan always carries it. */
function written<T>(c: Change, desired: T | null): T {
  if (!desired) throw new Error(`internal: the planned ${c.action} of ${c.id} carries no desired object`);
  return desired;
}

function toOutcome(change: Change, o: Awaited<ReturnType<typeof runTaskGraph<ActionResult>>>[number]): ChangeOutcome {
  switch (o.status) {
    case 'succeeded':
      return {
        change,
        status: 'succeeded',
        detail: o.result.summary,
        attempts: o.attempts,
        durationMs: o.durationMs,
        result: o.result,
      };
    case 'failed':
      return {
        change,
        status: 'failed',
        detail: o.error instanceof TerminalError ? `${o.error.code}: ${o.error.message}` : o.error.message,
        attempts: o.attempts,
        durationMs: o.durationMs,
        error: o.error,
      };
    case 'skipped':
      return { change, status: 'skipped', detail: `skipped: ${o.reason}`, attempts: 0, durationMs: 0 };
  }
}
