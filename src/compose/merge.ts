/**
 * Merges normalised compose files in order, as `docker stack deploy -c a.yml -c b.yml` does
 * (docker/cli loader/merge.go): a service named in both is merged field by field: scalars
 * are overridden, maps merged key by key, lists appended, except ports (the union), secrets
 * and configs (by source), volumes (by target), command and entrypoint (replaced) and the
 * service's networks (a network's settings replaced). Top-level networks, volumes, configs and
 * secrets are replaced entry by entry. Positions follow the values that win.
 */
import { copyPositions, isMapValue, posOf, scalarText, setPos, type Tree, type TreeMap } from './yaml-tree.js';

const sections = ['networks', 'volumes', 'configs', 'secrets'] as const;

export function mergeFiles(files: TreeMap[]): TreeMap {
  const [first, ...rest] = files;
  const out: TreeMap = { ...first };
  copyPositions(first, out);
  for (const next of rest) {
    for (const [key, value] of Object.entries(next)) {
      if (key === 'services' && isMapValue(value) && isMapValue(out.services)) {
        out.services = mergeServices(out.services, value);
      } else if ((sections as readonly string[]).includes(key) && isMapValue(value) && isMapValue(out[key])) {
        out[key] = mergeEntries(out[key], value);
      } else if (value !== null || !(key in out)) {
        out[key] = value;
        setPos(out, key, posOf(next, key));
      }
    }
  }
  return out;
}

function mergeEntries(base: TreeMap, over: TreeMap): TreeMap {
  const out: TreeMap = { ...base };
  copyPositions(base, out);
  for (const [k, v] of Object.entries(over)) {
    out[k] = v;
    setPos(out, k, posOf(over, k));
  }
  return out;
}

function mergeServices(base: TreeMap, over: TreeMap): TreeMap {
  const out = mergeEntries(base, over);
  for (const name of Object.keys(over)) {
    const b = base[name],
      o = over[name];
    if (isMapValue(b) && isMapValue(o)) {
      out[name] = mergeService(b, o);
      setPos(out, name, posOf(base, name));
    }
  }
  return out;
}

const keyedLists: Record<string, (item: Tree) => string> = {
  ports: (p) => JSON.stringify(p),
  secrets: (s) => scalarText((s as TreeMap).source),
  configs: (s) => scalarText((s as TreeMap).source),
  volumes: (v) => scalarText((v as TreeMap).target),
};

function mergeService(base: TreeMap, over: TreeMap): TreeMap {
  const out: TreeMap = { ...base };
  copyPositions(base, out);
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    let merged: Tree;
    if (value === null) continue;
    if (keyedLists[key] && Array.isArray(prev) && Array.isArray(value))
      merged = mergeKeyed(prev, value, keyedLists[key], key);
    else if ((key === 'command' || key === 'entrypoint') && Array.isArray(value))
      merged = value.length ? value : (prev ?? value);
    else if (key === 'networks' && isMapValue(prev) && isMapValue(value)) merged = mergeNetworks(prev, value);
    else merged = deepMerge(prev, value);
    out[key] = merged;
    setPos(out, key, posOf(over, key));
  }
  return out;
}

function mergeKeyed(base: Tree[], over: Tree[], key: (item: Tree) => string, field: string): Tree[] {
  const byKey = new Map<string, { item: Tree; pos: ReturnType<typeof posOf> }>();
  base.forEach((item, i) => byKey.set(key(item), { item, pos: posOf(base, i) }));
  over.forEach((item, i) => byKey.set(key(item), { item, pos: posOf(over, i) }));
  const entries = [...byKey.values()];
  const sortKey = (e: { item: Tree }): string | number => {
    const m = e.item as TreeMap;
    return field === 'ports' ? Number(m.published ?? 0) : scalarText(field === 'volumes' ? m.target : m.source);
  };
  entries.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
  const out: Tree[] = [];
  for (const e of entries) {
    setPos(out, out.length, e.pos);
    out.push(e.item);
  }
  return out;
}

function mergeNetworks(base: TreeMap, over: TreeMap): TreeMap {
  const out = mergeEntries(base, over);
  for (const k of Object.keys(over)) if (over[k] === null && k in base) out[k] = base[k]!;
  return out;
}

/** Maps merged key by key, lists appended, scalars overridden (a null never overrides). */
export function deepMerge(base: Tree | undefined, over: Tree): Tree {
  if (over === null) return base ?? null;
  if (isMapValue(base) && isMapValue(over)) {
    const out: TreeMap = { ...base };
    copyPositions(base, out);
    for (const [k, v] of Object.entries(over)) {
      out[k] = deepMerge(base[k], v);
      setPos(out, k, posOf(over, k));
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(over)) {
    const out: Tree[] = [];
    for (const list of [base, over])
      list.forEach((item, i) => {
        setPos(out, out.length, posOf(list, i));
        out.push(item);
      });
    return out;
  }
  return over;
}
