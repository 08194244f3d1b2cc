/**
 * `--wait`: after the writes, polls the Swarm until every changed service runs its desired
 * number of tasks on the spec that was written, and its update completed; a job (which Swarm
 * runs again on every update) until this run of it has completed its tasks. A rollback, a
 * paused update, a spec changed by someone else or a timeout is a failure, reported with
 * the task error that explains it. Each poll costs two list calls, whatever the number of
 * services.
 */
import { labelSpecHash } from '../api/labels.js';
import type { SwarmReader } from '../api/swarm-access.js';
import type { SwarmService, SwarmTask } from '../api/swarm-types.js';
import { pruneMembers, stableJson } from '../plan/json-values.js';
import { isEmpty } from '../model/service.js';
import { realClock, type Clock } from '../queue/clock.js';

export interface ConvergenceTarget {
  id: string;
  swarmName: string;
  /** The spec hash the apply wrote (or found already in place). */
  specHash: string;
  /** When the apply wrote it (ms since epoch); undefined when nothing was written. */
  writtenAt?: number;
  /**
   * The write changed only what tasks carry outside their template (the endpoint spec: ports,
   * endpoint mode), so the running tasks' specs cannot tell old from new: wait for Swarm's own
   * record of an update started after the write, and its completion.
   */
  awaitUpdate?: boolean;
}

export interface ConvergenceResult {
  id: string;
  swarmName: string;
  status: 'converged' | 'failed' | 'timeout';
  detail: string;
  running: number;
  desired: number;
  durationMs: number;
}

export interface ConvergenceOptions {
  timeoutMs: number;
  pollMs?: number;
  clock?: Clock;
  onProgress?(results: ConvergenceResult[], pending: ConvergenceTarget[]): void;
  /** Swarm timestamps come from the manager's clock; tolerate this much skew. */
  clockSkewMs?: number;
}

const failedStates = new Set(['failed', 'rejected', 'orphaned']);

export async function waitForConvergence(
  targets: ConvergenceTarget[],
  swarm: SwarmReader,
  options: ConvergenceOptions,
): Promise<ConvergenceResult[]> {
  const clock = options.clock ?? realClock;
  const started = clock.now();
  const deadline = started + options.timeoutMs;
  const skew = options.clockSkewMs ?? 2000;
  const done = new Map<string, ConvergenceResult>();
  let pending = [...targets];
  while (pending.length > 0) {
    const [services, tasks] = await Promise.all([
      swarm.listServices(),
      swarm.listTasks({ service: pending.map((t) => t.swarmName), desiredState: 'running' }),
    ]);
    const byName = new Map(services.map((s) => [s.Spec.Name ?? '', s]));
    const timedOut = clock.now() >= deadline;
    const still: ConvergenceTarget[] = [];
    for (const t of pending) {
      const svc = byName.get(t.swarmName);
      const verdict = svc
        ? judge(t, svc, tasks, skew)
        : { state: 'failed' as const, detail: 'the service no longer exists', running: 0, desired: 0 };
      if (verdict.state === 'progressing' && !timedOut) {
        still.push(t);
        continue;
      }
      let detail = verdict.detail;
      if (verdict.state !== 'converged') {
        const why = svc ? await lastTaskError(swarm, svc) : undefined;
        if (why) detail += `; ${why}`;
      }
      done.set(t.id, {
        id: t.id,
        swarmName: t.swarmName,
        status: verdict.state === 'progressing' ? 'timeout' : verdict.state,
        detail:
          verdict.state === 'progressing'
            ? `not converged after ${Math.round(options.timeoutMs / 1000)}s: ${detail}`
            : detail,
        running: verdict.running,
        desired: verdict.desired,
        durationMs: clock.now() - started,
      });
    }
    pending = still;
    options.onProgress?.([...done.values()], pending);
    if (pending.length > 0) await clock.sleep(options.pollMs ?? 1000);
  }
  return targets.map((t) => done.get(t.id)!);
}

export interface Verdict {
  state: 'converged' | 'failed' | 'progressing';
  detail: string;
  running: number;
  desired: number;
}

/** How a service stands against the spec hash of `t`: converged, failed or still progressing. */
export function judge(t: ConvergenceTarget, svc: SwarmService, tasks: SwarmTask[], skew: number): Verdict {
  if (svc.Spec.Mode?.ReplicatedJob || svc.Spec.Mode?.GlobalJob) return judgeJob(t, svc);
  const us = svc.UpdateStatus;
  const ours = !!us?.StartedAt && t.writtenAt !== undefined && Date.parse(us.StartedAt) >= t.writtenAt - skew;
  const state = ours ? (us.State ?? '') : '';
  const desired =
    svc.Spec.Mode?.Global !== undefined
      ? (svc.ServiceStatus?.DesiredTasks ?? 0)
      : (svc.Spec.Mode?.Replicated?.Replicas ?? 1);
  const template = taskSpecKey(svc.Spec.TaskTemplate);
  const running = tasks.filter(
    (k) =>
      k.ServiceID === svc.ID &&
      k.DesiredState === 'running' &&
      k.Status?.State === 'running' &&
      taskSpecKey(k.Spec) === template,
  ).length;
  const counts = { running, desired };
  if (state.startsWith('rollback')) {
    return {
      state: 'failed',
      detail: `Swarm rolled the update back (${state.replace('_', ' ')}${us?.Message ? `: ${us.Message}` : ''})`,
      ...counts,
    };
  }
  if (state === 'paused')
    return { state: 'failed', detail: `the update is paused${us?.Message ? `: ${us.Message}` : ''}`, ...counts };
  if (svc.Spec.Labels?.[labelSpecHash] !== t.specHash) {
    return { state: 'failed', detail: 'the service spec was changed by someone else during the wait', ...counts };
  }
  const notStarted = t.awaitUpdate === true && !ours;
  if (state === 'updating' || running < desired || notStarted) {
    return {
      state: 'progressing',
      detail: `${running}/${desired} tasks running the new spec${state === 'updating' ? ', update in progress' : notStarted ? ', waiting for Swarm to start the update' : ''}`,
      ...counts,
    };
  }
  return { state: 'converged', detail: `${running}/${desired} tasks running`, ...counts };
}

/**
 * A job is done when its current run (JobStatus.JobIteration; each update starts one, and
 * ServiceStatus counts the tasks of that run only, measured on engine 20.10) has completed
 * TotalCompletions tasks; a global job when it completed tasks and none is still desired
 * (DesiredTasks counts the nodes whose task has not completed yet: 1 then 0 on one node).
 */
function judgeJob(t: ConvergenceTarget, svc: SwarmService): Verdict {
  const status = svc.ServiceStatus ?? {};
  const completed = status.CompletedTasks ?? 0;
  const replicated = svc.Spec.Mode?.ReplicatedJob;
  const desired = replicated ? (replicated.TotalCompletions ?? 1) : completed + (status.DesiredTasks ?? 0);
  const counts = { running: completed, desired };
  if (svc.Spec.Labels?.[labelSpecHash] !== t.specHash)
    return { state: 'failed', detail: 'the service spec was changed by someone else during the wait', ...counts };
  const done = replicated ? completed >= desired : completed > 0 && !status.DesiredTasks && !status.RunningTasks;
  return done
    ? { state: 'converged', detail: `job complete: ${completed}/${desired} tasks completed`, ...counts }
    : {
        state: 'progressing',
        detail: `job running: ${completed}/${desired} tasks completed, ${status.RunningTasks ?? 0} running`,
        ...counts,
      };
}

/**
 * What makes a task current: the parts of the task template a task copies. Swarm leaves
 * some template fields (Runtime) out of task specs, so the two are compared on these.
 */
export function taskSpecKey(spec: unknown): string {
  const t = (spec ?? {}) as Record<string, unknown>;
  // Placement is left out: Swarm keeps a task whose node still satisfies new constraints.
  const picked = {
    ContainerSpec: t.ContainerSpec,
    Resources: t.Resources,
    RestartPolicy: t.RestartPolicy,
    Networks: t.Networks,
    ForceUpdate: t.ForceUpdate,
    LogDriver: t.LogDriver,
  };
  return stableJson(pruneMembers(picked, isEmpty));
}

/**
 * The most recent task failure of a service, in words. A task Swarm stopped because its health
 * check failed ends "complete" without an error; for those, the container's health log (when
 * the container is on a node this engine can inspect) says what the check answered.
 */
export async function lastTaskError(swarm: SwarmReader, svc: SwarmService): Promise<string | undefined> {
  const tasks = await swarm.listTasks({ service: svc.ID });
  const newest = (xs: typeof tasks) =>
    xs.sort((a, b) => Date.parse(b.Status?.Timestamp ?? '') - Date.parse(a.Status?.Timestamp ?? ''))[0];
  const name = (t: (typeof tasks)[number]) => `task ${svc.Spec.Name}.${t.Slot ?? t.ID.slice(0, 12)}`;
  const hasCheck =
    !!svc.Spec.TaskTemplate?.ContainerSpec?.Healthcheck || !!svc.PreviousSpec?.TaskTemplate?.ContainerSpec?.Healthcheck;
  if (hasCheck && swarm.containerHealth) {
    for (const t of tasks
      .filter((k) => k.DesiredState === 'shutdown' && k.Status?.ContainerStatus?.ContainerID)
      .sort((a, b) => Date.parse(b.Status?.Timestamp ?? '') - Date.parse(a.Status?.Timestamp ?? ''))
      .slice(0, 5)) {
      const health = await swarm.containerHealth(t.Status!.ContainerStatus!.ContainerID!).catch(() => undefined);
      if (health?.status === 'unhealthy')
        return `${name(t)} failed its health check (${health.failingStreak} in a row${health.lastOutput ? `; last answer: ${health.lastOutput}` : ''})`;
    }
  }
  const t = newest(
    tasks.filter((k) => failedStates.has(k.Status?.State ?? '') || (!!k.Status?.Err && k.Status?.State !== 'running')),
  );
  if (!t) return undefined;
  const exit = t.Status?.ContainerStatus?.ExitCode;
  return `${name(t)} ${t.Status?.State ?? 'failed'}: ${t.Status?.Err || t.Status?.Message || 'no message'}${exit && exit > 0 ? ` (exit code ${exit})` : ''}`;
}
