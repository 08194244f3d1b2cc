/**
 * Image references as the docker CLI reads them: `[registry/]repository[:tag][@digest]`.
 * A first component with a "." or ":" or equal to "localhost" is a registry; otherwise the
 * image is on Docker Hub (docker.io, library/ for single names). The canonical spelling is the
 * familiar one (`nginx:latest`, `user/app:1`, `registry.example.com/team/app:2`), with `:latest`
 * added when there is neither tag nor digest, as `docker stack deploy` writes it. Pure.
 */

export const dockerHub = 'docker.io';
/** The key Docker Hub credentials have in config.json `auths`, and what credential helpers are asked for. */
export const dockerHubAuthKey = 'https://index.docker.io/v1/';

/** A registry digest resolved for a service's image (--resolve-image), with the image's platforms. */
export interface ImagePin {
  digest: string;
  /** Placement.Platforms from the image's manifest list, as docker stack deploy writes them. */
  platforms: { Architecture?: string; OS?: string }[];
}

export interface ImageRef {
  /** "docker.io" for Docker Hub. */
  registry: string;
  /** Without the registry; Docker Hub's single names keep no "library/" here. */
  repository: string;
  tag?: string;
  digest?: string;
}

const digestPattern = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

export function parseImageRef(ref: string): ImageRef {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  const first = parts[0];
  let registry = dockerHub;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = dockerHub;
  let repository = parts.join('/');
  if (registry === dockerHub && repository.startsWith('library/') && repository.split('/').length === 2) {
    repository = repository.slice('library/'.length);
  }
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The familiar spelling, with `:latest` when the reference has neither tag nor digest. */
export function canonicalImage(ref: string): string {
  const r = parseImageRef(ref);
  if (!r.tag && !r.digest) r.tag = 'latest';
  return formatImageRef(r);
}

export function formatImageRef(r: ImageRef): string {
  const name = r.registry === dockerHub ? r.repository : `${r.registry}/${r.repository}`;
  return `${name}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** `ref` pinned to `digest` (an existing digest replaced): `app:1@sha256:...`. */
export function withDigest(ref: string, digest: string): string {
  return formatImageRef({ ...parseImageRef(ref), digest });
}

/** `ref` without its digest. */
export function withoutDigest(ref: string): string {
  const { digest: _digest, ...rest } = parseImageRef(ref);
  return formatImageRef(rest);
}

export function isDigest(text: string): boolean {
  return digestPattern.test(text);
}
