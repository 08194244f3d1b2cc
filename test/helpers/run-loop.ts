/**
 * `controller run`'s loop in-process for unit tests: a Manager with one ApplySetLoop over a
 * RunnableFakeSwarm and a source, on the clock given (a FakeClock in unit tests), its log kept.
 */
import { ApplySetLoop, type ApplySetMetricsSink, type ApplySetSettings } from '../../src/controller/apply-set-loop.js';
import { Manager } from '../../src/controller/manager.js';
import type { SnapshotSource } from '../../src/controller/revision-sync.js';
import type { Clock, Random } from '../../src/queue/clock.js';
import type { RunnableFakeSwarm } from './fake-swarm.js';
import { recordingLogger, type RecordingLogger } from './log-records.js';

export interface RunningLoop {
  manager: Manager;
  loop: ApplySetLoop;
  logs: RecordingLogger;
  stop(): Promise<void>;
}

const noop = () => undefined;
export const noMetrics: ApplySetMetricsSink = {
  queueDepth: noop,
  reconcile: noop,
  reconcileError: noop,
  action: noop,
  drift: noop,
  sync: noop,
  leader: noop,
  suspended: noop,
  imageCheck: noop,
  pinnedImages: noop,
};

/** Settings for tests: polls and resyncs only when a test moves the clock that far (an hour). */
export const testSettings: ApplySetSettings = {
  identity: 'unit',
  applySet: 'unit',
  drift: 'repair',
  prune: true,
  allowReplace: false,
  maxDeletions: 10,
  timeoutMs: 5000,
  pollIntervalMs: 3_600_000,
  resyncIntervalMs: 3_600_000,
  leaseDurationMs: 1000,
  concurrency: 2,
  syncTimeoutMs: 3_600_000,
  resolveImage: 'never',
  imageCheckMs: 0,
};

export function startLoop(o: {
  swarm: RunnableFakeSwarm;
  source: SnapshotSource;
  clock: Clock;
  settings?: Partial<ApplySetSettings>;
  /** The poll jitter (default: none, 0.5 gives the interval exactly). */
  random?: Random;
  metrics?: Partial<ApplySetMetricsSink>;
}): RunningLoop {
  const settings = { ...testSettings, ...o.settings };
  const logs = recordingLogger();
  const manager = new Manager({
    swarm: o.swarm,
    identity: settings.identity,
    clock: o.clock,
    log: logs.log,
    random: o.random ?? (() => 0.5),
  });
  const loop = new ApplySetLoop({
    settings,
    swarm: o.swarm,
    source: o.source,
    cache: manager.cache,
    clock: o.clock,
    random: o.random ?? (() => 0.5),
    log: logs.log,
    metrics: { ...noMetrics, ...o.metrics },
  });
  manager.add(loop);
  manager.start();
  return { manager, loop, logs, stop: () => manager.stop(1000) };
}
