/**
 * The container's process: image, command and args, environment, working directory, user,
 * hostname, container labels, init, terminal and stdin, the stop signal and grace period
 * (ContainerSpec). Hostname and env values may be Swarm templates ("{{.Node.Hostname}}"),
 * which Swarm expands per task and stores as written. Any change restarts the tasks. The live image is the stored one; plan/live-model.ts compares the image the
 * manifest asked for instead of a pinned digest.
 */
import { duration, nanos, sortedRecord, toNanos } from '../canonical.js';
import { canonicalImage } from '../../api/image-ref.js';
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
  /** "" for the image's STOPSIGNAL. */
  stopSignal: string;
  containerLabels: Record<string, string>;
  /** Runs docker-init as PID 1. false is the engine's default (the CLI stores Init: false, stack deploy nothing). */
  init: boolean;
  tty: boolean;
  stdinOpen: boolean;
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
    'TaskTemplate.ContainerSpec.StopSignal',
    'TaskTemplate.ContainerSpec.Init',
    'TaskTemplate.ContainerSpec.TTY',
    'TaskTemplate.ContainerSpec.OpenStdin',
  ],
  // The image is chosen by plan/swarm-spec.ts (a pinned digest is carried there).
  specPaths: {
    command: ['TaskTemplate.ContainerSpec.Command'],
    args: ['TaskTemplate.ContainerSpec.Args'],
    env: ['TaskTemplate.ContainerSpec.Env'],
    workdir: ['TaskTemplate.ContainerSpec.Dir'],
    user: ['TaskTemplate.ContainerSpec.User'],
    hostname: ['TaskTemplate.ContainerSpec.Hostname'],
    stopGracePeriod: ['TaskTemplate.ContainerSpec.StopGracePeriod'],
    stopSignal: ['TaskTemplate.ContainerSpec.StopSignal'],
    containerLabels: ['TaskTemplate.ContainerSpec.Labels'],
    init: ['TaskTemplate.ContainerSpec.Init'],
    tty: ['TaskTemplate.ContainerSpec.TTY'],
    stdinOpen: ['TaskTemplate.ContainerSpec.OpenStdin'],
  },
  effects: {
    image: 'restart',
    command: 'restart',
    args: 'restart',
    env: 'restart',
    workdir: 'restart',
    user: 'restart',
    hostname: 'restart',
    stopGracePeriod: 'restart',
    stopSignal: 'restart',
    containerLabels: 'restart',
    init: 'restart',
    tty: 'restart',
    stdinOpen: 'restart',
  },
  laterDefaults: { stopSignal: '', init: false, tty: false, stdinOpen: false },
  fromManifest: ({ spec: s }) => ({
    image: canonicalImage(s.image),
    command: s.command ?? [],
    args: s.args ?? [],
    env: sortedRecord(s.env),
    workdir: s.workdir ?? '',
    user: s.user ?? '',
    hostname: s.hostname ?? '',
    stopGracePeriod: duration(s.stopGracePeriod, defaultStopGracePeriod),
    stopSignal: s.stopSignal ?? '',
    containerLabels: sortedRecord(s.containerLabels),
    init: s.init ?? false,
    tty: s.tty ?? false,
    stdinOpen: s.stdinOpen ?? false,
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
      stopSignal: c.StopSignal ?? '',
      containerLabels: sortedRecord(c.Labels),
      init: c.Init ?? false,
      tty: c.TTY ?? false,
      stdinOpen: c.OpenStdin ?? false,
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
      ...(m.stopSignal ? { StopSignal: m.stopSignal } : {}),
      ...(m.init ? { Init: true } : {}),
      ...(m.tty ? { TTY: true } : {}),
      ...(m.stdinOpen ? { OpenStdin: true } : {}),
    });
  },
};
