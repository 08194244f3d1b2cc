/**
 * Comparing what `docker stack deploy` made with what `controller import compose` + `apply`
 * made, field by field: each object read back from the Swarm (`docker ... inspect`) is
 * normalised for representation only (namespace prefixes and label values, IDs to names, our
 * ownership labels `swarm.controller/*`, config and secret version suffixes, list order, what
 * Go omits when empty, addresses the Swarm picked from its pool) and flattened to paths.
 * Differences must be listed in docs/compose.md "Known differences" with their reason. Used by
 * compose-fidelity.test.ts and stack-corpus.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './harness.js';

export type Json = null | string | number | boolean | Json[] | { [k: string]: Json };

const isObject = (v: Json | undefined): v is { [k: string]: Json } =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Removes what Go's omitempty treats as absent: empty objects, lists and strings, null, false, and 0 (except replicas). */
export function prune(v: Json, key = ''): Json | undefined {
  if (Array.isArray(v)) {
    const items = v.map((x) => prune(x)).filter((x): x is Json => x !== undefined);
    return items.length ? items : undefined;
  }
  if (isObject(v)) {
    const entries = Object.entries(v)
      .map(([k, x]) => [k, prune(x, k)] as const)
      .filter(([, x]) => x !== undefined);
    return entries.length ? (Object.fromEntries(entries) as Json) : undefined;
  }
  return v === '' || v === null || v === false || (v === 0 && key !== 'Replicas') ? undefined : v;
}

const sortBy = <T>(list: T[] | undefined, key: (x: T) => string) =>
  list?.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

/** One service spec in a form both deployments can be compared in. */
export function normaliseService(spec: Record<string, any>, ns: string, networks: Map<string, string>): Json {
  const s = structuredClone(spec);
  const unscope = (name: string) => (name.startsWith(`${ns}_`) ? name.slice(ns.length + 1) : name);
  const sanitised = unscope;
  const labels = (l: Record<string, string> | undefined) => {
    if (!l) return l;
    for (const k of Object.keys(l)) {
      if (k.startsWith('swarm.controller/')) delete l[k];
      else if (l[k] === ns) l[k] = '<namespace>';
    }
    return l;
  };
  s.Name = sanitised(s.Name);
  labels(s.Labels);
  const t = s.TaskTemplate ?? {};
  const c = t.ContainerSpec ?? {};
  labels(c.Labels);
  c.Env?.sort();
  for (const m of c.Mounts ?? []) {
    if (m.Source) m.Source = unscope(m.Source);
    labels(m.VolumeOptions?.Labels);
  }
  sortBy(c.Mounts, (m: any) => m.Target);
  // the controller stores each config and secret version as <namespace>_<name>.<hash>
  const dataName = (name: string) => unscope(name).replace(/\.[0-9a-f]{10}$/, '');
  for (const x of c.Secrets ?? []) {
    delete x.SecretID;
    x.SecretName = dataName(x.SecretName);
  }
  sortBy(c.Secrets, (x: any) => x.File?.Name ?? '');
  for (const x of c.Configs ?? []) {
    delete x.ConfigID;
    x.ConfigName = dataName(x.ConfigName);
    if (x.File?.Name && !x.File.Name.startsWith('/')) x.File.Name = `/${x.File.Name}`;
  }
  sortBy(c.Configs, (x: any) => x.File?.Name ?? '');
  for (const n of t.Networks ?? []) {
    n.Target = sanitised(networks.get(n.Target) ?? n.Target);
    n.Aliases?.sort();
  }
  sortBy(t.Networks, (n: any) => n.Target);
  // Swarm reads a constraint with or without spaces around its operator alike.
  if (t.Placement?.Constraints)
    t.Placement.Constraints = t.Placement.Constraints.map((x: string) => x.replace(/\s*(==|!=)\s*/, ' $1 ')).sort();
  delete t.ForceUpdate;
  s.EndpointSpec ??= {};
  s.EndpointSpec.Mode ||= 'vip';
  sortBy(s.EndpointSpec.Ports, (p: any) => `${p.Protocol}/${p.TargetPort}/${p.PublishedPort ?? 0}`);
  return prune(s) ?? {};
}

export function flatten(v: Json | undefined, path: string, out: Map<string, string>): void {
  if (Array.isArray(v)) v.forEach((x, i) => flatten(x, `${path}[${i}]`, out));
  else if (isObject(v)) for (const [k, x] of Object.entries(v)) flatten(x, path ? `${path}.${k}` : k, out);
  else out.set(path, JSON.stringify(v));
}

/** The paths (service-relative, `*` for any list index) docs/compose.md explains, with `...` for a prefix. */
export async function explainedPaths(): Promise<string[]> {
  const doc = await readFile(join(repoRoot, 'docs/compose.md'), 'utf8');
  const section = doc.split(/^## Known differences/m)[1]?.split(/^## /m)[0] ?? '';
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
}

export function explained(path: string, known: string[]): boolean {
  const generic = path.replace(/\[\d+\]/g, '[*]');
  return known.some((k) => (k.endsWith('...') ? generic.startsWith(k.slice(0, -3)) : generic === k));
}

export interface Comparison {
  /** Objects compared (present on either side). */
  objects: number;
  agree: number;
  total: number;
  differences: { path: string; stack?: string; controller?: string }[];
}

export function compare(stack: Map<string, Json>, ours: Map<string, Json>): Comparison {
  const names = new Set([...stack.keys(), ...ours.keys()]);
  const result: Comparison = { objects: names.size, agree: 0, total: 0, differences: [] };
  for (const name of names) {
    const a = new Map<string, string>(),
      b = new Map<string, string>();
    flatten(stack.get(name), '', a);
    flatten(ours.get(name), '', b);
    if (!stack.has(name) || !ours.has(name)) {
      result.total++;
      result.differences.push({
        path: `${name}`,
        ...(stack.has(name) ? { stack: 'present' } : { controller: 'present' }),
      });
      continue;
    }
    for (const p of new Set([...a.keys(), ...b.keys()])) {
      result.total++;
      if (a.get(p) === b.get(p)) result.agree++;
      else
        result.differences.push({
          path: `${name}:${p}`,
          ...(a.has(p) ? { stack: a.get(p) } : {}),
          ...(b.has(p) ? { controller: b.get(p) } : {}),
        });
    }
  }
  return result;
}

const unscope = (ns: string, name: string) => (name.startsWith(`${ns}_`) ? name.slice(ns.length + 1) : name);

function normaliseLabels(l: Record<string, string> | undefined, ns: string): void {
  if (!l) return;
  for (const k of Object.keys(l)) {
    if (k.startsWith('swarm.controller/')) delete l[k];
    else if (l[k] === ns) l[k] = '<namespace>';
  }
}

/** Whether an IPv4 subnet lies inside a pool (both "a.b.c.d/n"). */
function inPool(subnet: string, pool: string): boolean {
  const num = (a: string) => a.split('.').reduce((n, x) => n * 256 + Number(x), 0);
  const [net, bits] = pool.split('/');
  const [addr] = subnet.split('/');
  if (!net || !bits || !addr || !/^\d+\.\d+\.\d+\.\d+$/.test(addr)) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(num(addr) / size) === Math.floor(num(net) / size);
}

/**
 * A network (`docker network inspect`) as both deployments can be compared: IDs, times, peers
 * and containers dropped; a subnet the Swarm picked from its default pool is "<pool>".
 */
export function normaliseNetwork(n: Record<string, any>, ns: string, pools: string[]): Json {
  const labels = { ...(n.Labels ?? {}) };
  normaliseLabels(labels, ns);
  const config = (n.IPAM?.Config ?? []).map((c: Record<string, string>) =>
    pools.some((p) => c.Subnet && inPool(c.Subnet, p)) ? { Subnet: '<pool>' } : c,
  );
  return (
    prune({
      Name: unscope(ns, n.Name),
      Driver: n.Driver,
      Scope: n.Scope,
      EnableIPv6: n.EnableIPv6,
      Internal: n.Internal,
      Attachable: n.Attachable,
      Ingress: n.Ingress,
      // The VXLAN ID is the Swarm's pick, like a subnet from its pool; the overlay driver
      // encrypts when the option "encrypted" is present, whatever its value ("yes", "").
      Options: Object.fromEntries(
        Object.entries((n.Options ?? {}) as Record<string, string>)
          .filter(([k]) => k !== 'com.docker.network.driver.overlay.vxlanid_list')
          .map(([k, v]) => [k, k === 'encrypted' ? '<present>' : v]),
      ),
      Labels: labels,
      IPAM: {
        Driver: n.IPAM?.Driver === 'default' ? '' : (n.IPAM?.Driver ?? ''),
        Options: n.IPAM?.Options ?? {},
        Config: config,
      },
    }) ?? {}
  );
}

/** A config or secret (`docker config|secret inspect`): its name without the controller's version suffix. */
export function normaliseData(o: Record<string, any>, ns: string): Json {
  const spec = structuredClone(o.Spec ?? {});
  spec.Name = unscope(ns, String(spec.Name)).replace(/\.[0-9a-f]{10}$/, '');
  normaliseLabels(spec.Labels, ns);
  return prune(spec as Json) ?? {};
}
