/**
 * Names: the default namespace (the compose project name rule) and compose names as manifest
 * names. A name Swarm and docker stack deploy accept keeps its spelling (`payment_gateway`,
 * `Web`); one Swarm would refuse (a "." in a service or network name) is changed to fit, with
 * a warning; two that Swarm would take for one (names differ only in case) are an error.
 */
import { basename, dirname, resolve } from 'node:path';
import type { At, Problems } from './problems.js';

export const namePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What Swarm accepts: services and networks are DNS name components; configs and secrets may also hold ".". */
const swarmNamePatterns = {
  service: /^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$/,
  network: /^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$/,
  config: /^[a-zA-Z0-9][-_.a-zA-Z0-9]*$/,
  secret: /^[a-zA-Z0-9][-_.a-zA-Z0-9]*$/,
} as const;

export type NamedKind = keyof typeof swarmNamePatterns;

/** A manifest name for `name`: as it is when Swarm accepts it, else with every other character made "-". */
export function manifestName(kind: NamedKind, name: string): string {
  if (swarmNamePatterns[kind].test(name) && name.length <= 63) return name;
  const file = kind === 'config' || kind === 'secret';
  let s = name
    .replace(file ? /[^-_.a-zA-Z0-9]/g : /[^-_a-zA-Z0-9]/g, '-')
    .replace(/^[^a-zA-Z0-9]+/, '')
    .slice(0, 63);
  if (!file) s = s.replace(/[^a-zA-Z0-9]+$/, '');
  return s || 'x';
}

/** Lower-case; anything but a-z, 0-9 and "-" becomes "-"; no "-" at either end; 63 characters (namespaces). */
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
    private readonly kind: NamedKind,
    private readonly problems: Problems,
  ) {}

  add(original: string, where: At): string {
    const known = this.byOriginal.get(original);
    if (known) return known;
    const name = manifestName(this.kind, original);
    // Swarm keeps one object of a kind per name whatever its case.
    const other = this.byName.get(name.toLowerCase());
    if (other !== undefined) {
      this.problems.error(
        'SC6006',
        where,
        `${this.kind} "${original}" and "${other}" are one name to Swarm ("${name}"; Swarm names ignore case)`,
        `rename one of them in the compose file`,
      );
    } else if (name !== original) {
      this.problems.warn(
        'SC6005',
        where,
        `${this.kind} "${original}" is named "${name}" in the manifests: Swarm refuses that name (docker stack deploy fails on it)`,
        `rename it "${name}" in the compose file to keep one name`,
      );
    }
    this.byOriginal.set(original, name);
    this.byName.set(name.toLowerCase(), original);
    return name;
  }

  get(original: string): string | undefined {
    return this.byOriginal.get(original);
  }
}
