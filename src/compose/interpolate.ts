/**
 * Variable interpolation in compose values, as `docker stack deploy` does it: `$VAR`, `${VAR}`,
 * `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+other}`,
 * `${VAR+other}`, and `$$` for a literal `$`. Like stack deploy, an expression ends at the first
 * `}` and its default is taken literally (no nested `${...}`). Values come from the given
 * environment only (stack deploy reads no `.env` file). Strings are replaced in place, so the
 * positions recorded by yaml-tree.ts stay valid. Keys are not interpolated.
 */
import { diagnostic, type Diagnostic } from '../errors.js';
import { isMapValue, posOf, type Tree } from './yaml-tree.js';

export type Environment = Record<string, string | undefined>;

export class InterpolationError extends Error {}

/** Interpolates one string; unset variables without a default are reported through `unset`. */
export function interpolateString(text: string, env: Environment, unset: (name: string) => void = () => {}): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    const name = /^[_a-zA-Z][_a-zA-Z0-9]*/.exec(text.slice(i + 1));
    if (name) {
      out += lookup(name[0], env, unset);
      i += 1 + name[0].length;
      continue;
    }
    if (next !== '{')
      throw new InterpolationError(
        `"$" must be followed by a variable name or "{"; write "$$" for a literal dollar sign`,
      );
    // as in docker stack deploy, the expression ends at the first "}": defaults are not nested
    const end = text.indexOf('}', i + 2);
    if (end < 0) throw new InterpolationError(`"\${" is not closed by "}"`);
    out += braced(text.slice(i + 2, end), env, unset);
    i = end + 1;
  }
  return out;
}

function braced(body: string, env: Environment, unset: (name: string) => void): string {
  const m = /^([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
  if (!m)
    throw new InterpolationError(
      `"\${${body}}" is not a valid substitution; write \${NAME}, \${NAME:-default} or \${NAME:?message}`,
    );
  const [, name, op, rest = ''] = m as unknown as [string, string, string | undefined, string | undefined];
  const value = env[name];
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  const present = op?.startsWith(':') ? nonEmpty : set;
  switch (op) {
    case undefined:
      return lookup(name, env, unset);
    case ':-':
    case '-':
      return present ? value! : rest;
    case ':+':
    case '+':
      return present ? rest : '';
    default: {
      if (present) return value!;
      const message = rest;
      throw new InterpolationError(
        `required variable ${name} is ${set ? 'empty' : 'not set'}${message ? `: ${message}` : ''}`,
      );
    }
  }
}

function lookup(name: string, env: Environment, unset: (name: string) => void): string {
  const v = env[name];
  if (v === undefined) {
    unset(name);
    return '';
  }
  return v;
}

/** Interpolates every string of a parsed compose file in place; returns the problems found. */
export function interpolateTree(root: Tree, env: Environment, fieldPath: string[] = []): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const visit = (container: Tree[] | { [k: string]: Tree }, key: string | number, path: string[]) => {
    const v = (container as Record<string | number, Tree>)[key]!;
    if (typeof v === 'string') {
      if (!v.includes('$')) return;
      const field = path.join('.');
      try {
        (container as Record<string | number, Tree>)[key] = interpolateString(v, env, (name) => {
          diagnostics.push(
            diagnostic('SC6002', `variable ${name} is not set; an empty string is used`, {
              severity: 'warning',
              position: posOf(container, key),
              field,
              fix: `set ${name} in the environment, or write \${${name}:-default} or \${${name}:?message}`,
            }),
          );
        });
      } catch (err) {
        if (!(err instanceof InterpolationError)) throw err;
        diagnostics.push(
          diagnostic('SC6001', err.message, {
            position: posOf(container, key),
            field,
            fix: err.message.startsWith('required')
              ? 'set the variable in the environment before importing'
              : 'fix the substitution, or write "$$" for a literal "$"',
          }),
        );
      }
    } else if (Array.isArray(v))
      v.forEach((_, i) => visit(v, i, [...path.slice(0, -1), `${path[path.length - 1]}[${i}]`]));
    else if (isMapValue(v)) for (const k of Object.keys(v)) visit(v, k, [...path, k]);
  };
  const holder = { root };
  if (isMapValue(root)) for (const k of Object.keys(root)) visit(root, k, [...fieldPath, k]);
  else visit(holder, 'root', fieldPath);
  return diagnostics;
}
