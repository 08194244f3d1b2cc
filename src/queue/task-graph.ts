/**
 * Runs a set of tasks that depend on each other through a p-queue with bounded concurrency.
 * A task starts only when every task it depends on has succeeded; it is skipped, with the
 * reason, when one failed. Transient errors are retried with exponential backoff (the
 * backoff waits outside the queue on the injected clock, so it holds no worker); terminal ones
 * are not. Every task ends with exactly one outcome.
 */
import PQueue from 'p-queue';
import { TransientError } from '../errors.js';
import { backoffDelay, defaultBackoff, type BackoffPolicy } from './backoff.js';
import { realClock, type Clock, type Random } from './clock.js';

export interface GraphTask<R> {
  id: string;
  dependsOn: string[];
  /** Called once per attempt, starting at 1. */
  run(attempt: number): Promise<R>;
}

export type TaskOutcome<R> =
  | { id: string; status: 'succeeded'; result: R; attempts: number; durationMs: number }
  | { id: string; status: 'failed'; error: Error; attempts: number; durationMs: number }
  | { id: string; status: 'skipped'; reason: string; attempts: 0; durationMs: 0 };

export interface GraphOptions {
  concurrency?: number;
  backoff?: BackoffPolicy;
  clock?: Clock;
  /** The backoff's jitter (default Math.random). */
  random?: Random;
  isRetryable?: (err: unknown) => boolean;
  onStart?: (id: string, attempt: number) => void;
  onRetry?: (id: string, attempt: number, err: Error, delayMs: number) => void;
  onFinish?: (outcome: TaskOutcome<unknown>) => void;
}

export function assertAcyclic(tasks: { id: string; dependsOn: string[] }[]): void {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]) => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') throw new Error(`dependency cycle: ${[...path, id].join(' -> ')}`);
    const t = byId.get(id);
    if (!t) throw new Error(`"${path[path.length - 1]}" depends on unknown task "${id}"`);
    state.set(id, 'visiting');
    for (const d of t.dependsOn) visit(d, [...path, id]);
    state.set(id, 'done');
  };
  for (const t of tasks) visit(t.id, []);
}

export async function runTaskGraph<R>(tasks: GraphTask<R>[], options: GraphOptions = {}): Promise<TaskOutcome<R>[]> {
  assertAcyclic(tasks);
  const clock = options.clock ?? realClock;
  const policy = options.backoff ?? defaultBackoff;
  const isRetryable = options.isRetryable ?? ((err: unknown) => err instanceof TransientError);
  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency ?? 4) });
  const outcomes = new Map<string, Promise<TaskOutcome<R>>>();

  const runOne = async (task: GraphTask<R>): Promise<TaskOutcome<R>> => {
    let started: number | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await queue.add(() => {
          started ??= clock.now(); // time spent waiting for a worker is not the task's
          options.onStart?.(task.id, attempt);
          return task.run(attempt);
        });
        return {
          id: task.id,
          status: 'succeeded',
          result: result as R,
          attempts: attempt,
          durationMs: clock.now() - started!,
        };
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        if (!isRetryable(error) || attempt >= policy.maxAttempts) {
          return {
            id: task.id,
            status: 'failed',
            error,
            attempts: attempt,
            durationMs: clock.now() - (started ?? clock.now()),
          };
        }
        const delay = backoffDelay(policy, attempt, options.random);
        options.onRetry?.(task.id, attempt, error, delay);
        await clock.sleep(delay);
      }
    }
  };

  const schedule = (task: GraphTask<R>): Promise<TaskOutcome<R>> => {
    let p = outcomes.get(task.id);
    if (p) return p;
    p = (async () => {
      const deps = await Promise.all(task.dependsOn.map((d) => schedule(tasks.find((t) => t.id === d)!)));
      const blocked = deps.find((d) => d.status !== 'succeeded');
      const outcome: TaskOutcome<R> = blocked
        ? {
            id: task.id,
            status: 'skipped',
            reason: `${blocked.id} ${blocked.status === 'failed' ? 'failed' : 'was skipped'}`,
            attempts: 0,
            durationMs: 0,
          }
        : await runOne(task);
      options.onFinish?.(outcome);
      return outcome;
    })();
    outcomes.set(task.id, p);
    return p;
  };

  return Promise.all(tasks.map(schedule));
}
