/**
 * Keeps the live spec's spelling wherever the meaning did not change. Swarm restarts every
 * task when the task template differs at all (deep equality on what it stores: `Init: false`
 * against no Init, `Placement: {}` against no Placement, the order of a list), so a spec
 * rebuilt from the model would restart tasks that another tool created, though nothing they
 * run changes. Here each field the model left equal keeps the live subtrees it owns
 * (ServiceFieldGroup.specPaths), and whatever the live spec holds that no field owns is kept
 * too when it is empty (stack deploy's `Privileges: {}`) or carried by rule (Isolation, Runtime).
 * Non-empty live fields no field owns are not kept: the manifest is the whole truth (decision 14).
 * Pure.
 */
import type { SwarmServiceSpec } from '../api/swarm-types.js';
import { isEmpty, serviceSpecPaths, type ServiceModel } from './service.js';

/** Live values the controller carries forward unchanged, whatever the model says. */
const carriedPaths = ['TaskTemplate.ContainerSpec.Isolation', 'TaskTemplate.Runtime'];

/** Paths the spec builder decides itself: never taken from the live spec here. */
const builderPaths = ['Name', 'Labels', 'TaskTemplate.ContainerSpec.Image', 'TaskTemplate.ForceUpdate'];

type Json = Record<string, unknown>;

function get(o: unknown, path: string[]): unknown {
  let v = o;
  for (const p of path) v = v && typeof v === 'object' ? (v as Json)[p] : undefined;
  return v;
}

function set(o: Json, path: string[], value: unknown): void {
  let v = o;
  for (const p of path.slice(0, -1)) {
    if (!v[p] || typeof v[p] !== 'object') v[p] = {};
    v = v[p] as Json;
  }
  const last = path[path.length - 1];
  if (value === undefined) delete v[last];
  else v[last] = structuredClone(value);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * `built` (from the desired model) with the live spelling of every unchanged field. `current`
 * is the live spec's model, `desired` the model `built` was made from.
 */
export function keepLiveRepresentation(
  built: SwarmServiceSpec,
  live: SwarmServiceSpec,
  desired: ServiceModel,
  current: ServiceModel,
): SwarmServiceSpec {
  const out = structuredClone(built) as Json;
  const writers = new Map<string, (keyof ServiceModel)[]>();
  for (const [field, paths] of serviceSpecPaths)
    for (const p of paths) writers.set(p, [...(writers.get(p) ?? []), field]);
  for (const [path, fields] of writers)
    if (fields.every((f) => same(desired[f], current[f]))) set(out, path.split('.'), get(live, path.split('.')));
  for (const path of carriedPaths) {
    const value = get(live, path.split('.'));
    if (value !== undefined) set(out, path.split('.'), value);
  }
  const owned = new Set([...writers.keys(), ...builderPaths, ...carriedPaths]);
  const ancestors = new Set([...owned].flatMap((p) => p.split('.').map((_, i, a) => a.slice(0, i).join('.'))));
  const visit = (value: unknown, path: string[]) => {
    const key = path.join('.');
    if (owned.has(key)) return;
    if (ancestors.has(key) && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) visit(v, [...path, k]);
      return;
    }
    if (get(out, path) === undefined && isEmpty(value)) set(out, path, value);
  };
  visit(live, []);
  return out;
}
