/**
 * Variables in manifests: `${NAME}` and `${NAME:-default}` (syntax in variable-syntax.ts)
 * replaced in the parsed documents, between parsing (and SOPS decryption) and schema
 * validation. The entry point for every caller: the CLI (--var, --var-file) and `controller
 * run` (an App's variables and variablesFrom) give a plain map of values and the names whose
 * values are secret; how they got them is theirs.
 *
 * Substitution works on scalar values after parsing, never on the text: a value can only
 * become another scalar, so no variable can add a key, a list item or a document, and every
 * position the parser recorded stays exact. A plain (unquoted) scalar is typed again after
 * substitution as YAML's core schema types it (`replicas: ${N}` with N=3 is the number 3,
 * `"${N}"` the string "3"). Keys are never substituted (a reference in a key is an error), nor
 * are values that were SOPS-encrypted (a decrypted password may hold `${`).
 *
 * Paths that received a secret variable's value are recorded on the document
 * (`secretVariables`), and from there are hidden exactly as SOPS-encrypted fields are: masked
 * in plans (src/plan/render-mask.ts), redacted from text and diagnostics
 * (src/manifest/sops-documents.ts). Pure: no I/O.
 */
import { diagnostic, type Diagnostic, type SourcePosition } from '../errors.js';
import { isIdentityField } from './sops-documents.js';
import { objectLabel } from './schema-validation.js';
import { parseTemplate, type VariableReference } from './variable-syntax.js';
import { formatPath, type FieldPath, type ManifestDocument, type ScalarSource } from './yaml-documents.js';

export interface ManifestVariables {
  /** The values, by variable name. */
  values: Readonly<Record<string, string>>;
  /** The names whose values are secret: never shown in plans, status, logs or messages. */
  secret?: Iterable<string>;
  /**
   * Where a variable is set, for the fix of an unset one, e.g. "--var or --var-file" or
   * "the App's spec.variables or variablesFrom".
   */
  setWith?: string;
}

export interface Substituted {
  /** The documents with their values substituted; a document with a problem keeps its value as written. */
  documents: ManifestDocument[];
  diagnostics: Diagnostic[];
  /**
   * Fields whose substitution failed, by file, as `formatPath` writes them: later checks of
   * these fields (a schema error on the unsubstituted text) add nothing and are dropped.
   */
  failed: Map<string, Set<string>>;
}

/** The values of the secret variables, for redacting any text that might still hold one. */
export function secretVariableValues(variables: ManifestVariables | undefined): string[] {
  if (!variables?.secret) return [];
  const out: string[] = [];
  for (const name of variables.secret)
    if (Object.hasOwn(variables.values, name) && variables.values[name] !== '') out.push(variables.values[name]);
  return out;
}

/** Substitutes the variables in every document (no variables: defaults apply and any other reference is unset). */
export function substituteVariables(
  documents: ManifestDocument[],
  variables: ManifestVariables = { values: {} },
  mayHaveVariables: (doc: ManifestDocument) => boolean = () => true,
): Substituted {
  const secret = new Set(variables.secret ?? []);
  const diagnostics: Diagnostic[] = [];
  const failed = new Map<string, Set<string>>();
  const out = documents.map((doc) => {
    if (!mayHaveVariables(doc)) return doc;
    const r = substituteDocument(doc, variables, secret);
    for (const d of r.diagnostics) diagnostics.push(d);
    if (r.failed.length) {
      const set = failed.get(doc.file) ?? new Set<string>();
      for (const p of r.failed) set.add(formatPath(p));
      failed.set(doc.file, set);
    }
    if (!r.changed) return doc;
    return {
      ...doc,
      value: r.value,
      ...(r.secretPaths.length ? { secretVariables: [...(doc.secretVariables ?? []), ...r.secretPaths] } : {}),
    };
  });
  return { documents: out, diagnostics, failed };
}

interface DocumentResult {
  value: unknown;
  changed: boolean;
  secretPaths: FieldPath[];
  failed: FieldPath[];
  diagnostics: Diagnostic[];
}

function substituteDocument(doc: ManifestDocument, variables: ManifestVariables, secret: Set<string>): DocumentResult {
  const result: DocumentResult = { value: doc.value, changed: false, secretPaths: [], failed: [], diagnostics: [] };
  const encrypted = new Set((doc.encrypted ?? []).map(formatPath));
  const report = (
    code: 'SC1201' | 'SC1202' | 'SC1203',
    path: FieldPath,
    message: string,
    fix: string,
    position?: SourcePosition,
  ) =>
    result.diagnostics.push(
      diagnostic(code, message, { position: position ?? doc.positionOf(path), fix, field: formatPath(path) }),
    );

  const walk = (value: unknown, path: FieldPath): unknown => {
    if (typeof value === 'string') return encrypted.has(formatPath(path)) ? value : substituteString(value, path);
    if (Array.isArray(value)) {
      const items = value as unknown[];
      let copy: unknown[] | undefined;
      items.forEach((item, i) => {
        const next = walk(item, [...path, i]);
        if (next !== item) (copy ??= [...items])[i] = next;
      });
      return copy ?? value;
    }
    if (value !== null && typeof value === 'object') {
      let copy: Record<string, unknown> | undefined;
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('${'))
          report(
            'SC1203',
            [...path, key],
            'variables are not substituted in keys',
            'keep keys literal and put the variable in the value; write "$${" in a value for a literal "${"',
          );
        const next = walk(item, [...path, key]);
        if (next !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = next;
      }
      return copy ?? value;
    }
    return value;
  };

  const substituteString = (text: string, path: FieldPath): unknown => {
    if (!text.includes('$')) return text;
    const template = parseTemplate(text);
    if (!template.active) return text;
    let scalar: ScalarSource | undefined | null = null;
    const source = () => (scalar === null ? (scalar = doc.scalarAt?.(path)) : scalar);
    const at = (index: number, written: string) => referencePosition(source(), text, index, written);
    let ok = true;
    for (const p of template.problems) {
      ok = false;
      report('SC1202', path, p.message, p.fix, at(p.index, p.text));
    }
    let out = '';
    let usedSecret = false;
    for (const piece of template.pieces) {
      if (typeof piece === 'string') {
        out += piece;
        continue;
      }
      const resolved = resolve(piece, variables);
      if ('message' in resolved) {
        ok = false;
        report('SC1201', path, resolved.message, resolved.fix, at(piece.index, piece.text));
        continue;
      }
      if (resolved.fromVariable && secret.has(piece.name)) {
        usedSecret = true;
        if (isIdentityField(path)) {
          ok = false;
          report(
            'SC1203',
            path,
            `the secret variable ${piece.name} cannot be used in ${formatPath(path)}: it becomes a Swarm name or label shown everywhere`,
            `use a variable that is not secret here, or put the secret in the value of a field such as spec.env`,
            at(piece.index, piece.text),
          );
          continue;
        }
      }
      out += resolved.value;
    }
    if (!ok) {
      result.failed.push(path);
      return text;
    }
    result.changed = true;
    if (usedSecret) result.secretPaths.push(path);
    return source()?.plain ? coreScalar(out) : out;
  };

  result.value = walk(doc.value, []);
  const object = objectLabel(result.value); // named as substituted, where that worked
  if (object) result.diagnostics = result.diagnostics.map((d) => ({ ...d, object }));
  return result;
}

function resolve(
  ref: VariableReference,
  variables: ManifestVariables,
): { value: string; fromVariable: boolean } | { message: string; fix: string } {
  const set = Object.hasOwn(variables.values, ref.name) ? variables.values[ref.name] : undefined;
  if (ref.default !== undefined)
    return set === undefined || set === ''
      ? { value: ref.default, fromVariable: false }
      : { value: set, fromVariable: true };
  if (ref.required !== undefined) {
    if (set !== undefined && set !== '') return { value: set, fromVariable: true };
    return {
      message: `the variable ${ref.name} is ${set === undefined ? 'not set' : 'empty'}${ref.required ? `: ${ref.required}` : ''}`,
      fix: `set ${ref.name} with ${variables.setWith ?? 'the variables given to the controller'}`,
    };
  }
  if (set !== undefined) return { value: set, fromVariable: true };
  return {
    message: `the variable ${ref.name} is not set`,
    fix: `set ${ref.name} with ${variables.setWith ?? 'the variables given to the controller'}, or write \${${ref.name}:-default} to give it a default (or $\${${ref.name}} for the literal text)`,
  };
}

/**
 * Where the reference that starts at `index` of the value stands in the file: found in the
 * scalar's source text (references have no escapes in YAML, so they are written as they
 * read); the scalar's own position when it cannot be found (a reference broken over lines,
 * escaped characters), and none (the caller's field position) without a scalar.
 */
function referencePosition(
  scalar: ScalarSource | undefined,
  value: string,
  index: number,
  written: string,
): SourcePosition | undefined {
  if (!scalar) return undefined;
  // The same reference may be written several times: take the occurrence of the same rank.
  let rank = 0;
  for (let i = value.indexOf(written); i >= 0 && i < index; i = value.indexOf(written, i + 1))
    if (value[i - 1] !== '$') rank++; // `$${...}` is an escape, not a reference
  let found = -1;
  for (let i = scalar.source.indexOf(written); i >= 0; i = scalar.source.indexOf(written, i + 1)) {
    if (scalar.source[i - 1] === '$') continue; // `$${...}`, an escape
    if (rank-- === 0) {
      found = i;
      break;
    }
  }
  return scalar.positionAt(found >= 0 ? found : 0);
}

/** A plain scalar's value by YAML 1.2's core schema (10.3.2): null, booleans, integers, floats, else the string. */
export function coreScalar(text: string): unknown {
  if (/^(|~|null|Null|NULL)$/.test(text)) return null;
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?[0-9]+$/.test(text)) return Number.parseInt(text, 10);
  if (/^0o[0-7]+$/.test(text)) return Number.parseInt(text.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return Number.parseInt(text.slice(2), 16);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number.parseFloat(text);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(text)) return NaN;
  return text;
}
