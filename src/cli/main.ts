#!/usr/bin/env node
/**
 * Entry point of the `controller` command: reads the command line (parse-argv.ts, from the
 * command and flag tables), dispatches to the command's handler, and turns errors into
 * messages and exit codes. The only place that touches process.exitCode. Handlers are
 * imported when run, so the proxy agent does not load the engine client, the manifest
 * validators or the controller (about 16 MB less resident memory), and a bad command line is
 * refused before anything is loaded or connected.
 */
import { realpathSync } from 'node:fs';
import nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';
import { TerminalError, TransientError } from '../errors.js';
import { cliOptions, type CliOptions } from './args.js';
import type { CommandIo } from './commands.js';
import { commandHelp, globalUsage } from './help-text.js';
import { parseArgv, type RunnableCommand } from './parse-argv.js';
import { UsageError } from './usage-error.js';
import { controllerVersion, versionCommand } from './version-command.js';

const exitCodes = { ok: 0, error: 1 } as const;
const dockerSwarm = async () => (await import('../swarm/docker-swarm.js')).DockerSwarm;
const commands = () => import('./commands.js');
const runCommands = () => import('./run-command.js');

export const defaultIo: CommandIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  connect: async (selection) => (await dockerSwarm()).connect(selection),
};

type Handler = (options: CliOptions, io: CommandIo) => Promise<number>;

/** One handler per command of the command table (the compiler checks that none is missing). */
const handlers: Record<RunnableCommand, Handler> = {
  validate: async (o, io) => (await commands()).validateCommand(o, io),
  plan: async (o, io) => (await commands()).planOrApplyCommand(o, io),
  apply: async (o, io) => (await commands()).planOrApplyCommand(o, io),
  import: async (o, io) => (await import('./compose-command.js')).importCommand(o, io),
  run: async (o, io) => (await runCommands()).runCommand(o, io, controllerVersion),
  status: async (o, io) => (await import('./inspect-commands.js')).statusCommand(o, io),
  dashboard: async (o, io) => (await import('./dashboard-command.js')).dashboardCommand(o, io),
  sync: async (o, io) => (await import('./sync-command.js')).syncCommand(o, io),
  suspend: async (o, io) => (await runCommands()).suspendCommand(o, io, true),
  resume: async (o, io) => (await runCommands()).suspendCommand(o, io, false),
  bootstrap: async (o, io) => (await runCommands()).bootstrapCommand(o, io),
  rollback: async (o, io) => (await import('./rollback-command.js')).rollbackCommand(o, io),
  rollout: async (o, io) => (await import('./rollout-command.js')).rolloutCommand(o, io),
  proxy: async (o) => (await import('./proxy-command.js')).proxyCommand(o),
  version: versionCommand,
  get: async (o, io) => (await import('./inspect-commands.js')).getCommand(o, io),
  describe: async (o, io) => (await import('./inspect-commands.js')).describeCommand(o, io),
  diff: async (o, io) => (await import('./diff-command.js')).diffCommand(o, io),
  completion: async (o, io) => {
    const { completionScript } = await import('./completion.js');
    io.out(completionScript(o.positionals[1] as 'bash' | 'zsh' | 'fish'));
    return exitCodes.ok;
  },
};

export async function main(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  try {
    const invocation = parseArgv(argv);
    if (invocation.kind === 'help') {
      io.out(invocation.topic ? commandHelp(invocation.topic) : globalUsage());
      return exitCodes.ok;
    }
    if (invocation.kind === 'version') {
      io.out(`swarm-controller ${controllerVersion}\n`);
      return exitCodes.ok;
    }
    return await handlers[invocation.command](cliOptions(invocation, !!process.stdout.isTTY), io);
  } catch (err) {
    if (err instanceof TerminalError) io.err(`error ${err.code}: ${err.message}\n`);
    else if (err instanceof TransientError) io.err(`error: ${err.message} (the engine may be restarting; try again)\n`);
    else io.err(`error: ${(err as Error).stack ?? String(err)}\n`);
    if (err instanceof UsageError && err.hint) io.err(`${err.hint}\n`);
    return exitCodes.error;
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Node 22.1+ keeps compiled code on disk (in the temp directory; NODE_DISABLE_COMPILE_CACHE=1
  // turns it off): the handlers below load most of the code, after this. Node 20 has no cache.
  (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
