/**
 * `controller import compose FILE... [--namespace NAME] [--out DIR]`: converts compose and
 * stack files to manifests (src/compose/). Warnings go to stderr and the manifests are
 * written (exit 0); any error is printed with file:line and nothing is written (exit 1).
 * Its arguments and flags are those of `import` in command-table.ts.
 */
import { formatDiagnostic } from '../errors.js';
import { importCompose } from '../compose/import.js';
import { checkOutput, writeImport } from '../compose/write.js';
import type { CliOptions } from './args.js';
import type { CommandIo } from './commands.js';

export async function importCommand(
  options: CliOptions,
  io: Pick<CommandIo, 'out' | 'err'>,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  // The command table checked the arguments: positionals are ["import", "compose", FILE...],
  // --namespace is a valid namespace.
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
