/**
 * `controller import compose FILE... [--namespace NAME] [--out DIR]`: converts compose and
 * stack files to manifests (src/compose/); `controller import stack NAME [--out DIR]` reads a
 * running stack from the Swarm instead (src/compose/from-stack.ts). Warnings go to stderr and
 * the manifests are written (exit 0); any error is printed and nothing is written (exit 1).
 * Its arguments and flags are those of `import` in command-table.ts.
 */
import { formatDiagnostic } from '../errors.js';
import { importCompose } from '../compose/import.js';
import { checkOutput, generatedStackMarker, writeImport } from '../compose/write.js';
import { stackManifests } from '../compose/from-stack.js';
import { TerminalError } from '../errors.js';
import type { CliOptions } from './args.js';
import { announceEngine, engineSelection, type CommandIo } from './commands.js';

export async function importCommand(
  options: CliOptions,
  io: Pick<CommandIo, 'out' | 'err'> & Partial<Pick<CommandIo, 'connect'>>,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  // The command table checked the arguments: positionals are ["import", "compose"|"stack", ...],
  // --namespace is a valid namespace.
  if (options.positionals[1] === 'stack') return importStackCommand(options, io);
  const files = options.positionals.slice(2);
  const namespace = options.namespace;
  const result = importCompose({ files, ...(namespace ? { namespace } : {}), env });
  const outDir = options.outDir ?? result.namespace;
  const errorsBefore = result.diagnostics.filter((d) => d.severity === 'error').length;
  const diagnostics = errorsBefore
    ? result.diagnostics
    : [...result.diagnostics, ...checkOutput(outDir, result.dataFiles)];
  for (const d of diagnostics) io.err(`${formatDiagnostic(d)}\n`);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  if (errors) {
    io.err(
      `${errors} error${errors === 1 ? '' : 's'}${warnings ? ` and ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}; nothing was written.\n`,
    );
    return 1;
  }
  const written = writeImport(outDir, result.manifests, result.dataFiles, files);
  const counts = ['Service', 'Network', 'Config', 'Secret']
    .map((k) => [k, result.manifests.filter((m) => m.kind === k).length] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}${n === 1 ? '' : 's'}`);
  io.out(
    `Wrote ${result.manifests.length} manifests (${counts.join(', ') || 'none'}) and ${written.length - result.manifests.length} data files to ${outDir} (namespace "${result.namespace}")${warnings ? `; ${warnings} warning${warnings === 1 ? '' : 's'} above` : ''}.\n`,
  );
  return 0;
}

/** `controller import stack NAME`: the stack's live objects as manifests, to adopt it. */
async function importStackCommand(
  options: CliOptions,
  io: Pick<CommandIo, 'out' | 'err'> & Partial<Pick<CommandIo, 'connect'>>,
): Promise<number> {
  const [stack, ...extra] = options.positionals.slice(2);
  if (!stack || extra.length)
    throw new TerminalError('SC9001', `import stack takes one stack name, not ${options.positionals.length - 2}`);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(stack) || stack.length > 63)
    throw new TerminalError(
      'SC9001',
      `the stack name "${stack}" cannot be a namespace (lower-case letters, digits and "-"; no "_", docs/decisions.md 4), so its Swarm names cannot be written as <namespace>_<name>; import its compose file with controller import compose and --namespace instead`,
    );
  if (options.namespace && options.namespace !== stack)
    throw new TerminalError(
      'SC9001',
      `--namespace must be the stack name "${stack}": the Swarm names are ${stack}_<name>`,
    );
  if (!io.connect) throw new TerminalError('SC5001', 'no engine connection');
  const swarm = await io.connect(engineSelection(options));
  announceEngine(io, swarm);
  const [services, networks, configs, secrets] = await Promise.all([
    swarm.listServices(),
    swarm.listNetworks(),
    swarm.listConfigs(),
    swarm.listSecrets(),
  ]);
  const result = stackManifests(stack, { services, networks, configs, secrets });
  if (!result.manifests.some((m) => m.kind === 'Service')) {
    io.err(`error SC9001: no service of stack "${stack}" on ${swarm.describe()} (docker stack ls lists the stacks)\n`);
    return 1;
  }
  const outDir = options.outDir ?? stack;
  const diagnostics = [...result.diagnostics, ...checkOutput(outDir, result.dataFiles)];
  for (const d of diagnostics) io.err(`${formatDiagnostic(d)}\n`);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  if (errors) {
    io.err(`${errors} error${errors === 1 ? '' : 's'}; nothing was written.\n`);
    return 1;
  }
  writeImport(
    outDir,
    result.manifests,
    result.dataFiles,
    [`stack ${stack} on ${swarm.describe()}`],
    generatedStackMarker,
  );
  const warnings = diagnostics.length;
  io.out(
    `Wrote ${result.manifests.length} manifests and ${result.dataFiles.length} data files of stack "${stack}" to ${outDir}${warnings ? `; ${warnings} warning${warnings === 1 ? '' : 's'} above` : ''}.\n` +
      `Take it over without restarting anything: controller apply -f ${outDir} --adopt\n`,
  );
  return 0;
}
