/** Which engine the command line names; small on purpose, so `controller version` loads nothing else. */
import type { EngineSelection } from '../swarm/endpoint.js';
import type { CliOptions } from './args.js';

/** The engine the command line names (--host, --context); the environment and config fill in the rest. */
export function engineSelection(options: Pick<CliOptions, 'host' | 'context'>): EngineSelection {
  return { ...(options.host ? { host: options.host } : {}), ...(options.context ? { context: options.context } : {}) };
}
