/**
 * Paths in manifests that must stay inside the directory they are relative to: a secret's
 * target under /run/secrets/, mount sources and targets, a route's path prefix and health
 * path, and (for kinds that read a file next to the manifest) file references, which must not
 * leave the manifest directory. A ".." segment is refused wherever it appears: it either
 * escapes (a secret written over /etc/passwd in the container) or hides where a path really
 * points. Pure; the findings are SC2009 diagnostics at the field.
 */
import type { RouteManifest, ServiceManifest } from '../api/schemas.js';
import { refLabel } from '../api/object-ref.js';
import { diagnostic, type Diagnostic } from '../errors.js';
import type { CheckedObject } from './cross-checks.js';
import { formatPath, preview, type FieldPath } from './yaml-documents.js';

/** True when a "/"- or "\"-separated path has a ".." segment. */
export function hasParentSegment(path: string): boolean {
  return path.split(/[/\\]/).includes('..');
}

/**
 * Why a file reference (a path relative to the manifest's directory) is refused, or
 * undefined: absolute paths, "~" and ".." segments could all read a file outside the
 * directory being applied.
 */
export function fileReferenceProblem(path: string): string | undefined {
  if (path.startsWith('/') || /^[A-Za-z]:[/\\]/.test(path) || path.startsWith('\\'))
    return `${preview(path)} is an absolute path; file references are relative to the manifest's directory`;
  if (path.startsWith('~'))
    return `${preview(path)} starts with "~"; file references are relative to the manifest's directory`;
  if (hasParentSegment(path)) return `${preview(path)} has a ".." segment and could leave the manifest's directory`;
  if (path.includes('\0')) return `${preview(path)} contains a NUL character`;
  return undefined;
}

export function checkPathFields(
  services: CheckedObject<ServiceManifest>[],
  routes: CheckedObject<RouteManifest>[],
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (
    o: CheckedObject<ServiceManifest> | CheckedObject<RouteManifest>,
    path: FieldPath,
    value: string,
    where: string,
    fix: string,
  ) => {
    if (!hasParentSegment(value)) return;
    out.push(
      diagnostic('SC2009', `${preview(value)} has a ".." segment: ${where}`, {
        position: o.document.positionOf(path),
        object: refLabel(o.ref),
        field: formatPath(path),
        fix,
      }),
    );
  };
  for (const s of services) {
    (s.manifest.spec.secrets ?? []).forEach((x, i) => {
      if (typeof x !== 'string' && x.target !== undefined) {
        at(
          s,
          ['spec', 'secrets', i, 'target'],
          x.target,
          'the secret would be written outside /run/secrets/',
          'use a plain file name such as "db-password"',
        );
      }
    });
    (s.manifest.spec.mounts ?? []).forEach((m, i) => {
      if (m.source !== undefined && m.type === 'bind')
        at(
          s,
          ['spec', 'mounts', i, 'source'],
          m.source,
          'the host path does not say plainly what is mounted',
          'write the absolute host path without "..", e.g. /srv/data',
        );
      at(
        s,
        ['spec', 'mounts', i, 'target'],
        m.target,
        'the container path does not say plainly where the mount appears',
        'write the absolute container path without "..", e.g. /var/lib/data',
      );
    });
  }
  for (const r of routes) {
    if (r.manifest.spec.pathPrefix !== undefined)
      at(
        r,
        ['spec', 'pathPrefix'],
        r.manifest.spec.pathPrefix,
        'clients and proxies normalise ".." away, so the prefix would never match as written',
        'write the prefix without ".." segments, e.g. /shop',
      );
    const health = r.manifest.spec.healthCheck?.path;
    if (health !== undefined)
      at(
        r,
        ['spec', 'healthCheck', 'path'],
        health,
        'the health check would not ask for the path written',
        'write the path without ".." segments, e.g. /healthz',
      );
  }
  return out;
}
