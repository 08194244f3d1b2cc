/**
 * The container's process: image, command and args, environment, working directory, user,
 * hostname, container labels and the stop grace period (ContainerSpec). Any change restarts
 * the tasks. The live image is the stored one; plan/live-model.ts compares the image the
 * manifest asked for instead of a pinned digest.
 */
import { duration, nanos, sortedRecord, toNanos } from '../canonical.js';
import type { ServiceFieldGroup } from './group.js';

export const defaultStopGracePeriod = '10s';

export interface ContainerFields {
  image: string;
  command: string[];
  args: string[];
  env: Record<string, string>;
  workdir: string;
  user: string;
  hostname: string;
  stopGracePeriod: string;
  containerLabels: Record<string, string>;
}

function envFromList(list: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of list ?? []) {
    const i = e.indexOf('=');
    env[i < 0 ? e : e.slice(0, i)] = i < 0 ? '' : e.slice(i + 1);
  }
  return sortedRecord(env);
}

export const containerFields: ServiceFieldGroup<ContainerFields> = {
  swarmPaths: [
    'TaskTemplate.ContainerSpec.Image',
    'TaskTemplate.ContainerSpec.Labels',
    'TaskTemplate.ContainerSpec.Command',
    'TaskTemplate.ContainerSpec.Args',
    'TaskTemplate.ContainerSpec.Hostname',
    'TaskTemplate.ContainerSpec.Env',
    'TaskTemplate.ContainerSpec.Dir',
    'TaskTemplate.ContainerSpec.User',
    'TaskTemplate.ContainerSpec.StopGracePeriod',
  ],
  effects: {
    image: 'restart',
    command: 'restart',
    args: 'restart',
    env: 'restart',
    workdir: 'restart',
    user: 'restart',
    hostname: 'restart',
    stopGracePeriod: 'restart',
    containerLabels: 'restart',
  },
  fromManifest: ({ spec: s }) => ({
    image: s.image,
    command: s.command ?? [],
    args: s.args ?? [],
    env: sortedRecord(s.env),
    workdir: s.workdir ?? '',
    user: s.user ?? '',
    hostname: s.hostname ?? '',
    stopGracePeriod: duration(s.stopGracePeriod, defaultStopGracePeriod),
    containerLabels: sortedRecord(s.containerLabels),
  }),
  fromLive: (spec) => {
    const c = spec.TaskTemplate?.ContainerSpec ?? {};
    return {
      image: c.Image ?? '',
      command: c.Command ?? [],
      args: c.Args ?? [],
      env: envFromList(c.Env),
      workdir: c.Dir ?? '',
      user: c.User ?? '',
      hostname: c.Hostname ?? '',
      stopGracePeriod: nanos(c.StopGracePeriod, defaultStopGracePeriod),
      containerLabels: sortedRecord(c.Labels),
    };
  },
  toSpec: (m, draft) => {
    Object.assign(draft.TaskTemplate.ContainerSpec, {
      Image: m.image,
      ...(Object.keys(m.containerLabels).length ? { Labels: m.containerLabels } : {}),
      ...(m.command.length ? { Command: m.command } : {}),
      ...(m.args.length ? { Args: m.args } : {}),
      ...(m.hostname ? { Hostname: m.hostname } : {}),
      ...(Object.keys(m.env).length ? { Env: Object.entries(m.env).map(([k, v]) => `${k}=${v}`) } : {}),
      ...(m.workdir ? { Dir: m.workdir } : {}),
      ...(m.user ? { User: m.user } : {}),
      StopGracePeriod: toNanos(m.stopGracePeriod),
    });
  },
};
