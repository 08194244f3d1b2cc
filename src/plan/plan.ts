/**
 * The plan as data: an ordered list of typed changes, one shape per kind, each with its
 * action, before and after (the canonical models, unmasked), the field paths that changed, a
 * reason for people, whether it restarts tasks, what it depends on, and `desired`, the object
 * apply writes; plus blockers (why the plan cannot be applied) and notes. The executor reads
 * `kind`, `action`, `dependsOn` and `desired`; it never branches on `reason`. Values are shown
 * only through the renderers (render.ts), which mask secrets (render-mask.ts); the JSON
 * renderer prints the shape documented in docs/plan-json.md. Never serialise a Change whole:
 * `desired` of a Secret carries its content.
 */
import type { DataKind, DataModel, DesiredData } from '../api/data-model.js';
import type { DesiredNetwork, DesiredService } from '../model/desired-state.js';
import type { NetworkModel } from '../model/network.js';
import type { ServiceModel } from '../model/service.js';
import type { DesiredRoute, RouteModel } from '../api/route-model.js';
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

interface ChangeCommon {
  id: string;
  namespace?: string;
  name: string;
  swarmName: string;
  action: Action;
  reason: string;
  restartsTasks: boolean;
  /** Unmasked: the renderers hide secret values (render-mask.ts). */
  fields: FieldChange[];
  /** Ids of changes that must finish first. */
  dependsOn: string[];
  /** Take over an object that exists without the controller's labels. */
  adopt?: true;
}

/** `before` is null for a create, `after` and `desired` absent (null) for a delete. */
export interface NetworkChange extends ChangeCommon {
  kind: 'Network';
  before: NetworkModel | null;
  after: NetworkModel | null;
  desired: DesiredNetwork | null;
}

export interface ServiceChange extends ChangeCommon {
  kind: 'Service';
  before: ServiceModel | null;
  after: ServiceModel | null;
  desired: DesiredService | null;
}

/** What a plan holds of a config or secret version: its labels, hash and size, never its content. */
export type DataView = Pick<DataModel, 'labels' | 'content'> & { size?: number | null; retain?: number };

export interface DataChange extends ChangeCommon {
  kind: DataKind;
  before: DataView | null;
  after: DataModel | null;
  /** Carries the content (`data`) apply writes: never render, log or serialise it. */
  desired: DesiredData | null;
}

export interface RouteChange extends ChangeCommon {
  kind: 'Route';
  before: RouteModel | null;
  after: RouteModel | null;
  desired: DesiredRoute | null;
}

export type Change = NetworkChange | ServiceChange | DataChange | RouteChange;

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
