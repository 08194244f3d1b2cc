/**
 * How Swarm rolls out, rolls back and restarts: UpdateConfig, RollbackConfig (changing them
 * restarts nothing) and TaskTemplate.RestartPolicy (part of the task template, so a change
 * restarts the tasks). Absent policies are Swarm's defaults, measured with insertDefaults=true.
 */
import type { SwarmUpdateConfig } from '../../api/swarm-types.js';
import { duration, nanos, toNanos } from '../canonical.js';
import type { ServiceFieldGroup } from './group.js';

export interface UpdatePolicyModel {
  parallelism: number;
  delay: string;
  order: 'stop-first' | 'start-first';
  failureAction: 'pause' | 'continue' | 'rollback';
  monitor: string;
  maxFailureRatio: number;
}

export interface RestartPolicyModel {
  condition: 'none' | 'on-failure' | 'any';
  delay: string;
  maxAttempts: number;
  window: string;
}

export interface PolicyFields {
  updateConfig: UpdatePolicyModel;
  rollbackConfig: UpdatePolicyModel;
  restartPolicy: RestartPolicyModel;
}

/** Swarm's defaults for an update or rollback policy (measured with insertDefaults=true). */
export const defaultUpdatePolicy: UpdatePolicyModel = {
  parallelism: 1,
  delay: '0s',
  order: 'stop-first',
  failureAction: 'pause',
  monitor: '5s',
  maxFailureRatio: 0,
};

export const defaultRestartDelay = '5s';

function updateFromManifest(p: Partial<Record<keyof UpdatePolicyModel, unknown>> | undefined): UpdatePolicyModel {
  return {
    parallelism: (p?.parallelism as number | undefined) ?? defaultUpdatePolicy.parallelism,
    delay: duration(p?.delay as string | undefined, defaultUpdatePolicy.delay),
    order: (p?.order as UpdatePolicyModel['order'] | undefined) ?? defaultUpdatePolicy.order,
    failureAction:
      (p?.failureAction as UpdatePolicyModel['failureAction'] | undefined) ?? defaultUpdatePolicy.failureAction,
    monitor: duration(p?.monitor as string | undefined, defaultUpdatePolicy.monitor),
    maxFailureRatio: (p?.maxFailureRatio as number | undefined) ?? defaultUpdatePolicy.maxFailureRatio,
  };
}

function updateFromLive(u: SwarmUpdateConfig | undefined): UpdatePolicyModel {
  if (!u) return { ...defaultUpdatePolicy };
  // Present but partial: Swarm stores Go zero values for the missing fields.
  return {
    parallelism: u.Parallelism ?? 0,
    delay: nanos(u.Delay),
    order: u.Order || 'stop-first',
    failureAction: u.FailureAction || 'pause',
    monitor: nanos(u.Monitor),
    maxFailureRatio: u.MaxFailureRatio ?? 0,
  };
}

function updateToSpec(u: UpdatePolicyModel): SwarmUpdateConfig {
  return {
    Parallelism: u.parallelism,
    Delay: toNanos(u.delay),
    FailureAction: u.failureAction,
    Monitor: toNanos(u.monitor),
    MaxFailureRatio: u.maxFailureRatio,
    Order: u.order,
  };
}

export const policyFields: ServiceFieldGroup<PolicyFields> = {
  swarmPaths: ['UpdateConfig', 'RollbackConfig', 'TaskTemplate.RestartPolicy'],
  specPaths: {
    updateConfig: ['UpdateConfig'],
    rollbackConfig: ['RollbackConfig'],
    restartPolicy: ['TaskTemplate.RestartPolicy'],
  },
  effects: { updateConfig: 'metadata', rollbackConfig: 'metadata', restartPolicy: 'restart' },
  fromManifest: ({ spec: s }) => ({
    updateConfig: updateFromManifest(s.updateConfig),
    rollbackConfig: updateFromManifest(s.rollbackConfig),
    restartPolicy: {
      condition: s.restartPolicy?.condition ?? 'any',
      delay: duration(s.restartPolicy?.delay, defaultRestartDelay),
      maxAttempts: s.restartPolicy?.maxAttempts ?? 0,
      window: duration(s.restartPolicy?.window),
    },
  }),
  fromLive: (spec) => {
    const r = spec.TaskTemplate?.RestartPolicy;
    return {
      updateConfig: updateFromLive(spec.UpdateConfig),
      rollbackConfig: updateFromLive(spec.RollbackConfig),
      restartPolicy: {
        condition: r?.Condition ?? 'any',
        delay: nanos(r?.Delay, defaultRestartDelay),
        maxAttempts: r?.MaxAttempts ?? 0,
        window: nanos(r?.Window),
      },
    };
  },
  toSpec: (m, draft) => {
    draft.TaskTemplate.RestartPolicy = {
      Condition: m.restartPolicy.condition,
      Delay: toNanos(m.restartPolicy.delay),
      MaxAttempts: m.restartPolicy.maxAttempts,
      Window: toNanos(m.restartPolicy.window),
    };
    draft.UpdateConfig = updateToSpec(m.updateConfig);
    draft.RollbackConfig = updateToSpec(m.rollbackConfig);
  },
};
