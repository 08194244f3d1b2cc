/**
 * Checks a configuration object (notification receivers, sync windows) against its JSON Schema
 * and turns each ajv error into a diagnostic naming the field (`notifications.receivers[1].url`)
 * with a fix. Used where the object comes from flags or, later, from a manifest whose loader
 * passes a position for a field path. Compiles each schema once. No I/O.
 */

import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { diagnostic, type Diagnostic, type ErrorCode, type SourcePosition } from '../errors.js';

const require = createRequire(import.meta.url);
let ajvInstance: Ajv | undefined;
/**
 * ajv's compiler (about 60 modules), loaded on the first check: a manifest set without sync
 * windows or notifications never needs it (the no-op apply's start-up).
 */
const ajv = (): Ajv =>
  (ajvInstance ??= new (require('ajv') as { Ajv: typeof Ajv }).Ajv({
    allErrors: true,
    strict: true,
    useDefaults: false,
  }));
const compiled = new WeakMap<object, ValidateFunction>();

export interface CheckContext {
  code: ErrorCode;
  /** The field path of the object checked, e.g. "notifications" or "spec.syncWindows". */
  field: string;
  /** Where a field path is in a file, when the object came from one. */
  position?: (field: string) => SourcePosition | undefined;
}

/** Every problem ajv finds, as diagnostics; empty when the value is valid. */
export function schemaProblems(schema: object, value: unknown, ctx: CheckContext): Diagnostic[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv().compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const e of validate.errors ?? []) {
    const field = fieldPath(ctx.field, e.instancePath, e);
    const { message, fix } = explain(e);
    const key = `${field}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(problem(ctx, field, message, fix));
  }
  return out;
}

/** A diagnostic at a field of the checked object. */
export function problem(ctx: CheckContext, field: string, message: string, fix?: string): Diagnostic {
  return diagnostic(ctx.code, message, { field, fix, position: ctx.position?.(field) });
}

/** `base` + an ajv instance path ("/receivers/1/url") as "base.receivers[1].url". */
export function fieldPath(base: string, instancePath: string, e?: ErrorObject): string {
  let out = base;
  for (const raw of instancePath.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out ? `.${seg}` : seg;
  }
  if (e?.keyword === 'required') out += `${out ? '.' : ''}${String(e.params.missingProperty)}`;
  if (e?.keyword === 'additionalProperties') out += `${out ? '.' : ''}${String(e.params.additionalProperty)}`;
  return out;
}

function explain(e: ErrorObject): { message: string; fix?: string } {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { message: 'is required', fix: `add ${String(p.missingProperty)}` };
    case 'additionalProperties':
      return { message: 'is not a known field', fix: 'remove it or check its spelling' };
    case 'enum':
      return {
        message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
        fix: 'use one of the values listed',
      };
    case 'type':
      return { message: `must be a ${String(p.type)}` };
    case 'pattern':
      return { message: `does not have the expected form (${String(p.pattern)})` };
    default:
      return { message: e.message ?? `fails ${e.keyword}` };
  }
}
