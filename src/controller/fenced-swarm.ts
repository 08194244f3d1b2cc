/**
 * Fencing at the write: the Swarm as a leader's reconciler sees it, where every write first asks
 * whether this replica may still act as leader (its lease's last successful round is recent
 * enough: leader-lease.ts) and is refused before it leaves the process when not. A sync that
 * started while leading cannot go on writing after the lease lapsed, e.g. once a partition
 * heals, before the next lease round says so. Reads pass through.
 */
import type { SwarmAccess, SwarmWriter } from '../api/swarm-access.js';
import { TransientError } from '../errors.js';

/** Thrown instead of a write when the lease has lapsed; transient: the next leader does the work. */
export class LeaseLapsedError extends TransientError {
  constructor(write: string) {
    super(`${write} not sent: this replica's lease has lapsed, so it no longer writes (another replica may lead)`);
    this.name = 'LeaseLapsedError';
  }
}

const writes: (keyof SwarmWriter)[] = [
  'createService',
  'updateService',
  'removeService',
  'rollbackService',
  'createNetwork',
  'removeNetwork',
  'createConfig',
  'removeConfig',
  'createSecret',
  'removeSecret',
  'updateSecretLabels',
  'updateConfigLabels',
];

export function fenceWrites(swarm: SwarmAccess, holds: () => boolean): SwarmAccess {
  const fenced: Record<string, unknown> = {};
  for (const key of writes) {
    fenced[key] = (...args: unknown[]) =>
      holds()
        ? (swarm[key] as (...a: unknown[]) => Promise<unknown>).apply(swarm, args)
        : Promise.reject(new LeaseLapsedError(key));
  }
  return {
    readLiveState: () => swarm.readLiveState(),
    getService: (n) => swarm.getService(n),
    listServices: () => swarm.listServices(),
    listNetworks: () => swarm.listNetworks(),
    listTasks: (f) => swarm.listTasks(f),
    listConfigs: (l) => swarm.listConfigs(l),
    listSecrets: () => swarm.listSecrets(),
    ...(swarm.containerHealth ? { containerHealth: (id: string) => swarm.containerHealth!(id) } : {}),
    ...(fenced as unknown as SwarmWriter),
  };
}
