/**
 * `controller import compose FILE... [--namespace NAME] [--out DIR]`: converts compose and
 * stack files to manifests (src/compose/). Warnings go to stderr and the manifests are
 * written (exit 0); any error is printed with file:line and nothing is written (exit 1).
 */
import { parseArgs } from 'node:util';
import { formatDiagnostic, TerminalError } from '../errors.js';
import { importCompose } from '../compose/import.js';
import { checkOutput, writeImport } from '../compose/write.js';
import type { CommandIo } from './commands.js';

export const importUsage = `Usage: controller import compose FILE... [--namespace NAME] [--out DIR]

Converts compose/stack files (merged in order, like docker stack deploy -c A -c B) to manifests.
  --namespace NAME   namespace of every manifest (default: the compose project name: the
                     top-level "name:", else the first file's directory, lower-cased)
  --out DIR          where to write (default: ./NAMESPACE); must be new, empty, or an earlier import
Warnings (what the manifests cannot express) go to stderr; exit 1 on any error, nothing written.
`;

export async function importCommand(
  argv: string[],
  io: Pick<CommandIo, 'out' | 'err'>,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { namespace: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw new TerminalError('SC9001', `${(err as Error).message}. Run "controller import --help" for usage`);
  }
  const [what, ...files] = parsed.positionals;
  if (parsed.values.help) {
    io.out(importUsage);
    return 0;
  }
  if (what !== 'compose')
    throw new TerminalError(
      'SC9001',
      `"controller import ${what ?? ''}" is not a command; write "controller import compose FILE..."`,
    );
  if (files.length === 0)
    throw new TerminalError(
      'SC9001',
      'import compose needs at least one compose file, e.g. "controller import compose docker-compose.yml"',
    );
  const namespace = parsed.values.namespace;
  if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) {
    throw new TerminalError(
      'SC9001',
      `--namespace ${JSON.stringify(namespace)} is not a valid namespace; use lower-case letters, digits and "-"`,
    );
  }
  const result = importCompose({ files, ...(namespace ? { namespace } : {}), env });
  const outDir = parsed.values.out ?? result.namespace;
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
