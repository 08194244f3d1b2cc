/**
 * parseSourceSpec: turns the text a user gives (`--source`, a config value) into a source.
 *
 * Accepted forms, first match wins:
 *   dir:<path>                        a directory source, e.g. "dir:./manifests"
 *   git:<url>[#<ref>][:<path>]        a git source, whatever the URL looks like
 *   <scheme>://<url>[#<fragment>]     git: "https://host/org/repo.git#main:deploy/prod",
 *                                     "ssh://git@host/org/repo.git#v1.2", "file:///srv/repo.git#v1.2:manifests"
 *   <user>@<host>:<repo>[#<fragment>] git over ssh, scp-like: "git@github.com:org/repo.git#main:deploy",
 *                                     also "[git@host:2222]:org/repo.git" and "git@[::1]:org/repo.git"
 *   <path>#<fragment>                 git, when <path> ends in ".git" or is a git repository:
 *                                     "/srv/repo.git#main", "./repo#v1:manifests"
 *   <path>                            git when it ends in ".git" or is a bare repository (default
 *                                     branch, repository root); otherwise an existing directory
 *                                     is a directory source (a checkout's work tree included)
 * The fragment is `<ref>`, `<ref>:<path>`, `:<path>` (default branch) or empty; the ref is a
 * branch, tag or commit SHA, the path a directory inside the repository ("." by default).
 *
 * Each git source gets its own cache directory, `<cacheDir>/git/<repo name>-<hash>`, the hash
 * taken over the URL without credentials, the ref and the path.
 *
 * `credentials` (the deploy key, known_hosts and token flags) go to a git source; a credential
 * flag given for a directory source is refused.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { directorySource } from './directory-source.js';
import type { GitCredentialOptions } from './git-auth.js';
import { gitSource, isRemoteUrl } from './git-source.js';
import { SourceError, type DesiredSource } from './types.js';

export interface GitSpec {
  url: string;
  ref?: string;
  path?: string;
}

export function parseSourceSpec(spec: string, cacheDir: string, credentials?: GitCredentialOptions): DesiredSource {
  if (typeof spec !== 'string' || spec.trim() === '')
    throw new SourceError('empty source: give a directory or a git URL');
  const git = (parts: GitSpec) => gitFromSpec(parts, cacheDir, credentials);
  const directory = (path: string) => {
    const given = [...(credentials?.given ?? [])];
    if (given.length)
      throw new SourceError(
        `${given.map((f) => `--${f}`).join(', ')} apply to git sources, and "${spec}" is a directory`,
        { code: 'SC9001' },
      );
    return directorySource(path);
  };
  if (spec.startsWith('dir:')) {
    const path = spec.slice('dir:'.length);
    if (path === '') throw new SourceError(`source "${spec}": "dir:" needs a path`);
    return directory(path);
  }
  if (spec.startsWith('git:') && !spec.startsWith('git://')) return git(splitGitSpec(spec.slice('git:'.length)));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec) || scpLike.test(spec)) return git(splitGitSpec(spec));

  // A local path. A directory whose name contains "#" is taken as it is.
  if (isDirectory(spec)) {
    return spec.endsWith('.git') || isBareRepository(spec) ? git({ url: spec }) : directory(spec);
  }
  const hash = spec.indexOf('#');
  if (hash > 0) {
    const base = spec.slice(0, hash);
    if (base.endsWith('.git') || isBareRepository(base) || existsSync(join(base, '.git')))
      return git(splitGitSpec(spec));
  }
  if (spec.endsWith('.git')) return git({ url: spec });
  if (existsSync(spec))
    throw new SourceError(`source "${spec}" is a file: give the directory that holds the manifests`);
  throw new SourceError(
    `source "${spec}" is neither an existing directory nor a git repository (use "dir:<path>", a git URL such as "https://host/org/repo.git#main:deploy", or "<path>.git#<ref>")`,
  );
}

/** Splits "<url>#<ref>:<path>" (the ref and path both optional). */
export function splitGitSpec(text: string): GitSpec {
  const hash = text.indexOf('#');
  if (hash < 0) return { url: text };
  const url = text.slice(0, hash);
  const fragment = text.slice(hash + 1);
  const colon = fragment.indexOf(':');
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const path = colon < 0 ? undefined : fragment.slice(colon + 1);
  return { url, ...(ref ? { ref } : {}), ...(path ? { path } : {}) };
}

/** scp-like ssh: `user@host:path`, `[user@host:port]:path`, `user@[v6]:path`. */
const scpLike = /^(?:[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:|\[[^\]/]+\]:|[A-Za-z0-9._~-]+@\[[^\]/]+\]:)/;

function gitFromSpec(parts: GitSpec, cacheDir: string, credentials: GitCredentialOptions | undefined): DesiredSource {
  if (parts.url === '') throw new SourceError('a git source needs a repository URL before "#"');
  return gitSource({
    ...parts,
    cacheDir: join(resolve(cacheDir), 'git', cacheName(parts)),
    ...(credentials ? { credentials } : {}),
  });
}

/** "<repo name>-<16 hex>" for one URL (credentials left out), ref and path. */
export function cacheName(parts: GitSpec): string {
  const url = isRemoteUrl(parts.url)
    ? parts.url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1')
    : resolve(parts.url);
  const digest = createHash('sha256')
    .update(`${url}\0${parts.ref ?? ''}\0${parts.path ?? '.'}`)
    .digest('hex')
    .slice(0, 16);
  const name = basename(url.replace(/[/:]+$/, '').replace(/^.*:/, ''))
    .replace(/\.git$/, '')
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 40);
  return `${name || 'repo'}-${digest}`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isBareRepository(path: string): boolean {
  return existsSync(join(path, 'HEAD')) && isDirectory(join(path, 'objects')) && isDirectory(join(path, 'refs'));
}
