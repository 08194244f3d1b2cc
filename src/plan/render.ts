/**
 * The two views of a plan: `renderHuman` (a legend of the actions present, one block per
 * object with its field diff, blockers, notes and a closing count; colour only when asked)
 * and `renderJson` (the stable machine shape documented in docs/plan-json.md). Both only
 * read the plan, and show it through render-mask.ts: secret-looking env values and
 * SOPS-encrypted fields are masked here, at render time, and nowhere earlier.
 */
import { refLabel, type ObjectRef } from '../api/object-ref.js';
import { pruneMembers } from './json-values.js';
import { actionOrder, summarise, type Action, type FieldChange, type Plan } from './plan.js';
import { maskPlan, type Masking, type ShownChange } from './render-mask.js';

export interface RenderOptions extends Masking {
  color?: boolean;
}

const symbols: Record<Action, string> = { create: '+', update: '~', scale: '^', replace: '-/+', delete: '-' };
const words: Record<Action, string> = {
  create: 'create',
  update: 'update in place',
  scale: 'scale',
  replace: 'replace (delete, then create)',
  delete: 'delete',
};
const verbs: Record<Action, string> = {
  create: 'will be created',
  update: 'will be updated in place',
  scale: 'will be scaled',
  replace: 'will be replaced',
  delete: 'will be deleted',
};
const colours: Record<Action, number> = { create: 32, update: 33, scale: 36, replace: 35, delete: 31 };

export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '(absent)';
  return JSON.stringify(pruneMembers(v)); // for display: no null, false, "" or empty members
}

function fieldLine(f: FieldChange, action: Action): string {
  if (f.sensitive) {
    const what = f.before === null ? 'set' : f.after === null ? 'removed' : 'changed';
    return `${f.path}: (sensitive value ${what})`;
  }
  if (action === 'create') return `${f.path}: ${formatValue(f.after)}`;
  return `${f.path}: ${formatValue(f.before)} -> ${formatValue(f.after)}`;
}

function changeRef(c: ShownChange): ObjectRef {
  return { kind: c.kind, name: c.name, ...(c.namespace ? { namespace: c.namespace } : {}) };
}

export function renderHuman(unmasked: Plan, options: RenderOptions = {}): string {
  const plan = maskPlan(unmasked, options);
  const paint = (code: number, s: string) => (options.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const bold = (s: string) => (options.color ? `\x1b[1m${s}\x1b[0m` : s);
  const lines: string[] = [];
  const present = actionOrder.filter((a) => plan.changes.some((c) => c.action === a));
  if (present.length) {
    lines.push(`Actions: ${present.map((a) => `${paint(colours[a], symbols[a])} ${words[a]}`).join(', ')}`, '');
  }
  for (const c of plan.changes) {
    const restart =
      c.kind === 'Service' && c.action !== 'create' && c.action !== 'delete'
        ? c.restartsTasks
          ? ', restarts tasks'
          : ', no task restart'
        : '';
    const named = c.swarmName !== c.name ? ` (${c.swarmName})` : '';
    lines.push(
      `${paint(colours[c.action], symbols[c.action].padStart(3))} ${bold(refLabel(changeRef(c)))}${named} ${verbs[c.action]}${c.adopt ? ' (adopted)' : ''}`,
    );
    lines.push(`      reason: ${c.reason}${restart}`);
    for (const f of c.fields)
      if (!(c.action === 'create' && f.after === null)) lines.push(`      ${fieldLine(f, c.action)}`);
    lines.push('');
  }
  if (plan.blockers.length) {
    lines.push(paint(31, 'The plan cannot be applied:'));
    for (const b of plan.blockers) {
      lines.push(`  ${b.code} ${b.id}: ${b.message}`, `      fix: ${b.fix}`);
    }
    lines.push('');
  }
  if (plan.notes.length) {
    lines.push('Notes:');
    for (const n of plan.notes) lines.push(`  ${n.message}`);
    lines.push('');
  }
  const s = summarise(unmasked);
  if (plan.changes.length === 0) {
    lines.push(
      `No changes. The Swarm matches the manifests (${s.unchanged} object${s.unchanged === 1 ? '' : 's'} up to date).`,
    );
  } else {
    lines.push(
      `Plan: ${s.create} to create, ${s.update} to update, ${s.scale} to scale, ${s.replace} to replace, ${s.delete} to delete (${s.unchanged} unchanged).`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Version of the JSON shape; bumped only on incompatible changes. */
export const planJsonFormatVersion = 1;

export function renderJson(unmasked: Plan, masking: Masking = {}): string {
  const plan = maskPlan(unmasked, masking);
  const s = summarise(unmasked);
  const doc = {
    formatVersion: planJsonFormatVersion,
    applySet: plan.applySet,
    summary: {
      create: s.create,
      update: s.update,
      scale: s.scale,
      replace: s.replace,
      delete: s.delete,
      unchanged: s.unchanged,
    },
    applicable: plan.blockers.length === 0,
    changes: plan.changes.map((c) => ({
      id: c.id,
      kind: c.kind,
      namespace: c.namespace ?? null,
      name: c.name,
      swarmName: c.swarmName,
      action: c.action,
      reason: c.reason,
      restartsTasks: c.restartsTasks,
      adopt: c.adopt ?? false,
      dependsOn: c.dependsOn,
      fields: c.fields.map((f) => ({
        path: f.path,
        before: f.before ?? null,
        after: f.after ?? null,
        sensitive: f.sensitive ?? false,
      })),
      before: c.before ?? null,
      after: c.after ?? null,
    })),
    blockers: plan.blockers,
    notes: plan.notes,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
