/**
 * Names: the default namespace (the compose project name rule) and compose names turned into
 * manifest names (`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, at most 63 characters), with a warning for
 * every name that changed and an error when two names collide.
 */
import { basename, dirname, resolve } from 'node:path';
import type { At, Problems } from './problems.js';

export const namePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Lower-case; anything but a-z, 0-9 and "-" becomes "-"; no "-" at either end; 63 characters. */
export function sanitiseName(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return s || 'x';
}

/**
 * The compose project name: the top-level `name:` if given, else the directory of the first
 * file, lower-cased (compose keeps only a-z, 0-9, "_" and "-"); then made a valid namespace.
 */
export function defaultNamespace(firstFile: string, topLevelName: string | undefined): string {
  const raw = topLevelName ?? basename(dirname(resolve(firstFile)));
  return sanitiseName(raw.toLowerCase().replace(/[^a-z0-9_-]/g, ''));
}

/** Compose name -> manifest name, for one kind; reports changes and collisions. */
export class NameTable {
  private readonly byOriginal = new Map<string, string>();
  private readonly byName = new Map<string, string>();

  constructor(
    private readonly kind: string,
    private readonly problems: Problems,
  ) {}

  add(original: string, where: At): string {
    const known = this.byOriginal.get(original);
    if (known) return known;
    const name = sanitiseName(original);
    const other = this.byName.get(name);
    if (other !== undefined) {
      this.problems.error(
        'SC6006',
        where,
        `${this.kind} "${original}" and "${other}" both become "${name}" in manifests`,
        `rename one of them in the compose file`,
      );
    } else if (name !== original) {
      this.problems.warn(
        'SC6005',
        where,
        `${this.kind} "${original}" is named "${name}" in the manifests (lower-case letters, digits and "-" only)`,
        `rename it "${name}" in the compose file to keep one name; the Swarm name changes with it`,
      );
    }
    this.byOriginal.set(original, name);
    this.byName.set(name, original);
    return name;
  }

  get(original: string): string | undefined {
    return this.byOriginal.get(original);
  }
}
