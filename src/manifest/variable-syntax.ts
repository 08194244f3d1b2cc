/**
 * The syntax of variable references in manifest values, and nothing else: a string is split
 * into literal text and references. Pure; knows no variables, files or positions beyond
 * indexes into the string it was given.
 *
 *   ${NAME}            the variable's value; an error when it is not set
 *   ${NAME:-default}   the default (taken literally, up to the first `}`) when NAME is unset or empty
 *   ${NAME:?message}   an error with that message when NAME is unset or empty
 *   $${NAME}           the literal text ${NAME} (only `$${` is an escape; `$$` and `$NAME` stay as written)
 *
 * Everything else inside `${...}` is refused with a fix: `:=` (assignment means nothing here),
 * the other shell forms (`-`, `=`, `?`, `+`, `:+`, `#`, `%`, `/`, `^`, `,`, substrings) and a
 * nested `${` in a default. A `$` not followed by `{` is text, so shell scripts with `$HOME`
 * or `$1` keep working.
 */

export interface VariableReference {
  name: string;
  /** `${NAME:-default}`: the default. */
  default?: string;
  /** `${NAME:?message}`: the message. */
  required?: string;
  /** The reference as written, e.g. `${TAG:-latest}`. */
  text: string;
  /** Index of its `$` in the string. */
  index: number;
}

export interface ReferenceProblem {
  message: string;
  fix: string;
  /** Index of the `$` that starts the bad reference. */
  index: number;
  /** The text concerned, as written (cut at the end of the string when unclosed). */
  text: string;
}

export type TemplatePiece = string | VariableReference;

export interface Template {
  /** Literal text (escapes already undone) and references, in order. */
  pieces: TemplatePiece[];
  problems: ReferenceProblem[];
  /** Whether the string holds a reference or an escape, i.e. whether substitution changes it. */
  active: boolean;
}

const namePattern = /^[A-Za-z_][A-Za-z0-9_]*/;
export const variableNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits `text` into literal pieces and references. */
export function parseTemplate(text: string): Template {
  const pieces: TemplatePiece[] = [];
  const problems: ReferenceProblem[] = [];
  let literal = '';
  let active = false;
  let i = 0;
  for (;;) {
    const at = text.indexOf('$', i);
    if (at < 0) break;
    if (text.startsWith('$${', at)) {
      literal += text.slice(i, at) + '${';
      i = at + 3;
      active = true;
      continue;
    }
    if (text[at + 1] !== '{') {
      literal += text.slice(i, at + 1);
      i = at + 1;
      continue;
    }
    literal += text.slice(i, at);
    active = true;
    const close = text.indexOf('}', at + 2);
    if (close < 0) {
      problems.push({
        index: at,
        text: text.slice(at),
        message: `"${cut(text.slice(at))}" is not closed by "}"`,
        fix: 'close the reference with "}", or write "$${" for a literal "${"',
      });
      i = text.length;
      break;
    }
    const written = text.slice(at, close + 1);
    const parsed = parseBody(text.slice(at + 2, close));
    if ('message' in parsed) problems.push({ ...parsed, index: at, text: written });
    else {
      if (literal) pieces.push(literal);
      literal = '';
      pieces.push({ ...parsed, text: written, index: at });
    }
    i = close + 1;
  }
  literal += text.slice(i);
  if (literal) pieces.push(literal);
  return { pieces, problems, active };
}

function parseBody(body: string): Omit<VariableReference, 'text' | 'index'> | { message: string; fix: string } {
  const name = namePattern.exec(body)?.[0];
  if (!name)
    return {
      message: `"\${${cut(body)}}" does not start with a variable name`,
      fix: 'write ${NAME} with NAME made of letters, digits and underscores, not starting with a digit; or "$${" for a literal "${"',
    };
  const rest = body.slice(name.length);
  if (rest === '') return { name };
  const operator = rest.slice(0, 2);
  const argument = rest.slice(2);
  if (operator === ':-' || operator === ':?') {
    if (argument.includes('${'))
      return {
        message: `"\${${cut(body)}}" nests a reference in its ${operator === ':-' ? 'default' : 'message'}`,
        fix: `references do not nest; give ${name} a value, or a literal default`,
      };
    return operator === ':-' ? { name, default: argument } : { name, required: argument };
  }
  if (operator === ':=')
    return {
      message: `"\${${cut(body)}}" assigns a default; manifests cannot assign variables`,
      fix: `write \${${name}:-${cut(argument, 40)}} to use the default when ${name} is unset or empty`,
    };
  return {
    message: `"\${${cut(body)}}" is not a supported reference`,
    fix: `write \${${name}}, \${${name}:-default} or \${${name}:?message}; or "$\${" for a literal "\${"`,
  };
}

/** Text for a message: JSON escapes for anything unprintable, cut to `max` characters. */
function cut(s: string, max = 60): string {
  const shown = JSON.stringify(s).slice(1, -1);
  return shown.length > max ? `${shown.slice(0, max)}…` : shown;
}

/** The text written so that substitution gives it back unchanged: every `${` as `$${`. */
export function escapeReferences(text: string): string {
  return text.split('${').join('$${');
}
