/**
 * The plan as data: an ordered list of changes, each with its action, before and after,
 * the field paths that changed, a reason for people, whether it restarts tasks, and what
 * it depends on; plus blockers (why the plan cannot be applied) and notes. The executor
 * reads `action` and `dependsOn`; it never branches on `reason`. The JSON renderer prints
 * this shape (documented in docs/plan-json.md).
 */
import type { Kind } from '../api/object-ref.js';
import type { ErrorCode } from '../errors.js';

export type Action = 'create' | 'update' | 'scale' | 'replace' | 'delete';

export const actionOrder: Action[] = ['create', 'update', 'scale', 'replace', 'delete'];

export interface FieldChange {
  /** Manifest path, e.g. `spec.env.LOG_LEVEL`; `swarm:<path>` for live fields no manifest expresses. */
  path: string;
  /** null when absent. */
  before: unknown;
  after: unknown;
  /** The values are hidden: a secret-looking env var. */
  sensitive?: true;
}

export interface Change {
  id: string;
  kind: Kind;
  namespace?: string;
  name: string;
  swarmName: string;
  action: Action;
  reason: string;
  restartsTasks: boolean;
  fields: FieldChange[];
  /** Masked canonical models; null for create (before) and delete (after). */
  before: unknown;
  after: unknown;
  /** Ids of changes that must finish first. */
  dependsOn: string[];
  /** Take over an object that exists without the controller's labels. */
  adopt?: true;
}

export interface Blocker {
  id: string;
  code: ErrorCode;
  message: string;
  fix: string;
}

export interface Note {
  id: string;
  message: string;
}

export interface Plan {
  applySet: string;
  changes: Change[];
  blockers: Blocker[];
  notes: Note[];
  unchanged: number;
  /**
   * Config and secret versions services mount under another name (a version taken over from
   * docker stack deploy keeps its name): version name -> mounted name. Apply follows it.
   */
  dataNames?: Record<string, string>;
}

export function summarise(plan: Plan): Record<Action, number> & { unchanged: number } {
  const counts = { create: 0, update: 0, scale: 0, replace: 0, delete: 0, unchanged: plan.unchanged };
  for (const c of plan.changes) counts[c.action]++;
  return counts;
}

export function hasChanges(plan: Plan): boolean {
  return plan.changes.length > 0;
}
