/**
 * The variables the command line gives (docs/variables.md): `--var NAME=VALUE`, `--var-file
 * FILE` and `--secret-var-file FILE`, files in the dotenv format, made into the
 * ManifestVariables that src/manifest/variables.ts substitutes. Later sources override earlier
 * ones: the --var-file files in order, then the --secret-var-file files, then each --var. A
 * name set by a secret file stays secret whatever overrides it. A name twice in one file or in
 * two --var is a mistake and refused. The one place that reads variable files; parsing is pure.
 *
 * The format, one variable a line: `NAME=VALUE`, optionally after `export `; blank lines and
 * lines starting with `#` are skipped. VALUE unquoted is trimmed, and a ` #` starts a comment;
 * in single quotes it is taken literally; in double quotes `\n`, `\t`, `\"` and `\\` are
 * escapes. No `$` is expanded in a value (a value is text, not a template).
 */
import { readFile } from 'node:fs/promises';
import { diagnostic, type Diagnostic } from '../errors.js';
import { variableNamePattern } from './variable-syntax.js';
import type { ManifestVariables } from './variables.js';

export interface VariableArguments {
  /** --var NAME=VALUE, in order. */
  vars: readonly string[];
  /** --var-file FILE, in order. */
  files: readonly string[];
  /** --secret-var-file FILE, in order: every value secret. */
  secretFiles: readonly string[];
}

export interface ParsedVariables {
  values: Map<string, { value: string; line: number }>;
  diagnostics: Diagnostic[];
}

/** Variable files are a few lines; a bigger one is the wrong file. */
const maxFileBytes = 1024 * 1024;

const fix = 'write one NAME=VALUE a line (NAME: letters, digits and underscores, not starting with a digit)';

/** Parses the text of a variable file; problems name the file, line and column. */
export function parseVariableFile(text: string, file: string): ParsedVariables {
  const values = new Map<string, { value: string; line: number }>();
  const diagnostics: Diagnostic[] = [];
  const problem = (line: number, column: number, message: string, how = fix) =>
    diagnostics.push(diagnostic('SC1204', message, { position: { file, line, column }, fix: how }));
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = i + 1;
      const trimmed = raw.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return;
      const body = raw.replace(/^\s*(export\s+)?/, '');
      const column = raw.length - body.length + 1;
      const eq = body.indexOf('=');
      if (eq < 0) return problem(line, column, 'the line has no "="'); // the line is not shown: it may be a secret
      const name = body.slice(0, eq).trim();
      if (!variableNamePattern.test(name)) return problem(line, column, `${show(name)} is not a variable name`);
      const value = parseValue(body.slice(eq + 1));
      if (typeof value !== 'string') return problem(line, column + eq + 1, value.message, value.fix);
      const first = values.get(name);
      if (first)
        return problem(line, column, `${name} is set twice (first at line ${first.line})`, 'keep one of the two lines');
      values.set(name, { value, line });
    });
  return { values, diagnostics };
}

function parseValue(rest: string): string | { message: string; fix: string } {
  const text = rest.trim();
  const quote = text[0];
  if (quote !== '"' && quote !== "'") return text.replace(/\s+#.*$/, '');
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (c === quote) {
      const after = text.slice(i + 1).trim();
      if (after && !after.startsWith('#'))
        return { message: 'text after the closing quote', fix: 'put the whole value inside the quotes' };
      return out;
    }
    if (quote === '"' && c === '\\' && i + 1 < text.length) {
      const next = text[++i];
      out += next === 'n' ? '\n' : next === 't' ? '\t' : next === 'r' ? '\r' : next;
      continue;
    }
    out += c;
  }
  return {
    message: `the value's ${quote === '"' ? 'double' : 'single'} quote is not closed`,
    fix: 'close the quote on the same line; write a newline in double quotes as \\n',
  };
}

function show(s: string): string {
  const json = JSON.stringify(s);
  return json.length > 60 ? `${json.slice(0, 60)}…` : json;
}

/** A `--var NAME=VALUE` argument, checked. */
export function parseVarArgument(raw: string): { name: string; value: string } | { message: string } {
  const eq = raw.indexOf('=');
  const name = eq < 0 ? raw : raw.slice(0, eq);
  if (eq < 0) return { message: `--var ${show(raw)} has no "="` };
  if (!variableNamePattern.test(name)) return { message: `--var ${show(raw)}: ${show(name)} is not a variable name` };
  return { name, value: raw.slice(eq + 1) };
}

/** Reads the files and checks the arguments; without any problem, the variables to substitute. */
export async function readVariables(
  args: VariableArguments,
  read: (path: string) => Promise<Buffer> = readFile,
): Promise<{ variables: ManifestVariables; diagnostics: Diagnostic[] }> {
  const values: Record<string, string> = {};
  const secret = new Set<string>();
  const diagnostics: Diagnostic[] = [];
  const files = [
    ...args.files.map((path) => ({ path, secret: false })),
    ...args.secretFiles.map((path) => ({ path, secret: true })),
  ];
  for (const { path, secret: isSecret } of files) {
    const flag = isSecret ? '--secret-var-file' : '--var-file';
    let text: string;
    try {
      const bytes = await read(path);
      if (bytes.length > maxFileBytes) {
        diagnostics.push(
          diagnostic('SC1204', `${flag} ${path} is ${bytes.length} bytes; a variable file holds a few lines`, {
            position: { file: path, line: 1, column: 1 },
            fix: 'check the path',
          }),
        );
        continue;
      }
      text = bytes.toString('utf8');
    } catch (err) {
      diagnostics.push(
        diagnostic('SC1204', `${flag} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, {
          fix: 'check the path and its permissions',
        }),
      );
      continue;
    }
    const parsed = parseVariableFile(text, path);
    for (const d of parsed.diagnostics) diagnostics.push(d);
    for (const [name, { value }] of parsed.values) {
      values[name] = value;
      if (isSecret) secret.add(name); // once secret, always hidden, whatever overrides the value
    }
  }
  const given = new Set<string>();
  for (const raw of args.vars) {
    const parsed = parseVarArgument(raw);
    if ('message' in parsed) {
      diagnostics.push(
        diagnostic('SC1204', parsed.message, {
          fix: 'write --var NAME=VALUE (NAME: letters, digits and underscores, not starting with a digit)',
        }),
      );
      continue;
    }
    if (given.has(parsed.name)) {
      diagnostics.push(diagnostic('SC1204', `--var ${parsed.name} is given twice`, { fix: 'give it once' }));
      continue;
    }
    given.add(parsed.name);
    values[parsed.name] = parsed.value;
  }
  return {
    variables: { values, secret, setWith: '--var NAME=VALUE, --var-file or --secret-var-file' },
    diagnostics,
  };
}
