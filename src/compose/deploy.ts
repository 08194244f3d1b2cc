/**
 * A compose service's `deploy` section (and the legacy `restart`) → Service spec fields:
 * mode, replicas, endpoint mode, placement, resources, restart policy, update and rollback
 * config, and the service labels. Conversions follow docker/cli convert/service.go (an
 * update_config without parallelism updates one task at a time; `restart: always` is
 * condition any; memory sizes use binary units).
 */
import { convertedDeployFields, unexpressibleDeployFields } from './fields.js';
import { duration } from './normalise.js';
import { at, type Reader } from './problems.js';
import { composeBytes } from './short-syntax.js';
import { isMapValue, scalarText, type TreeMap } from './yaml-tree.js';

type Spec = Record<string, unknown>;

export interface DeployResult {
  /** Fields placed after image/env/user (mode, replicas, endpoint mode). */
  spec: Spec;
  /** Fields placed after ports and secrets (placement, resources, policies). */
  later: Spec;
  labels: Record<string, string>;
}

export function convertDeploy(svc: TreeMap, field: string, r: Reader): DeployResult {
  const result: DeployResult = { spec: {}, later: {}, labels: {} };
  const d = r.map(at(svc, 'deploy', field), svc.deploy) ?? {};
  const f = `${field}.deploy`;
  for (const key of Object.keys(d)) {
    if (!convertedDeployFields.includes(key) && !key.startsWith('x-'))
      r.problems.error(
        'SC6003',
        at(d, key, f),
        `unknown deploy field "${key}"`,
        `use one of ${convertedDeployFields.join(', ')}`,
      );
  }
  for (const [path, u] of Object.entries(unexpressibleDeployFields)) {
    const parts = path.split('.');
    let node: unknown = d;
    for (const p of parts.slice(0, -1)) node = isMapValue(node) ? node[p] : undefined;
    const last = parts[parts.length - 1];
    if (isMapValue(node) && node[last] !== undefined) {
      const what =
        u.stack === 'ignored'
          ? 'docker stack deploy ignores it too'
          : 'Swarm supports it but our manifests cannot express it';
      r.problems.warn(
        'SC6004',
        at(node, last, `${f}.${parts.slice(0, -1).join('.')}`),
        `deploy.${path} is left out: ${what}`,
        u.fix,
      );
    }
  }

  const mode = r.string(at(d, 'mode', f), d.mode) ?? 'replicated';
  const replicas = r.int(at(d, 'replicas', f), d.replicas);
  if (mode === 'global') {
    result.spec.mode = 'global';
    if (replicas !== undefined)
      r.problems.error(
        'SC6003',
        at(d, 'replicas', f),
        'replicas cannot be set for a global service',
        'remove replicas, or use mode: replicated',
      );
  } else if (mode === 'global-job') {
    result.spec.mode = 'global-job';
    if (replicas !== undefined)
      r.problems.error(
        'SC6003',
        at(d, 'replicas', f),
        'replicas cannot be set for a global job',
        'remove replicas, or use mode: replicated-job',
      );
  } else if (mode === 'replicated-job') {
    // stack deploy makes replicas both the completions and the concurrency (both 1 without it)
    result.spec.mode = 'replicated-job';
    if (replicas !== undefined) {
      result.spec.completions = replicas;
      result.spec.concurrency = replicas;
    }
  } else if (mode !== 'replicated') {
    r.problems.error(
      'SC6003',
      at(d, 'mode', f),
      `mode "${mode}" is not replicated, global, replicated-job or global-job`,
      'use replicated or global',
    );
  }
  if (replicas !== undefined && mode === 'replicated') result.spec.replicas = replicas;

  const endpointMode = r.string(at(d, 'endpoint_mode', f), d.endpoint_mode);
  if (endpointMode !== undefined) {
    if (!['vip', 'dnsrr'].includes(endpointMode.toLowerCase()))
      r.problems.error(
        'SC6003',
        at(d, 'endpoint_mode', f),
        `endpoint_mode "${endpointMode}" is not vip or dnsrr`,
        'use vip or dnsrr',
      );
    else result.spec.endpointMode = endpointMode.toLowerCase();
  }

  if (d.labels !== undefined) result.labels = { ...(d.labels as Record<string, string>) };

  const placement = placementOf(d, f, r);
  if (placement) result.later.placement = placement;
  const resources = resourcesOf(d, f, r);
  if (resources) result.later.resources = resources;
  const update = updatePolicy(d, 'update_config', f, r);
  if (update) result.later.updateConfig = update;
  const rollback = updatePolicy(d, 'rollback_config', f, r);
  if (rollback) result.later.rollbackConfig = rollback;
  const restart = d.restart_policy !== undefined ? restartPolicy(d, f, r) : legacyRestart(svc, field, r);
  if (restart) result.later.restartPolicy = { ...(result.later.restartPolicy as Spec | undefined), ...restart };
  return result;
}

function placementOf(d: TreeMap, f: string, r: Reader): Spec | undefined {
  const p = r.map(at(d, 'placement', f), d.placement);
  if (!p) return undefined;
  const pf = `${f}.placement`;
  const out: Spec = {};
  const constraints = r.list(at(p, 'constraints', pf), p.constraints);
  if (constraints?.length)
    out.constraints = constraints.map((c, i) => r.string(at(constraints, i, `${pf}.constraints`), c) ?? '');
  const prefs = r.list(at(p, 'preferences', pf), p.preferences);
  if (prefs?.length) {
    out.preferences = prefs.flatMap((x, i) => {
      const m = r.map(at(prefs, i, `${pf}.preferences`), x);
      const spread = m && r.string(at(m, 'spread', `${pf}.preferences[${i}]`), m.spread);
      if (!spread) {
        if (m)
          r.problems.error(
            'SC6003',
            at(prefs, i, `${pf}.preferences`),
            'a placement preference needs "spread"',
            'write {spread: node.labels.zone}',
          );
        return [];
      }
      return [{ spread }];
    });
  }
  const max = r.int(at(p, 'max_replicas_per_node', pf), p.max_replicas_per_node);
  if (max) out.maxReplicasPerNode = max;
  for (const k of Object.keys(p)) {
    if (!['constraints', 'preferences', 'max_replicas_per_node', 'platforms'].includes(k))
      r.problems.error(
        'SC6003',
        at(p, k, pf),
        `unknown placement field "${k}"`,
        'use constraints, preferences or max_replicas_per_node',
      );
  }
  return Object.keys(out).length ? out : undefined;
}

function resourcesOf(d: TreeMap, f: string, r: Reader): Spec | undefined {
  const res = r.map(at(d, 'resources', f), d.resources);
  if (!res) return undefined;
  const out: Spec = {};
  for (const kind of ['limits', 'reservations'] as const) {
    const q = r.map(at(res, kind, `${f}.resources`), res[kind]);
    if (!q) continue;
    const qf = `${f}.resources.${kind}`;
    const o: Spec = {};
    if (q.cpus !== undefined && q.cpus !== null) {
      const cpus = scalarText(q.cpus).trim();
      if (/^\d+(\.\d+)?$/.test(cpus)) o.cpus = cpus;
      else
        r.problems.error(
          'SC6003',
          at(q, 'cpus', qf),
          `cpus "${cpus}" is not a number of CPUs`,
          'write cpus like "0.5" or "2"',
        );
    }
    if (q.memory !== undefined && q.memory !== null) {
      try {
        o.memory = composeBytes(q.memory as string | number);
      } catch (err) {
        r.problems.error('SC6003', at(q, 'memory', qf), (err as Error).message, 'write memory like "512M" or "1G"');
      }
    }
    if (kind === 'limits') {
      const pids = r.int(at(q, 'pids', qf), q.pids);
      if (pids) o.pids = pids;
    } else {
      const generic = genericResources(q, qf, r);
      if (generic.length) o.genericResources = generic;
    }
    for (const k of Object.keys(q)) {
      if (!['cpus', 'memory', 'pids', 'generic_resources', 'devices'].includes(k))
        r.problems.error('SC6003', at(q, k, qf), `unknown resources field "${k}"`, 'use cpus or memory');
    }
    out[kind] = o;
  }
  return Object.keys(out).length ? out : undefined;
}

/** stack deploy converts only discrete_resource_spec (a count); a named one it drops, and so do we, saying so. */
function genericResources(q: TreeMap, qf: string, r: Reader): Spec[] {
  const list = r.list(at(q, 'generic_resources', qf), q.generic_resources) ?? [];
  return list.flatMap((item, i) => {
    const f = `${qf}.generic_resources[${i}]`;
    const m = r.map(at(list, i, `${qf}.generic_resources`), item);
    const discrete = m && r.map(at(m, 'discrete_resource_spec', f), m.discrete_resource_spec);
    if (!discrete) {
      if (m)
        r.problems.warn(
          'SC6004',
          at(list, i, `${qf}.generic_resources`),
          'a generic resource without discrete_resource_spec is left out, as docker stack deploy leaves it out',
          'write {discrete_resource_spec: {kind: gpu, value: 1}}, or name the resource in the Service manifest (genericResources: [{kind: gpu, value: GPU-1}])',
        );
      return [];
    }
    const kind = r.string(at(discrete, 'kind', `${f}.discrete_resource_spec`), discrete.kind);
    const value = r.int(at(discrete, 'value', `${f}.discrete_resource_spec`), discrete.value) ?? 0;
    return kind ? [{ kind, value }] : [];
  });
}

function updatePolicy(d: TreeMap, key: 'update_config' | 'rollback_config', f: string, r: Reader): Spec | undefined {
  const u = r.map(at(d, key, f), d[key]);
  if (!u) return undefined;
  const uf = `${f}.${key}`;
  const out: Spec = {};
  const parallelism = r.int(at(u, 'parallelism', uf), u.parallelism);
  if (parallelism !== undefined) out.parallelism = parallelism;
  const delay = duration(r, at(u, 'delay', uf), u.delay);
  if (delay) out.delay = delay;
  const order = r.string(at(u, 'order', uf), u.order);
  if (order !== undefined) {
    if (['stop-first', 'start-first'].includes(order)) out.order = order;
    else
      r.problems.error(
        'SC6003',
        at(u, 'order', uf),
        `order "${order}" is not stop-first or start-first`,
        'use stop-first or start-first',
      );
  }
  const action = r.string(at(u, 'failure_action', uf), u.failure_action);
  if (action !== undefined) {
    const allowed = key === 'update_config' ? ['pause', 'continue', 'rollback'] : ['pause', 'continue'];
    if (allowed.includes(action)) out.failureAction = action;
    else
      r.problems.error(
        'SC6003',
        at(u, 'failure_action', uf),
        `failure_action "${action}" is not one of ${allowed.join(', ')}`,
        `use ${allowed.join(' or ')}`,
      );
  }
  // docker/cli sends the fields not given as Go zero values, so a monitor not given is 0s, not
  // Swarm's 5s default of an absent policy: Swarm then watches updated tasks for no time at all.
  out.monitor = duration(r, at(u, 'monitor', uf), u.monitor) ?? '0s';
  const ratio = r.number(at(u, 'max_failure_ratio', uf), u.max_failure_ratio);
  if (ratio !== undefined) out.maxFailureRatio = ratio;
  for (const k of Object.keys(u)) {
    if (!['parallelism', 'delay', 'order', 'failure_action', 'monitor', 'max_failure_ratio'].includes(k))
      r.problems.error(
        'SC6003',
        at(u, k, uf),
        `unknown ${key} field "${k}"`,
        'use parallelism, delay, order, failure_action, monitor or max_failure_ratio',
      );
  }
  return out;
}

function restartPolicy(d: TreeMap, f: string, r: Reader): Spec | undefined {
  const p = r.map(at(d, 'restart_policy', f), d.restart_policy);
  if (!p) return undefined;
  const pf = `${f}.restart_policy`;
  const out: Spec = {};
  const condition = r.string(at(p, 'condition', pf), p.condition);
  if (condition !== undefined) {
    if (['none', 'on-failure', 'any'].includes(condition)) out.condition = condition;
    else
      r.problems.error(
        'SC6003',
        at(p, 'condition', pf),
        `condition "${condition}" is not none, on-failure or any`,
        'use none, on-failure or any',
      );
  }
  const delay = duration(r, at(p, 'delay', pf), p.delay);
  if (delay) out.delay = delay;
  const attempts = r.int(at(p, 'max_attempts', pf), p.max_attempts);
  if (attempts !== undefined) out.maxAttempts = attempts;
  const window = duration(r, at(p, 'window', pf), p.window);
  if (window) out.window = window;
  return out;
}

function legacyRestart(svc: TreeMap, field: string, r: Reader): Spec | undefined {
  const text = r.string(at(svc, 'restart', field), svc.restart);
  if (text === undefined) return undefined;
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(text);
  if (!m) {
    r.problems.error(
      'SC6003',
      at(svc, 'restart', field),
      `restart "${text}" is not no, always, unless-stopped or on-failure[:N]`,
      'use deploy.restart_policy',
    );
    return undefined;
  }
  if (m[1] === 'no') return undefined;
  const attempts = m[2] ? Number(m[2]) : 0;
  return {
    condition: m[1] === 'on-failure' ? 'on-failure' : 'any',
    ...(attempts > 0 ? { maxAttempts: attempts } : {}),
  };
}
