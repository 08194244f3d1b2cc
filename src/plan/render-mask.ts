/**
 * What a plan shows: the renderers (render.ts, and rollback's field list) pass every plan
 * through here, and nothing else shows a plan's values. Planning and apply see the real
 * values; only the view is masked.
 *   - Secret-looking env vars (names containing PASSWORD, TOKEN, SECRET, KEY, and those named
 *     by --mask-env): the field change is marked sensitive with its values replaced, and the
 *     value is replaced in the change's before and after models.
 *   - SOPS-encrypted manifest fields, likewise: a map entry (`spec.env.DB_URL`,
 *     `metadata.labels.x`) is hidden alone; any other field is hidden whole (`spec.command`
 *     when one argument was encrypted); a field the model does not hold under its manifest name
 *     hides the whole change. A Config's or Secret's `spec.data` needs nothing: plans only ever
 *     hold its hash and size.
 * The view drops `desired` (a Secret's carries its content). Pure.
 */
import { mapFields, manifestPath } from './field-diff.js';
import type { Change, FieldChange, Plan } from './plan.js';

/** A change as shown: values masked, models untyped, no `desired`. */
export interface ShownChange extends Omit<Change, 'before' | 'after' | 'desired'> {
  before: unknown;
  after: unknown;
}

export interface ShownPlan extends Omit<Plan, 'changes'> {
  changes: ShownChange[];
}

export interface Masking {
  /** Extra env var names to mask (--mask-env), beyond the secret-looking ones. */
  maskEnv?: string[];
  /** The encrypted fields of SOPS manifests (src/manifest/sops-documents.ts), by change id. */
  encrypted?: EncryptedFields;
}

export const defaultSecretPatterns = ['PASSWORD', 'TOKEN', 'SECRET', 'KEY'];

export function isSensitiveName(name: string, extra: string[] = []): boolean {
  const upper = name.toUpperCase();
  return defaultSecretPatterns.some((p) => upper.includes(p)) || extra.some((e) => e.toUpperCase() === upper);
}

export const sensitiveMark = '(sensitive)';

/** Manifest paths of encrypted values (as src/manifest/sops-documents.ts records them), by change id. */
export type EncryptedFields = Map<string, (string | number)[][]>;

type Mask = { field: string; key?: string } | 'all';

function masksOf(change: ShownChange, paths: (string | number)[][]): Mask[] {
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

function maskModelFields(model: unknown, masks: Mask[]): unknown {
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

/** The plan as it may be shown: secret-looking env values and encrypted fields masked. */
export function maskPlan(plan: Plan, masking: Masking = {}): ShownPlan {
  const maskEnv = masking.maskEnv ?? [];
  return {
    ...plan,
    changes: plan.changes.map((c): ShownChange => {
      const shown: ShownChange = {
        id: c.id,
        kind: c.kind,
        ...(c.namespace !== undefined ? { namespace: c.namespace } : {}),
        name: c.name,
        swarmName: c.swarmName,
        action: c.action,
        reason: c.reason,
        restartsTasks: c.restartsTasks,
        fields: maskEnvFields(c.fields, maskEnv),
        before: maskEnvModel(c.before, maskEnv),
        after: maskEnvModel(c.after, maskEnv),
        dependsOn: c.dependsOn,
        ...(c.adopt ? { adopt: c.adopt } : {}),
      };
      const paths = masking.encrypted?.get(c.id);
      return paths?.length ? maskEncrypted(shown, paths) : shown;
    }),
  };
}

/** Field changes of secret-looking env vars (and those named in `maskEnv`) marked sensitive, values hidden. */
export function maskEnvFields(fields: FieldChange[], maskEnv: string[] = []): FieldChange[] {
  return fields.map((f) => {
    const key = envKey(f.path);
    if (key === undefined || !isSensitiveName(key, maskEnv)) return f;
    return { path: f.path, before: maskValue(f.before), after: maskValue(f.after), sensitive: true };
  });
}

/** The env var a field path names (`spec.env.X`, `spec.env["X-Y"]`), if it names one. */
function envKey(path: string): string | undefined {
  const head = manifestPath('env', []);
  if (path.startsWith(head + '.')) return path.slice(head.length + 1);
  if (path.startsWith(head + '[')) return JSON.parse(path.slice(head.length + 1, -1)) as string;
  return undefined;
}

/** A model with the values of its secret-looking env vars (and those named in `maskEnv`) hidden. */
export function maskEnvModel<T>(model: T, maskEnv: string[] = []): T {
  if (!isRecord(model) || !isRecord(model.env)) return model;
  const safe: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(model.env)) safe[k] = isSensitiveName(k, maskEnv) ? sensitiveMark : v;
  return { ...model, env: safe };
}

function maskEncrypted(c: ShownChange, paths: (string | number)[][]): ShownChange {
  const masks = masksOf(c, paths);
  if (masks.length === 0) return c;
  const fields = c.fields.map((f): FieldChange =>
    masks.some((m) => hides(m, f.path))
      ? { path: f.path, before: maskValue(f.before), after: maskValue(f.after), sensitive: true }
      : f,
  );
  return { ...c, fields, before: maskModelFields(c.before, masks), after: maskModelFields(c.after, masks) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
