/**
 * The checks App manifests need beyond their schema, over every App of a root source at once:
 * names and apply sets used twice, dependsOn naming an app that is not declared (or itself),
 * dependency cycles, and the sync windows and notifications each App embeds (compiled with
 * src/schedule/ and src/notify/, whose own checks name the field). Every problem is a
 * diagnostic at the field's position; with any of them the root revision is refused whole.
 * Pure: no I/O.
 */
import type { AppManifest } from '../api/schemas.js';
import { diagnostic, type Diagnostic } from '../errors.js';
import { compileNotifications } from '../notify/config.js';
import { compileWindows } from '../schedule/compile-windows.js';
import type { ManifestDocument } from './yaml-documents.js';

/** An App manifest and where it was declared. */
export interface LoadedApp {
  manifest: AppManifest;
  document: ManifestDocument;
}

/** The apply set an App's objects carry: spec.applySet, or the App's name. */
export const appApplySet = (m: AppManifest): string => m.spec.applySet ?? m.metadata.name;

export function checkApps(apps: LoadedApp[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (o: LoadedApp, path: (string | number)[], message: string, fix: string) =>
    out.push(
      diagnostic('SC8101', message, {
        position: o.document.positionOf(path),
        object: `App "${o.manifest.metadata.name}"`,
        field: path
          .map((p) => (typeof p === 'number' ? `[${p}]` : p))
          .join('.')
          .replace(/\.\[/g, '['),
        fix,
      }),
    );
  const byName = new Map<string, LoadedApp>();
  const bySet = new Map<string, LoadedApp>();
  for (const o of apps) {
    const name = o.manifest.metadata.name;
    const first = byName.get(name);
    if (first) {
      const p = first.document.positionOf(['metadata', 'name']);
      at(o, ['metadata', 'name'], `declared twice; first at ${p.file}:${p.line}`, 'give each App its own name');
    } else byName.set(name, o);
    const set = appApplySet(o.manifest);
    const other = bySet.get(set);
    if (other && other !== first)
      at(
        o,
        o.manifest.spec.applySet ? ['spec', 'applySet'] : ['metadata', 'name'],
        `apply set "${set}" is also the apply set of App "${other.manifest.metadata.name}"`,
        'give each App its own apply set: two loops would prune each other',
      );
    else bySet.set(set, o);
  }
  for (const o of apps) {
    const name = o.manifest.metadata.name;
    (o.manifest.spec.dependsOn ?? []).forEach((dep, i) => {
      if (dep === name) at(o, ['spec', 'dependsOn', i], 'an App cannot depend on itself', 'remove it from dependsOn');
      else if (!byName.has(dep))
        at(
          o,
          ['spec', 'dependsOn', i],
          `App "${dep}" is not declared`,
          `declare an App named "${dep}" in the root source, or remove it from dependsOn (declared: ${[...byName.keys()].join(', ')})`,
        );
    });
    const windows = compileWindows(o.manifest.spec.syncWindows ?? [], {
      field: 'spec.syncWindows',
      position: (field) => o.document.positionOf(fieldPath(field)),
    });
    for (const d of windows.problems) out.push({ ...d, object: `App "${name}"` });
    if (o.manifest.spec.notifications) {
      const n = compileNotifications(o.manifest.spec.notifications, {
        field: 'spec.notifications',
        position: (field) => o.document.positionOf(fieldPath(field)),
      });
      for (const d of n.problems) out.push({ ...d, object: `App "${name}"` });
    }
  }
  for (const cycle of dependencyCycles(apps.map((o) => o.manifest))) {
    const o = byName.get(cycle[0])!;
    at(
      o,
      ['spec', 'dependsOn'],
      `dependency cycle: ${[...cycle, cycle[0]].join(' -> ')}`,
      'remove one of these dependsOn entries: no App of a cycle could ever apply',
    );
  }
  return out;
}

/** Cycles found by one depth-first walk (each node visited once), each starting at its smallest name. */
export function dependencyCycles(apps: AppManifest[]): string[][] {
  const deps = new Map<string, string[]>();
  for (const a of apps) if (!deps.has(a.metadata.name)) deps.set(a.metadata.name, a.spec.dependsOn ?? []); // the first of a name
  const state = new Map<string, 'open' | 'done'>();
  const cycles = new Map<string, string[]>();
  const path: string[] = [];
  const visit = (name: string) => {
    state.set(name, 'open');
    path.push(name);
    for (const d of deps.get(name) ?? []) {
      if (!deps.has(d) || d === name) continue;
      if (state.get(d) === 'open') {
        const cycle = path.slice(path.indexOf(d));
        const start = cycle.indexOf([...cycle].sort()[0]);
        const norm = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(norm.join('>'), norm);
      } else if (!state.has(d)) visit(d);
    }
    path.pop();
    state.set(name, 'done');
  };
  for (const name of [...deps.keys()].sort()) if (!state.has(name)) visit(name);
  return [...cycles.values()].sort((a, b) => a.join().localeCompare(b.join()));
}

/** "spec.syncWindows[0].schedule" -> ["spec", "syncWindows", 0, "schedule"] */
function fieldPath(field: string): (string | number)[] {
  return field
    .split(/\.|(?=\[)/)
    .filter(Boolean)
    .map((p) => (/^\[\d+\]$/.test(p) ? Number(p.slice(1, -1)) : p));
}
