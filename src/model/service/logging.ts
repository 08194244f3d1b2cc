/**
 * The log driver of the containers and its options (TaskTemplate.LogDriver); null leaves the
 * engine's default (daemon.json); a driver "" gives the default driver these options. A change restarts the tasks.
 */
import { sortedRecord } from '../canonical.js';
import type { ServiceFieldGroup } from './group.js';

export interface LoggingFields {
  logging: { driver: string; options: Record<string, string> } | null;
}

export const loggingFields: ServiceFieldGroup<LoggingFields> = {
  swarmPaths: ['TaskTemplate.LogDriver'],
  specPaths: { logging: ['TaskTemplate.LogDriver'] },
  effects: { logging: 'restart' },
  laterDefaults: { logging: null },
  fromManifest: ({ spec: s }) => ({
    logging: s.logging ? { driver: s.logging.driver ?? '', options: sortedRecord(s.logging.options) } : null,
  }),
  fromLive: (spec) => {
    const d = spec.TaskTemplate?.LogDriver;
    // A driver without a name takes the engine's default driver with these options.
    const named = !!d?.Name || Object.keys(d?.Options ?? {}).length > 0;
    return { logging: d && named ? { driver: d.Name ?? '', options: sortedRecord(d.Options) } : null };
  },
  toSpec: ({ logging }, draft) => {
    if (logging)
      draft.TaskTemplate.LogDriver = {
        ...(logging.driver ? { Name: logging.driver } : {}),
        ...(Object.keys(logging.options).length ? { Options: logging.options } : {}),
      };
  },
};
