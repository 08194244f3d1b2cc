/**
 * Checks one parsed document against the CRD schema of its kind (ajv) and turns every
 * schema error into a diagnostic with position, object, field and fix. Knows nothing of
 * other documents (cross-checks.ts) or of the Swarm.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { findKind, kinds, supportedApiVersions, type KindInfo } from '../api/schemas.js';
import * as precompiled from '../api/validators.generated.js';
import { diagnostic, type Diagnostic } from '../errors.js';
import { closest } from './suggest.js';
import { formatPath, preview, type FieldPath, type ManifestDocument } from './yaml-documents.js';

/** ajv validators compiled from the CRDs at `npm run gen` time (allErrors, verbose). */
function validatorFor(kind: KindInfo): ValidateFunction {
  const v = (precompiled as Record<string, unknown>)[`validate${kind.kind}`];
  if (typeof v !== 'function') throw new Error(`no precompiled validator for ${kind.kind}; run npm run gen`);
  return v as ValidateFunction;
}

export interface TypedDocument {
  kind: KindInfo;
  document: ManifestDocument;
}

export function objectLabel(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const kind = typeof value.kind === 'string' ? value.kind : 'object';
  const meta = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '(unnamed)';
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return `${kind} "${ns}${name}"`;
}

export function validateDocument(document: ManifestDocument): { typed?: TypedDocument; diagnostics: Diagnostic[] } {
  const value = document.value;
  const at = (path: FieldPath) => document.positionOf(path);
  if (!isRecord(value)) {
    return {
      diagnostics: [
        diagnostic('SC1004', `document ${document.index + 1} is ${describeValue(value)}, not a mapping`, {
          position: at([]),
          fix: 'each YAML document must be one object with apiVersion, kind, metadata and spec',
        }),
      ],
    };
  }
  const object = objectLabel(value);
  const apiVersion = value.apiVersion;
  if (typeof apiVersion !== 'string' || !supportedApiVersions.includes(apiVersion)) {
    return {
      diagnostics: [
        diagnostic(
          'SC2001',
          apiVersion === undefined ? 'apiVersion is missing' : `unknown apiVersion ${preview(apiVersion)}`,
          {
            position: at(['apiVersion']),
            object,
            field: 'apiVersion',
            fix: `use one of: ${supportedApiVersions.join(', ')}`,
          },
        ),
      ],
    };
  }
  const kindName = value.kind;
  const kind = typeof kindName === 'string' ? findKind(apiVersion, kindName) : undefined;
  if (!kind) {
    const names = kinds.filter((k) => k.apiVersion === apiVersion).map((k) => k.kind);
    const hint = typeof kindName === 'string' ? closest(kindName, names) : undefined;
    return {
      diagnostics: [
        diagnostic(
          'SC2002',
          kindName === undefined ? 'kind is missing' : `unknown kind ${preview(kindName)} in ${apiVersion}`,
          {
            position: at(['kind']),
            object,
            field: 'kind',
            fix: `${hint ? `did you mean "${hint}"? ` : ''}supported kinds: ${names.join(', ')}`,
          },
        ),
      ],
    };
  }
  const validate = validatorFor(kind);
  if (validate(value)) return { typed: { kind, document }, diagnostics: [] };
  const diagnostics = schemaDiagnostics(validate.errors ?? [], document, object);
  return { diagnostics };
}

function schemaDiagnostics(
  errors: ErrorObject[],
  document: ManifestDocument,
  object: string | undefined,
): Diagnostic[] {
  // For anyOf/oneOf keep only the summary: branch errors at or below the same path are noise.
  // A set and a walk up each path's ancestors: linear, where comparing every error with every
  // alternative was quadratic (45 000 wrong env values took minutes).
  const alternatives = new Set(
    errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath),
  );
  const underAlternative = (path: string): boolean => {
    for (let p = path; ; p = p.slice(0, p.lastIndexOf('/'))) {
      if (alternatives.has(p)) return true;
      if (p === '') return false;
    }
  };
  errors = errors.filter((e) => e.keyword !== 'if');
  const kept = errors.filter(
    (e) => e.keyword === 'anyOf' || e.keyword === 'oneOf' || !underAlternative(e.instancePath),
  );
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of kept) {
    const path = pointerToPath(e.instancePath);
    const d = describe(e, path);
    const fullPath = d.extra !== undefined ? [...path, d.extra] : path;
    const field = formatPath(fullPath);
    const key = `${field}|${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(
      diagnostic(d.code, d.message, {
        position: document.positionOf(fullPath),
        object,
        field: field || undefined,
        fix: d.fix,
      }),
    );
  }
  return out;
}

interface Described {
  code: Diagnostic['code'];
  message: string;
  fix: string;
  extra?: string;
}

function describe(e: ErrorObject, path: FieldPath): Described {
  const schema = (e.parentSchema ?? {}) as Record<string, unknown>;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const allowed = Object.keys((schema.properties as object | undefined) ?? {});
      const hint = closest(name, allowed);
      return {
        code: 'SC2003',
        extra: name,
        message: `unknown field ${preview(name)}`,
        fix: hint
          ? `did you mean "${hint}"?`
          : allowed.length
            ? `remove it; allowed fields here: ${allowed.join(', ')}`
            : 'remove it',
      };
    }
    case 'required': {
      const name = String(params.missingProperty);
      return { code: 'SC2004', message: `missing required field "${name}"`, fix: `add ${formatPath([...path, name])}` };
    }
    case 'type':
      return {
        code: 'SC2005',
        message: `must be ${article(String(params.type))}, not ${describeValue(e.data)}`,
        fix: typeFix(String(params.type), e.data),
      };
    case 'enum':
    case 'const': {
      const allowed = (e.keyword === 'enum' ? (params.allowedValues as unknown[]) : [params.allowedValue]).map((v) =>
        JSON.stringify(v),
      );
      const hint =
        typeof e.data === 'string'
          ? closest(
              e.data,
              allowed.map((a) => JSON.parse(a) as string).filter((a) => typeof a === 'string'),
            )
          : undefined;
      return {
        code: 'SC2006',
        message: `${preview(e.data)} is not allowed`,
        fix: `${hint ? `did you mean "${hint}"? ` : ''}use ${allowed.length > 1 ? 'one of ' : ''}${allowed.join(', ')}`,
      };
    }
    case 'pattern':
      return patternProblem(String(params.pattern), e.data, schema);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { code: 'SC2007', message: `${preview(e.data)} is out of range (${e.message})`, fix: rangeFix(schema) };
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
    case 'minProperties':
    case 'maxProperties':
      return { code: 'SC2007', message: `${e.message}`, fix: 'change the value to fit the limit' };
    case 'propertyNames': {
      const name = String(params.propertyName);
      return {
        code: 'SC2003',
        extra: name,
        message: `${preview(name)} cannot be set here together with the other fields`,
        fix: `remove ${preview(name)}; see docs/reference.md (${formatPath(path)})`,
      };
    }
    case 'anyOf':
    case 'oneOf': {
      const branches = (schema[e.keyword] as Record<string, unknown>[] | undefined) ?? [];
      const patterned = branches.find((b) => b.type === 'string' && typeof b.pattern === 'string');
      if (typeof e.data === 'string' && patterned)
        return patternProblem(patterned.pattern as string, e.data, patterned);
      const forms = ((schema[e.keyword] as Record<string, unknown>[] | undefined) ?? [])
        .map(describeSchema)
        .filter(Boolean);
      return {
        code: 'SC2005',
        message: `${describeValue(e.data)} matches none of the allowed forms`,
        fix: `write it as ${forms.join(' or ')}`,
      };
    }
    default:
      return { code: 'SC2008', message: e.message ?? 'invalid value', fix: 'see docs/reference.md for this field' };
  }
}

function patternProblem(pattern: string, data: unknown, schema: Record<string, unknown>): Described {
  const value = preview(data);
  if (pattern.includes('ns|us'))
    return {
      code: 'SC2008',
      message: `${value} is not a duration`,
      fix: 'write a duration like "10s", "1m30s" or "500ms"',
    };
  if (pattern.includes('Ki|Mi')) {
    const lower = typeof data === 'string' && /^[0-9.]+[kmg]b?$/i.test(data);
    return {
      code: 'SC2008',
      message: `${value} is not a memory size`,
      fix: lower
        ? `units are case-sensitive: write "${String(data)
            .replace(/b$/i, '')
            .replace(
              /[kmg]$/i,
              (u) => ({ k: 'Ki', m: 'Mi', g: 'Gi' })[u.toLowerCase()]!,
            )}" for binary units (Ki, Mi, Gi) or use k, M, G for powers of ten`
        : 'write a size like "256Mi", "1Gi" or a number of bytes',
    };
  }
  if (pattern.includes('[0-9]+m'))
    return {
      code: 'SC2008',
      message: `${value} is not a CPU count`,
      fix: 'write CPUs like "0.5", "2" or "500m" (millicores)',
    };
  if (pattern.startsWith('^[a-z0-9]'))
    return {
      code: 'SC3006',
      message: `${value} is not a valid name`,
      fix: 'use lower-case letters, digits and "-", starting and ending with a letter or digit (at most 63 characters)',
    };
  if (pattern.startsWith('^[a-zA-Z0-9]([-_a-zA-Z0-9]*'))
    return {
      code: 'SC3006',
      message: `${value} is not a name Swarm accepts`,
      fix: 'use letters, digits, "-" and "_", starting and ending with a letter or digit (Swarm names must be valid DNS name components)',
    };
  if (pattern.startsWith('^[a-zA-Z0-9][-_.a-zA-Z0-9]*'))
    return {
      code: 'SC3006',
      message: `${value} is not a name Swarm accepts`,
      fix: 'use letters, digits, "-", "_" and ".", starting with a letter or digit',
    };
  const what = typeof schema.description === 'string' ? ` (${firstSentence(schema.description)})` : '';
  return { code: 'SC2008', message: `${value} is malformed${what}`, fix: `it must match ${pattern}` };
}

/** The first sentence of a description; "e.g." and "i.e." do not end one. */
export function firstSentence(text: string): string {
  const end = text.search(/(?<!\b(?:e\.g|i\.e))\.(\s|$)/);
  return end < 0 ? text : text.slice(0, end);
}

function rangeFix(schema: Record<string, unknown>): string {
  const bound = (v: unknown) => (typeof v === 'number' ? String(v) : undefined);
  const lo = bound(schema.minimum ?? schema.exclusiveMinimum);
  const hi = bound(schema.maximum ?? schema.exclusiveMaximum);
  if (lo !== undefined && hi !== undefined) return `use a value from ${lo} to ${hi}`;
  if (lo !== undefined) return `use a value of at least ${lo}`;
  return `use a value of at most ${hi ?? '?'}`;
}

function describeSchema(s: Record<string, unknown>): string {
  if (typeof s.description === 'string' && s.type === undefined) return s.description;
  if (s.type === 'string' && typeof s.pattern === 'string') return `a string like ${examplesFor(s.pattern)}`;
  if (typeof s.type === 'string') return article(s.type);
  if (s.properties) return 'a mapping';
  return 'another form';
}

function examplesFor(pattern: string): string {
  if (pattern.includes('Ki|Mi')) return '"256Mi"';
  if (pattern.includes('[0-9]+m')) return '"0.5" or "500m"';
  if (pattern.includes('ns|us')) return '"10s"';
  return `/${pattern}/`;
}

function typeFix(expected: string, data: unknown): string {
  if (
    (expected === 'integer' || expected === 'number') &&
    typeof data === 'string' &&
    data.trim() !== '' &&
    !Number.isNaN(Number(data))
  )
    return `remove the quotes: ${preview(data.trim(), 80, false)}`;
  if (expected === 'boolean' && (data === 'true' || data === 'false')) return `remove the quotes: ${data}`;
  if (expected === 'string' && (typeof data === 'number' || typeof data === 'boolean'))
    return `quote it: "${String(data)}"`;
  if (expected === 'array') return 'write a YAML list (each item on its own line starting with "- ")';
  if (expected === 'object') return 'write a mapping of field: value pairs';
  return `write ${article(expected)}`;
}

function article(type: string): string {
  const t = type.split(',').join(' or ');
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${preview(v)}`;
}

function pointerToPath(pointer: string): FieldPath {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
