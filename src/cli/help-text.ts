/**
 * The help texts, rendered from the command and flag tables: the global usage (a line per
 * command) and each command's own help (its synopsis, what it does, and only its flags, in
 * their sections, with their defaults). Nothing here is written by hand per command.
 */
import { commandNames, commandSpec, globalFlags, type CommandName } from './command-table.js';
import { flagSpec, flagSynopsis, type FlagName } from './flag-table.js';

const width = 100;

export function globalUsage(): string {
  const runnable = commandNames.map((name) => [name, commandSpec(name).summary] as const);
  const nameWidth = Math.max(...runnable.map(([n]) => n.length));
  return [
    'swarm-controller: declarative manifests for Docker Swarm',
    '',
    'Usage:',
    '  controller COMMAND [options]',
    '  controller --dry-run -f PATH... [options]   plan: the same as "controller plan -f PATH..."',
    '',
    'Commands:',
    ...runnable.map(([name, summary]) => `  ${name.padEnd(nameWidth)}   ${summary}`),
    '',
    'Options without a command:',
    ...flagLines([...globalFlags], {
      'dry-run': { help: 'plan, taking the options of plan: controller --dry-run -f PATH...' },
    }),
    '',
    'Run "controller COMMAND --help" or "controller help COMMAND" for the options of a command.',
    '',
  ].join('\n');
}

export function commandHelp(name: CommandName): string {
  const spec = commandSpec(name);
  const lines = [`Usage: ${spec.synopsis}`, ''];
  if (spec.description) lines.push(spec.description, '');
  const overrides = spec.flagHelp ?? {};
  const column = columnFor([...spec.sections.flatMap((s) => s.flags), 'help']);
  for (const section of spec.sections)
    lines.push(`${section.title}:`, ...flagLines(section.flags, overrides, column), '');
  lines.push(...flagLines(['help'], {}, column), '');
  return lines.join('\n');
}

/** Where the help texts start: after the longest flag, at most at column 36. */
const columnFor = (flags: readonly FlagName[]) =>
  Math.min(36, Math.max(...flags.map((f) => flagSynopsis(f).length)) + 4);

function flagLines(
  flags: readonly FlagName[],
  overrides: Partial<Record<FlagName, { help?: string; defaultText?: string }>>,
  column = columnFor(flags),
): string[] {
  return flags.map((flag) => {
    const spec = flagSpec(flag);
    const help = overrides[flag]?.help ?? spec.help;
    const dflt = overrides[flag]?.defaultText ?? (spec.kind === 'value' ? spec.defaultText : undefined);
    const text = `${help}${dflt ? ` (default:\u00a0${dflt})` : ''}`; // kept on one line with its value
    const head = `  ${flagSynopsis(flag)}`;
    return wrap(head.length + 2 > column ? `${head}  ` : head.padEnd(column), text, column);
  });
}

/** `head` then `text`, wrapped at `width` with continuation lines indented to `column`. */
function wrap(head: string, text: string, column: number): string {
  const lines: string[] = [];
  let line = head;
  let words = 0;
  for (const word of text.split(' ')) {
    if (words > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = ' '.repeat(column);
      words = 0;
    }
    line += words > 0 ? ` ${word}` : word;
    words++;
  }
  lines.push(line);
  return lines.join('\n').replaceAll('\u00a0', ' ');
}
