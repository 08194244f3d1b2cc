/**
 * The command line, read against the command and flag tables: finds the command (flags may
 * come before it, as with docker -H), reads each flag as that command takes it, and refuses
 * anything else with one line and a hint: an unknown command or flag (with "did you mean"),
 * a flag of another command, a missing or bad value, an unexpected argument, conflicting
 * flags. `--help` anywhere asks for help instead. `controller --dry-run ...` is plan.
 * Pure: argv and the environment in, an Invocation out; nothing here touches an engine.
 */
import { closest } from '../manifest/suggest.js';
import {
  commandNames,
  commandSpec,
  commandsWithFlag,
  flagsOf,
  globalFlags,
  isCommand,
  type CommandName,
} from './command-table.js';
import {
  conflictingFlags,
  flagNames,
  flagOfShort,
  flagSpec,
  initialValues,
  proseList,
  type Env,
  type FlagName,
  type FlagValues,
} from './flag-table.js';
import { UsageError } from './usage-error.js';

export type RunnableCommand = Exclude<CommandName, 'help'>;

export interface CommandInvocation {
  kind: 'command';
  command: RunnableCommand;
  /** `controller --dry-run ...`: plan, reached through the global --dry-run. */
  dryRunForm: boolean;
  /** Every flag's value: given, or its default. */
  values: FlagValues;
  /** The flags given on the command line. */
  given: ReadonlySet<FlagName>;
  /** The arguments after the command word. */
  positionals: string[];
}

export type Invocation = { kind: 'help'; topic?: CommandName } | { kind: 'version' } | CommandInvocation;

/** Whom the flags are read for, in messages. */
interface Reader {
  /** Absent: `controller` without a command. */
  command?: CommandName;
  hint: string;
}

const globalHint = 'See "controller --help".';
const commandHint = (c: CommandName) => `See "controller ${c} --help".`;

export function parseArgv(argv: readonly string[], env: Env = process.env): Invocation {
  const located = locateCommand(argv);
  if (located.at === undefined) return parseWithoutCommand(argv, located.dryRun, env);
  const word = argv[located.at];
  if (!isCommand(word)) throw unknownCommand(word);
  const rest = [...argv.slice(0, located.at), ...argv.slice(located.at + 1)];
  const read = readFlags(rest, flagsOf(word), { command: word, hint: commandHint(word) }, env);
  if (read.help) return { kind: 'help', topic: word };
  if (word === 'help') return { kind: 'help', ...helpTopic(read.positionals) };
  checkPositionals(word, read.positionals);
  return { kind: 'command', command: word, dryRunForm: false, ...read };
}

/** The index of the command word (the first argument that is neither a flag nor a flag's value). */
function locateCommand(argv: readonly string[]): { at?: number; dryRun: boolean } {
  let dryRun = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') return { ...(i + 1 < argv.length ? { at: i + 1 } : {}), dryRun };
    if (!isFlagToken(token)) return { at: i, dryRun };
    const flag = readFlagToken(token);
    if (flag.name === 'dry-run' && (flag.inline === undefined || flag.inline === 'true')) dryRun = true;
    const takesNext = flag.inline === undefined && i + 1 < argv.length && !isFlagToken(argv[i + 1]);
    if (flag.name && flagSpec(flag.name).kind !== 'switch' && takesNext) i++; // as readFlags reads it
  }
  return { dryRun };
}

/** `controller`, `controller --help`, `controller --version`, or `controller --dry-run -f DIR ...` (plan). */
function parseWithoutCommand(argv: readonly string[], dryRun: boolean, env: Env): Invocation {
  if (argv.length === 0) return { kind: 'help' };
  if (dryRun) {
    const allowed = new Set<FlagName>([...flagsOf('plan'), 'dry-run']);
    const read = readFlags(
      argv,
      allowed,
      { command: 'plan', hint: 'See "controller plan --help" (controller --dry-run plans as plan does).' },
      env,
    );
    if (read.help) return { kind: 'help', topic: 'plan' };
    return { kind: 'command', command: 'plan', dryRunForm: true, ...read };
  }
  const read = readFlags(argv, globalFlags, { hint: globalHint }, env);
  if (read.help) return { kind: 'help' };
  if (read.values.version) return { kind: 'version' };
  return { kind: 'help' };
}

interface FlagToken {
  /** As written, without a value: `--dryrun`, `-f`, `-dry-run`. */
  typed: string;
  name?: FlagName;
  /** `--set=x` -> "x"; `-fDIR` -> "DIR". */
  inline?: string;
}

const isFlagToken = (token: string) => token.length > 1 && token.startsWith('-') && token !== '--';

function readFlagToken(token: string): FlagToken {
  if (token.startsWith('--')) {
    const body = token.slice(2);
    const eq = body.indexOf('=');
    const typedName = eq < 0 ? body : body.slice(0, eq);
    const name = (flagNames as string[]).includes(typedName) ? (typedName as FlagName) : undefined;
    return { typed: `--${typedName}`, ...(name ? { name } : {}), ...(eq < 0 ? {} : { inline: body.slice(eq + 1) }) };
  }
  const name = flagOfShort(token[1]);
  if (!name) return { typed: token.split('=')[0] };
  const rest = token.slice(2);
  return { typed: `-${token[1]}`, name, ...(rest ? { inline: rest.startsWith('=') ? rest.slice(1) : rest } : {}) };
}

interface ReadFlags {
  values: FlagValues;
  given: ReadonlySet<FlagName>;
  positionals: string[];
  help: boolean;
}

/**
 * Reads every token as `reader` takes it. The first problem is thrown after the whole line is
 * read, so that --help anywhere still shows the help.
 */
function readFlags(tokens: readonly string[], allowed: ReadonlySet<FlagName>, reader: Reader, env: Env): ReadFlags {
  const values = initialValues(env) as Record<FlagName, unknown>;
  const given = new Set<FlagName>();
  const positionals: string[] = [];
  let help = false;
  let problem: UsageError | undefined;
  const fail = (message: string) => (problem ??= new UsageError(message, reader.hint));
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === '--') {
      positionals.push(...tokens.slice(i + 1));
      break;
    }
    if (!isFlagToken(token)) {
      positionals.push(token);
      continue;
    }
    const flag = readFlagToken(token);
    if (!flag.name) {
      fail(unknownFlag(flag.typed, allowed, reader));
      continue;
    }
    const name = flag.name;
    const spec = flagSpec(name);
    let raw: string | undefined = flag.inline;
    if (spec.kind !== 'switch' && raw === undefined && i + 1 < tokens.length && !isFlagToken(tokens[i + 1]))
      raw = tokens[++i];
    if (!allowed.has(name)) {
      fail(notHere(flag.typed, name, reader));
      continue;
    }
    if (spec.kind === 'switch') {
      if (raw !== undefined && raw !== 'true' && raw !== 'false') {
        fail(`${flag.typed} takes no value (or =true, =false), not ${JSON.stringify(raw)}`);
        continue;
      }
      if (name === 'help') help ||= raw !== 'false';
      else values[name] = raw !== 'false';
      given.add(name);
      continue;
    }
    if (raw === undefined) {
      const next = tokens[i + 1];
      fail(
        `${flag.typed} needs a value (${spec.value})${next !== undefined ? `, not the flag ${next}; write ${flag.typed}=VALUE for a value that starts with "-"` : ''}`,
      );
      continue;
    }
    const only = reader.command ? commandSpec(reader.command).choices?.[name] : undefined;
    if (only && !only.includes(raw)) {
      const near = closest(raw, only);
      fail(
        `--${name} ${JSON.stringify(raw)} is not one of ${only.join(', ')}${near ? `; did you mean "${near}"?` : ''}`,
      );
      continue;
    }
    try {
      values[name] =
        spec.kind === 'list'
          ? [...(given.has(name) ? (values[name] as string[]) : []), raw]
          : spec.convert(raw, `--${name}`);
      given.add(name);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      fail(err.message);
    }
  }
  if (help) return { values: values as FlagValues, given, positionals, help };
  if (problem) throw problem;
  for (const c of conflictingFlags)
    if (given.has(c.flags[0]) && given.has(c.flags[1])) throw new UsageError(c.message, reader.hint);
  return { values: values as FlagValues, given, positionals, help };
}

function owners(flag: FlagName): string {
  const commands = commandsWithFlag(flag);
  return commands.length
    ? `an option of ${proseList(commands)}`
    : `an option of controller itself ("controller --${flag}")`;
}

function unknownFlag(typed: string, allowed: ReadonlySet<FlagName>, reader: Reader): string {
  const bare = typed.replace(/^-+/, '');
  const near = closest(bare, allowed) as FlagName | undefined;
  const elsewhere = near ? undefined : (closest(bare, flagNames) as FlagName | undefined);
  const suggestion = near
    ? `; did you mean --${near}?`
    : elsewhere
      ? `; did you mean --${elsewhere} (${owners(elsewhere)})?`
      : '';
  return `unknown flag ${typed}${reader.command ? ` for ${reader.command}` : ''}${suggestion}`;
}

function notHere(typed: string, name: FlagName, reader: Reader): string {
  if (reader.command) return `${typed} is ${owners(name)}, not of ${reader.command}`;
  const commands = commandsWithFlag(name);
  return `${typed} needs a command: it is an option of ${proseList(commands)}; write the command first, e.g. "controller ${commands[0]} ${typed} ..."`;
}

function unknownCommand(word: string): UsageError {
  const near = closest(word, commandNames);
  return new UsageError(
    `unknown command "${word}"${near ? `; did you mean "${near}"?` : `; commands: ${commandNames.join(', ')}`}`,
    globalHint,
  );
}

function helpTopic(positionals: string[]): { topic?: CommandName } {
  if (positionals.length > 1)
    throw new UsageError(`help takes one command, not ${positionals.length} arguments`, commandHint('help'));
  const [word] = positionals;
  if (word === undefined) return {};
  if (!isCommand(word)) throw unknownCommand(word);
  return { topic: word };
}

/** The command's arguments against its table entry: choices, required ones, no extras. */
function checkPositionals(command: CommandName, words: string[]): void {
  const hint = commandHint(command);
  let at = 0;
  for (const p of commandSpec(command).positionals) {
    if (p.variadic) {
      if (at >= words.length && p.missing) throw new UsageError(p.missing, hint);
      at = words.length;
      break;
    }
    const word = words[at];
    if (word === undefined) {
      if (p.missing) throw new UsageError(p.missing, hint);
      continue;
    }
    if (p.choices && !p.choices.includes(word)) {
      const near = closest(word, p.choices);
      throw new UsageError(
        `"controller ${command} ${word}" is not a command; ${near ? `did you mean "${near}"?` : `write one of: ${p.choices.join(', ')}`}`,
        hint,
      );
    }
    at++;
  }
  if (at < words.length) {
    const extra = words[at];
    const spec = commandSpec(command);
    const takes = spec.positionals.length
      ? `it takes ${spec.positionals.map((p) => p.name).join(' ')}`
      : `${command} takes no arguments`;
    const asFile = flagsOf(command).has('filename') ? `; did you mean "-f ${extra}"?` : '';
    throw new UsageError(`unexpected argument ${JSON.stringify(extra)}: ${takes}${asFile}`, hint);
  }
}
