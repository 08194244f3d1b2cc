/**
 * `controller version` (the controller's version and, when one answers, the engine's) and the
 * controller's version alone for `controller --version`, read from package.json.
 */
import { readFileSync } from 'node:fs';
import type { CliOptions } from './args.js';
import type { CommandIo } from './commands.js';
import { engineSelection } from './engine-selection.js';

export const controllerVersion: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export async function versionCommand(options: CliOptions, io: CommandIo): Promise<number> {
  io.out(`swarm-controller ${controllerVersion}\n`);
  const { DockerSwarm } = await import('../swarm/docker-swarm.js');
  const swarm = await DockerSwarm.connect(engineSelection(options)).catch(() => undefined);
  if (swarm)
    io.out(
      `engine ${swarm.engine.version.engineVersion} (API ${swarm.engine.version.engineApiVersion}, using ${swarm.engine.version.apiVersion}) at ${swarm.engine.host} (${swarm.engine.endpoint.via})\n`,
    );
  return 0;
}
