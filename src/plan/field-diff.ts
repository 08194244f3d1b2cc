/**
 * Field-level difference of two canonical models: the manifest paths whose values differ,
 * with before and after. Maps are compared key by key, lists as wholes (their order is
 * already canonical), nested objects field by field. The values are the real ones: what is
 * shown is masked by render-mask.ts. Pure.
 */
import type { FieldChange } from './plan.js';
import { deepEqual } from './json-values.js';

/** Model fields that are maps of user keys: compared key by key. */
export const mapFields = new Set(['labels', 'env', 'containerLabels', 'options', 'sysctls', 'ulimits', 'unmanaged']);
/** Lists keyed by a unique field: compared entry by entry (`spec.secrets["db-password"].name`). */
const keyedLists: Record<string, string> = { secrets: 'target', configs: 'target' };

function byKey(list: unknown, key: string): unknown {
  if (!Array.isArray(list) || !list.every((x) => isPlainObject(x) && typeof x[key] === 'string')) return list;
  return Object.fromEntries(list.map((x) => [(x as Record<string, string>)[key], x]));
}

/** Where a model field lives in a manifest. */
export function manifestPath(topField: string, rest: string[]): string {
  if (topField === 'unmanaged') return `swarm:${rest.join('.')}`;
  const head = topField === 'labels' ? 'metadata.labels' : `spec.${topField}`;
  return head + rest.map((r) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(r) ? `.${r}` : `[${JSON.stringify(r)}]`)).join('');
}

export function diffModels(before: object | null, after: object | null): FieldChange[] {
  if (deepEqual(before, after)) return [];
  const out: FieldChange[] = [];
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  for (const field of union(Object.keys(b), Object.keys(a))) {
    if (mapFields.has(field)) {
      const bm = (b[field] ?? {}) as Record<string, unknown>;
      const am = (a[field] ?? {}) as Record<string, unknown>;
      for (const key of union(Object.keys(bm), Object.keys(am))) {
        if (deepEqual(bm[key], am[key])) continue;
        out.push({ path: manifestPath(field, [key]), before: bm[key] ?? null, after: am[key] ?? null });
      }
    } else if (keyedLists[field]) {
      diffValue(byKey(b[field] ?? [], keyedLists[field]), byKey(a[field] ?? [], keyedLists[field]), field, [], out);
    } else {
      diffValue(b[field], a[field], field, [], out);
    }
  }
  return out;
}

function diffValue(b: unknown, a: unknown, field: string, rest: string[], out: FieldChange[]): void {
  if (deepEqual(b, a)) return;
  if (isPlainObject(b) && isPlainObject(a)) {
    for (const k of union(Object.keys(b), Object.keys(a))) diffValue(b[k], a[k], field, [...rest, k], out);
    return;
  }
  out.push({ path: manifestPath(field, rest), before: b ?? null, after: a ?? null });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}
