/**
 * The git source: desired state from a branch, tag or commit of a git repository.
 *
 * Layout of `cacheDir` (one source per cacheDir; parseSourceSpec derives one per source):
 *   mirror.git/         bare mirror: `git clone --bare` once, then on every fetch()
 *                       `git fetch --prune origin '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'`
 *   revisions/<sha>/    the tree of a commit, extracted once with `git archive | tar -x`
 *                       (no hooks, no checkout, links stay links); the 3 most recently used are kept
 *
 * The ref resolves to a full commit SHA: a branch first, then a tag (peeled to its commit),
 * then a commit SHA (full, or abbreviated if unambiguous). Without a ref, the remote's HEAD
 * branch as recorded when the mirror was cloned is followed; if that branch disappears, the
 * remote is asked again. An unchanged repository costs one `git fetch` and one `git rev-parse`.
 * fetch() calls on sources sharing a cacheDir run one at a time.
 *
 * Private repositories (git-auth.ts): an ssh URL fetches with a deploy key and checks the host
 * key against a known_hosts file; an https URL with --git-token-file sends that token through
 * a credential helper. The credential files are read again at every fetch
 * (git-credentials.ts), and a failure they cause is reported as such (SC1101 to SC1103).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { credentialFailure, gitAuthFor, type GitAuth, type GitCredentialOptions } from './git-auth.js';
import { GitFailure, runGit, type GitContext } from './git-command.js';
import { GitCredentials } from './git-credentials.js';
import { parseGitUrl, type GitUrl } from './git-url.js';
import { redactUrl, secretsOf } from './redact.js';
import { isDirectory, keptRevisions, materialise, pruneRevisions, touch } from './revisions.js';
import { serialised } from './serialise.js';
import { SourceError, type DesiredSource, type Snapshot } from './types.js';

export interface GitSourceOptions {
  /** Any URL git understands (https, ssh, scp-like `git@host:org/repo`, file://) or a local path. */
  url: string;
  /** Branch, tag or commit; default: the remote HEAD branch. */
  ref?: string;
  /** Directory inside the repository, default ".". */
  path?: string;
  /** Where the mirror and the materialised revisions live. */
  cacheDir: string;
  /** Time limit for each git process, default 60 s. */
  gitTimeoutMs?: number;
  /** The deploy key, known_hosts and token flags (git-auth.ts); absent: the defaults, none given. */
  credentials?: GitCredentialOptions;
}

export const defaultGitTimeoutMs = 60_000;

const fullSha = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;
const abbreviatedSha = /^[0-9a-f]{4,63}$/i;

/**
 * Attributes applied to every archived tree (info/attributes overrides the repository's own):
 * no export-ignore / export-subst, no filters, no end-of-line conversion: the files exactly
 * as committed.
 */
const archiveAttributes = '* -export-ignore -export-subst -filter -text -ident\n';

/** True for URLs git treats as remote (scheme:// or scp-like host:path); false for local paths. */
export function isRemoteUrl(url: string): boolean {
  return readUrl(url).transport !== 'local';
}

/** parseGitUrl, its one refusal (a port out of range) as a SourceError. */
export function readUrl(url: string): GitUrl {
  try {
    return parseGitUrl(url);
  } catch (err) {
    throw new SourceError(`git URL ${redactUrl(url)}: ${(err as Error).message}`, { code: 'SC9001' });
  }
}

/** Normalises the path inside the repository; refuses absolute paths and paths escaping it. */
export function normaliseRepoPath(path: string): string {
  if (path === '' || path === '.') return '.';
  if (path.includes('\0')) throw new SourceError(`path ${JSON.stringify(path)} contains a NUL character`);
  if (isAbsolute(path) || path.startsWith('/')) {
    throw new SourceError(`path "${path}" must be relative to the repository root, not absolute`);
  }
  const normal = posix.normalize(path).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../')) {
    throw new SourceError(`path "${path}" escapes the repository (it leads outside the repository root through "..")`);
  }
  return normal === '' ? '.' : normal;
}

/** Refuses what cannot be a branch, tag or commit name (and anything git could read as an option). */
export function normaliseRef(ref: string | undefined): string | undefined {
  if (ref === undefined || ref === '' || ref === 'HEAD') return undefined;
  const bad =
    ref.startsWith('-') ||
    ref.includes('..') ||
    ref.includes('@{') ||
    ref.includes('//') ||
    /[\s~^:?*[\\\x00-\x1f\x7f]/.test(ref) ||
    /(^|\/)\./.test(ref) ||
    /(\.lock|\/|\.)$/.test(ref) ||
    ref === '@';
  if (bad) throw new SourceError(`ref "${ref}" is not a valid branch, tag or commit name`);
  return ref;
}

export function gitSource(options: GitSourceOptions): DesiredSource {
  if (typeof options.url !== 'string' || options.url.trim() === '')
    throw new SourceError('a git source needs a repository URL');
  if (typeof options.cacheDir !== 'string' || options.cacheDir === '')
    throw new SourceError('a git source needs a cache directory');
  const timeoutMs = options.gitTimeoutMs ?? defaultGitTimeoutMs;
  if (!(timeoutMs > 0))
    throw new SourceError(`gitTimeoutMs must be a positive number of milliseconds, not ${timeoutMs}`);
  return new GitSource(
    options.url,
    normaliseRef(options.ref),
    normaliseRepoPath(options.path ?? '.'),
    resolve(options.cacheDir),
    timeoutMs,
    options.credentials,
  );
}

class GitSource implements DesiredSource {
  private readonly remote: string;
  private readonly display: string;
  private readonly mirrorDir: string;
  private readonly revisionsDir: string;
  private readonly auth: GitAuth;
  private readonly credentials: GitCredentials;
  /** The context of the fetch in progress: its credentials as read at its start. */
  private ctx: GitContext;
  private mirrorChecked = false;
  private current?: Snapshot;

  constructor(
    url: string,
    private readonly ref: string | undefined,
    private readonly path: string,
    private readonly cacheDir: string,
    timeoutMs: number,
    credentials: GitCredentialOptions | undefined,
  ) {
    const parsed = readUrl(url);
    const local = parsed.transport === 'local';
    this.remote = local ? resolve(url) : url;
    this.display = redactUrl(url);
    this.mirrorDir = join(cacheDir, 'mirror.git');
    this.revisionsDir = join(cacheDir, 'revisions');
    this.auth = gitAuthFor(parsed, `git source ${this.display}`, credentials);
    this.credentials = new GitCredentials(this.auth, this.describe());
    this.ctx = {
      cwd: cacheDir,
      timeoutMs,
      fileProtocol: local || parsed.transport === 'file',
      secrets: secretsOf(url),
    };
  }

  describe(): string {
    return `git ${this.display}#${this.ref ?? 'HEAD'}${this.path === '.' ? '' : `:${this.path}`}`;
  }

  fetch(): Promise<Snapshot> {
    return serialised(this.cacheDir, () => this.fetchNow());
  }

  private async fetchNow(): Promise<Snapshot> {
    const { env, config, secrets } = await this.credentials.prepare();
    this.ctx = { ...this.ctx, env, config, secrets: [...secretsOf(this.remote), ...secrets] };
    await mkdir(this.cacheDir, { recursive: true });
    await this.ensureMirror();
    await this.fetchRefs();
    const sha = await this.resolveRef();
    if (this.current && this.current.revision === sha && (await isDirectory(this.current.dir)))
      return { ...this.current };

    await this.checkPath(sha);
    const { message, committedAt } = await this.commitInfo(sha);
    let revisionDir: string;
    try {
      revisionDir = await materialise(this.revisionsDir, this.mirrorDir, sha, this.ctx);
    } catch (err) {
      throw new SourceError(`${this.describe()}: cannot extract commit ${sha}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    await touch(revisionDir);
    await pruneRevisions(this.revisionsDir, sha, keptRevisions, Math.max(10 * 60_000, 2 * this.ctx.timeoutMs));
    this.current = { revision: sha, dir: join(revisionDir, this.path), message, committedAt };
    return { ...this.current };
  }

  /** A failed clone, fetch or ls-remote: what it says about the credentials, else git's own words. */
  private remoteError(what: string, err: unknown): SourceError {
    const failure = err instanceof GitFailure && !err.timedOut ? credentialFailure(err.stderr, this.auth) : undefined;
    if (failure)
      return new SourceError(`${this.describe()}: ${what}: ${failure.reason}`, { cause: err, code: failure.code });
    return new SourceError(`${this.describe()}: ${what}: ${(err as Error).message}`, { cause: err });
  }

  private git(args: string[]): Promise<string> {
    return runGit([`--git-dir=${this.mirrorDir}`, ...args], this.ctx);
  }

  /** Clones the bare mirror if there is none (into a temporary directory, renamed when complete). */
  private async ensureMirror(): Promise<void> {
    if (await isDirectory(join(this.mirrorDir, 'objects'))) {
      if (!this.mirrorChecked) {
        // The URL may have changed (new credentials, moved repository): follow it.
        const configured = await this.git(['config', '--get', 'remote.origin.url']).catch(() => '');
        if (configured.trim() !== this.remote) await this.git(['config', 'remote.origin.url', this.remote]);
        await writeAttributes(this.mirrorDir);
        this.mirrorChecked = true;
      }
      return;
    }
    await removeStaleMirrorTemps(this.cacheDir, Math.max(10 * 60_000, 2 * this.ctx.timeoutMs));
    const temp = join(this.cacheDir, `.mirror-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await runGit(['clone', '--bare', '--quiet', '--', this.remote, temp], this.ctx);
      await writeAttributes(temp);
      await rm(this.mirrorDir, { recursive: true, force: true }); // a broken leftover without objects/
      await rename(temp, this.mirrorDir);
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      throw this.remoteError('cannot clone the repository', err);
    }
    this.mirrorChecked = true;
  }

  private async fetchRefs(): Promise<void> {
    try {
      await this.git([
        'fetch',
        '--prune',
        '--quiet',
        '--no-write-fetch-head',
        'origin',
        '+refs/heads/*:refs/heads/*',
        '+refs/tags/*:refs/tags/*',
      ]);
    } catch (err) {
      throw this.remoteError('cannot fetch from the repository', err);
    }
  }

  /** `git rev-parse --verify` of a revision expression: the SHA, or undefined when it does not exist. */
  private async revParse(expression: string): Promise<string | undefined> {
    try {
      return (await this.git(['rev-parse', '--verify', '--quiet', expression])).trim() || undefined;
    } catch (err) {
      if (err instanceof GitFailure && err.exitCode === 1 && !err.timedOut) return undefined;
      throw new SourceError(`${this.describe()}: cannot resolve ${expression}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private async resolveRef(): Promise<string> {
    const ref = this.ref;
    if (ref === undefined) return this.resolveDefaultBranch();
    if (fullSha.test(ref)) {
      let sha = await this.revParse(`${ref}^{commit}`);
      if (!sha) {
        // Not on any branch or tag: servers that allow it send a commit asked for by SHA.
        await this.git(['fetch', '--quiet', '--no-write-fetch-head', 'origin', ref]).catch(() => undefined);
        sha = await this.revParse(`${ref}^{commit}`);
      }
      if (!sha)
        throw new SourceError(
          `${this.describe()}: commit ${ref} not found: it is on no branch or tag of ${this.display}, and the server would not send it`,
        );
      return sha;
    }
    const candidates = ref.startsWith('refs/') ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
    if (abbreviatedSha.test(ref)) candidates.push(ref);
    for (const candidate of candidates) {
      const sha = await this.revParse(`${candidate}^{commit}`);
      if (sha) return sha;
    }
    throw new SourceError(
      `${this.describe()}: ref "${ref}" not found: no branch, tag or commit of that name${await this.knownRefs()}`,
    );
  }

  private async resolveDefaultBranch(): Promise<string> {
    const sha = await this.revParse('HEAD^{commit}');
    if (sha) return sha;
    // The branch HEAD pointed at is gone (or the repository was empty): ask the remote.
    let advertised: string;
    try {
      advertised = await this.git(['ls-remote', '--symref', 'origin', 'HEAD']);
    } catch (err) {
      throw this.remoteError('cannot read the remote HEAD branch', err);
    }
    const branch = /^ref: (refs\/heads\/\S+)\s+HEAD$/m.exec(advertised)?.[1];
    if (!branch) {
      throw new SourceError(
        `${this.describe()}: ${this.display} has no default branch (is the repository empty?); give a branch, tag or commit explicitly`,
      );
    }
    await this.git(['symbolic-ref', 'HEAD', branch]);
    const again = await this.revParse('HEAD^{commit}');
    if (!again)
      throw new SourceError(
        `${this.describe()}: the default branch ${branch.slice('refs/heads/'.length)} of ${this.display} has no commits`,
      );
    return again;
  }

  /** ", branches: a, b; tags: v1" for an unknown-ref message (at most 10 of each). */
  private async knownRefs(): Promise<string> {
    let out: string;
    try {
      out = await this.git(['for-each-ref', '--format=%(refname)', 'refs/heads', 'refs/tags']);
    } catch {
      return '';
    }
    const names = out.split('\n').filter(Boolean);
    const list = (prefix: string) => {
      const found = names.filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length));
      return found.length > 10 ? `${found.slice(0, 10).join(', ')}, ... (${found.length} in all)` : found.join(', ');
    };
    const branches = list('refs/heads/');
    const tags = list('refs/tags/');
    return `${branches ? `; branches: ${branches}` : '; no branches'}${tags ? `; tags: ${tags}` : ''}`;
  }

  /** How the ref is named in messages: the ref as given, or the branch HEAD follows. */
  private async refLabel(): Promise<string> {
    if (this.ref !== undefined) return `ref "${this.ref}"`;
    const branch = await this.git(['symbolic-ref', '--short', 'HEAD']).catch(() => '');
    return branch.trim() ? `the default branch "${branch.trim()}"` : 'the default branch';
  }

  /** The source's path must be a directory (a tree) in that commit. */
  private async checkPath(sha: string): Promise<void> {
    if (this.path === '.') return;
    let type: string;
    try {
      type = (await this.git(['cat-file', '-t', `${sha}:${this.path}`])).trim();
    } catch (err) {
      if (err instanceof GitFailure && !err.timedOut && err.exitCode === 128) {
        throw new SourceError(
          `${this.describe()}: path "${this.path}" does not exist in ${await this.refLabel()} at commit ${sha}`,
        );
      }
      throw new SourceError(`${this.describe()}: cannot look up path "${this.path}": ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (type !== 'tree') {
      const what = type === 'blob' ? 'a file or a link' : type === 'commit' ? 'a submodule' : `a ${type}`;
      throw new SourceError(
        `${this.describe()}: path "${this.path}" is ${what}, not a directory, in ${await this.refLabel()} at commit ${sha}`,
      );
    }
  }

  private async commitInfo(sha: string): Promise<{ message: string; committedAt: string }> {
    let out: string;
    try {
      out = await this.git(['show', '-s', '--format=%aI%x00%s', sha]);
    } catch (err) {
      throw new SourceError(`${this.describe()}: cannot read commit ${sha}: ${(err as Error).message}`, { cause: err });
    }
    const [committedAt = '', message = ''] = out.replace(/\n$/, '').split('\0');
    return { message, committedAt };
  }
}

async function writeAttributes(gitDir: string): Promise<void> {
  const file = join(gitDir, 'info', 'attributes');
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing === archiveAttributes) return;
  await mkdir(join(gitDir, 'info'), { recursive: true });
  await writeFile(file, archiveAttributes);
}

/** Removes clones left behind by an interrupted process (old enough that none is still running). */
async function removeStaleMirrorTemps(cacheDir: string, staleMs: number): Promise<void> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith('.mirror-tmp-')) continue;
    const path = join(cacheDir, name);
    const mtimeMs = await stat(path).then(
      (s) => s.mtimeMs,
      () => Date.now(),
    );
    if (Date.now() - mtimeMs > staleMs) await rm(path, { recursive: true, force: true });
  }
}
