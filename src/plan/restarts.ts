/**
 * Whether an update restarts tasks, from what actually changes: SwarmKit replaces a task when
 * its task spec differs in any way from the service's task template (deep equality), or when
 * the endpoint spec differs (orchestrator.IsTaskDirty). Service labels, replicas, the update
 * and rollback policies are outside both, so changing them restarts nothing. The spec to
 * write (built with the live spelling kept where the meaning is unchanged) is compared with
 * the live spec; the Swarm paths that differ are returned. Pure.
 */
import type { SwarmServiceSpec } from '../api/swarm-types.js';
import { isEmpty } from '../model/service.js';
import { pruneMembers, stableJson } from './json-values.js';

/** Reported at this depth at most: "TaskTemplate.ContainerSpec.Env", not each variable. */
const depth = 3;

const isObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);

function differing(a: unknown, b: unknown, path: string, level: number, out: string[]): void {
  if (stableJson(a ?? null) === stableJson(b ?? null)) return;
  if (level >= depth || !isObject(a) || !isObject(b)) {
    out.push(path);
    return;
  }
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
    differing(a[k], b[k], `${path}.${k}`, level + 1, out);
}

/** The Swarm paths of the task template and endpoint spec that `next` changes; empty: no task restarts. */
export function taskSpecChanges(live: SwarmServiceSpec, next: SwarmServiceSpec): string[] {
  const out: string[] = [];
  differing(live.TaskTemplate, next.TaskTemplate, 'TaskTemplate', 1, out);
  differing(storedEndpoint(live.EndpointSpec), storedEndpoint(next.EndpointSpec), 'EndpointSpec', 1, out);
  return out;
}

/** The endpoint spec as Swarm keeps it: members left empty are absent after its protobuf round trip. */
const storedEndpoint = (e: SwarmServiceSpec['EndpointSpec']) => pruneMembers(e ?? {}, isEmpty);

/**
 * Whether `next` changes the endpoint spec. Swarm then marks every task out of date
 * (swarmkit's IsTaskDirty) even when the task template, which the tasks' own specs show, is
 * unchanged.
 */
export function endpointSpecChanges(live: SwarmServiceSpec, next: SwarmServiceSpec): boolean {
  return stableJson(storedEndpoint(live.EndpointSpec)) !== stableJson(storedEndpoint(next.EndpointSpec));
}
