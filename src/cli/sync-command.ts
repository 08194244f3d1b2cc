/**
 * `controller sync APPLYSET`: a manual sync. Stamps the apply set's state record in the Swarm,
 * which the leading replica reads at its next lease round; sync windows with manualSync let it
 * pass. (`controller get apps` and `controller status --set APP` read the status that each
 * App's leader writes into the Swarm: inspect-commands.ts.)
 */
import { SuspendRecord } from '../controller/suspend-record.js';
import { TerminalError } from '../errors.js';
import { realClock } from '../queue/clock.js';
import { DockerSwarm } from '../swarm/docker-swarm.js';
import type { CliOptions } from './args.js';
import { announceEngine, engineSelection, type CommandIo } from './commands.js';
import { checkApplySet } from './flag-table.js';
import { hostname, userInfo } from 'node:os';

export async function syncCommand(options: CliOptions, io: CommandIo): Promise<number> {
  const target = options.positionals[1];
  if (!target) throw new TerminalError('SC9001', 'sync needs the apply set: controller sync APPLYSET');
  let applySet: string;
  try {
    applySet = checkApplySet(target);
  } catch (err) {
    throw new TerminalError('SC9001', (err as Error).message);
  }
  const swarm = await DockerSwarm.connect(engineSelection(options));
  announceEngine(io, swarm);
  const record = new SuspendRecord({ records: swarm, applySet, clock: realClock });
  const stamp = await record.requestManualSync(`${userInfo().username}@${hostname()}`);
  io.out(
    `manual sync of "${applySet}" requested (${stamp}); the leading controller syncs within a lease round (controller get apps)\n`,
  );
  return 0;
}
