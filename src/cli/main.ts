#!/usr/bin/env node
/**
 * Entry point of the `controller` command: parses arguments, runs a command, turns errors
 * into messages and exit codes. The only place that touches process.exitCode. Commands are
 * imported when run, so the proxy agent does not load the engine client, the manifest
 * validators or the controller (about 16 MB less resident memory).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TerminalError, TransientError } from '../errors.js';
import { parseCli, usage } from './args.js';
import { engineSelection, type CommandIo } from './commands.js';

const exitCodes = { ok: 0, error: 1 } as const;
const dockerSwarm = async () => (await import('../swarm/docker-swarm.js')).DockerSwarm;
const commands = () => import('./commands.js');
const runCommands = () => import('./run-command.js');

export const controllerVersion: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const defaultIo: CommandIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  connect: async (selection) => (await dockerSwarm()).connect(selection),
};

export async function main(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  try {
    if (argv[0] === 'import') return await (await import('./compose-command.js')).importCommand(argv.slice(1), io);
    const options = parseCli(argv, !!process.stdout.isTTY);
    if (options.help || options.command === 'help') {
      io.out(usage);
      return exitCodes.ok;
    }
    switch (options.command) {
      case 'validate':
        return await (await commands()).validateCommand(options, io);
      case 'plan':
      case 'apply':
        return await (await commands()).planOrApplyCommand(options, io);
      case 'run':
        return await (await runCommands()).runCommand(options, io, controllerVersion);
      case 'status':
        return await (await runCommands()).statusCommand(options, io);
      case 'suspend':
      case 'resume':
        return await (await runCommands()).suspendCommand(options, io, options.command === 'suspend');
      case 'bootstrap':
        return await (await runCommands()).bootstrapCommand(options, io);
      case 'rollback':
        return await (await import('./rollback-command.js')).rollbackCommand(options, io);
      case 'proxy':
        return await (await import('./proxy-command.js')).proxyCommand(options);
      case 'version': {
        io.out(`swarm-controller ${controllerVersion}\n`);
        const swarm = await (await dockerSwarm()).connect(engineSelection(options)).catch(() => undefined);
        if (swarm)
          io.out(
            `engine ${swarm.engine.version.engineVersion} (API ${swarm.engine.version.engineApiVersion}, using ${swarm.engine.version.apiVersion}) at ${swarm.engine.host} (${swarm.engine.endpoint.via})\n`,
          );
        return exitCodes.ok;
      }
      default:
        throw new TerminalError(
          'SC9001',
          `unknown command "${options.command}"; commands: validate, plan, apply, import, run, status, suspend, resume, bootstrap, rollback, proxy, version`,
        );
    }
  } catch (err) {
    if (err instanceof TerminalError) io.err(`error ${err.code}: ${err.message}\n`);
    else if (err instanceof TransientError) io.err(`error: ${err.message} (the engine may be restarting; try again)\n`);
    else io.err(`error: ${(err as Error).stack ?? String(err)}\n`);
    return exitCodes.error;
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
