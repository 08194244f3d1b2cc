/**
 * The container health check (ContainerSpec.Healthcheck): null keeps the image's own; a
 * string test runs in the shell (CMD-SHELL); `disable` is the test ["NONE"]. StartInterval
 * needs API 1.44: an older engine drops it (the plan refuses it there, build-plan.ts). A
 * change restarts the tasks.
 */
import { duration, nanos, toNanos } from '../canonical.js';
import type { ServiceFieldGroup } from './group.js';

export interface HealthcheckModel {
  test: string[];
  interval: string;
  timeout: string;
  startPeriod: string;
  startInterval: string;
  retries: number;
}

export interface HealthFields {
  healthcheck: HealthcheckModel | null;
}

export const healthFields: ServiceFieldGroup<HealthFields> = {
  swarmPaths: ['TaskTemplate.ContainerSpec.Healthcheck'],
  specPaths: { healthcheck: ['TaskTemplate.ContainerSpec.Healthcheck'] },
  effects: { healthcheck: 'restart' },
  laterDefaults: { 'healthcheck.startInterval': '0s' },
  needsApi: ({ healthcheck: hc }) =>
    hc && hc.startInterval !== '0s' ? [{ field: 'spec.healthcheck.startInterval', api: '1.44', engine: '25' }] : [],
  fromManifest: ({ spec: { healthcheck: hc } }) => ({
    healthcheck:
      hc === undefined
        ? null
        : hc.disable
          ? { test: ['NONE'], interval: '0s', timeout: '0s', startPeriod: '0s', startInterval: '0s', retries: 0 }
          : {
              test: hc.test === undefined ? [] : typeof hc.test === 'string' ? ['CMD-SHELL', hc.test] : [...hc.test],
              interval: duration(hc.interval),
              timeout: duration(hc.timeout),
              startPeriod: duration(hc.startPeriod),
              startInterval: duration(hc.startInterval),
              retries: hc.retries ?? 0,
            },
  }),
  fromLive: (spec) => {
    const hc = spec.TaskTemplate?.ContainerSpec?.Healthcheck;
    return {
      healthcheck: hc
        ? {
            test: hc.Test ?? [],
            interval: nanos(hc.Interval),
            timeout: nanos(hc.Timeout),
            startPeriod: nanos(hc.StartPeriod),
            startInterval: nanos(hc.StartInterval),
            retries: hc.Retries ?? 0,
          }
        : null,
    };
  },
  toSpec: ({ healthcheck: hc }, draft) => {
    if (!hc) return;
    draft.TaskTemplate.ContainerSpec.Healthcheck = {
      Test: hc.test,
      Interval: toNanos(hc.interval),
      Timeout: toNanos(hc.timeout),
      StartPeriod: toNanos(hc.startPeriod),
      ...(hc.startInterval !== '0s' ? { StartInterval: toNanos(hc.startInterval) } : {}),
      Retries: hc.retries,
    };
  },
};
