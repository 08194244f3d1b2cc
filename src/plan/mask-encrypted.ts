/**
 * Hides the values of SOPS-encrypted manifest fields in a plan, as secret-looking env values
 * are hidden: a field change under an encrypted field is marked sensitive with its values
 * replaced, and the same values are replaced in the change's before and after models. A map
 * entry (`spec.env.DB_URL`, `metadata.labels.x`) is hidden alone; any other field is hidden
 * whole (`spec.command` when one argument was encrypted); a field the model does not hold
 * under its manifest name hides the whole change. A Config's or Secret's `spec.data` needs
 * nothing: plans only ever show its hash and size. Pure; returns a new plan for display, the
 * plan that is executed stays as it was.
 */
import { mapFields, manifestPath } from './field-diff.js';
import type { Change, FieldChange, Plan } from './plan.js';

export const sensitiveMark = '(sensitive)';

/** Manifest paths of encrypted values (as src/manifest/sops-documents.ts records them), by change id. */
export type EncryptedFields = Map<string, (string | number)[][]>;

type Mask = { field: string; key?: string } | 'all';

function masksOf(change: Change, paths: (string | number)[][]): Mask[] {
  const out: Mask[] = [];
  for (const p of paths) {
    if (p[0] === 'metadata' && p[1] === 'labels' && p.length >= 3) out.push({ field: 'labels', key: String(p[2]) });
    else if (p[0] === 'metadata') out.push({ field: 'labels' });
    else if (p[0] === 'spec' && p.length >= 2) {
      const field = String(p[1]);
      if (field === 'data' && (change.kind === 'Config' || change.kind === 'Secret')) continue;
      out.push(mapFields.has(field) && p.length >= 3 ? { field, key: String(p[2]) } : { field });
    } else out.push('all');
  }
  const models = [change.before, change.after].filter((m): m is Record<string, unknown> => isRecord(m));
  return out.map((m) => (m !== 'all' && models.length && !models.some((model) => m.field in model) ? 'all' : m));
}

function hides(mask: Mask, path: string): boolean {
  if (mask === 'all') return true;
  if (mask.key !== undefined) return path === manifestPath(mask.field, [mask.key]);
  const head = manifestPath(mask.field, []);
  return path === head || path.startsWith(head + '.') || path.startsWith(head + '[');
}

function maskValue(v: unknown): unknown {
  return v === null || v === undefined ? null : sensitiveMark;
}

function maskModel(model: unknown, masks: Mask[]): unknown {
  if (!isRecord(model)) return model;
  const out: Record<string, unknown> = { ...model };
  for (const m of masks) {
    if (m === 'all') {
      for (const k of Object.keys(out)) out[k] = maskValue(out[k]);
      return out;
    }
    if (!(m.field in out)) continue;
    const current = out[m.field];
    if (m.key === undefined) out[m.field] = maskValue(current);
    else if (isRecord(current) && m.key in current) out[m.field] = { ...current, [m.key]: sensitiveMark };
  }
  return out;
}

export function maskEncrypted(plan: Plan, encrypted: EncryptedFields): Plan {
  if (encrypted.size === 0) return plan;
  return {
    ...plan,
    changes: plan.changes.map((c) => {
      const paths = encrypted.get(c.id);
      if (!paths?.length) return c;
      const masks = masksOf(c, paths);
      if (masks.length === 0) return c;
      const fields = c.fields.map((f): FieldChange =>
        masks.some((m) => hides(m, f.path))
          ? { path: f.path, before: maskValue(f.before), after: maskValue(f.after), sensitive: true }
          : f,
      );
      return { ...c, fields, before: maskModel(c.before, masks), after: maskModel(c.after, masks) };
    }),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
