/**
 * Tests of src/source/: the git source against a real local bare repository made in a temp
 * directory (clone, fetch, refs, paths, revisions kept, serialised fetches, redaction), the
 * directory source's content hash, and parseSourceSpec's forms.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { directorySource, gitSource, parseSourceSpec, SourceError, type Snapshot } from '../../src/source/index.js';
import { gitIn as git, testRepository, type TestRepository } from '../helpers/git-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'sc-source-'));
const bare = join(root, 'remote.git');
const work = join(root, 'work');
let caches = 0;
const newCache = () => join(root, `cache-${++caches}`);

/** The bare `remote.git` and its clone `work`, made before the tests. */
let remote: TestRepository;
const commit = (message: string, files: Record<string, string | null>) => remote.commit(files, message);

const manifest = (name: string, image = 'nginx:1.27') =>
  `apiVersion: swarm.example/v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  image: ${image}\n`;

function revisionNames(cacheDir: string): string[] {
  return readdirSync(join(cacheDir, 'revisions'))
    .filter((n) => !n.startsWith('.'))
    .sort();
}

async function rejectsWithSourceError(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  let message = '';
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SourceError, `expected SourceError, got ${String(err)}`);
    message = err.message;
    for (const p of patterns) assert.match(message, p);
    return true;
  });
  return message;
}

let first = '';

before(() => {
  remote = testRepository(bare, work);
  first = commit('first: web service', { 'manifests/web.yaml': manifest('web'), 'README.md': 'not a manifest\n' });
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('gitSource', () => {
  it('first fetch returns the commit SHA, the message and the manifests of the path', async () => {
    const cacheDir = newCache();
    const source = gitSource({ url: bare, path: 'manifests', cacheDir });
    const snap = await source.fetch();
    assert.equal(snap.revision, first);
    assert.match(snap.revision, /^[0-9a-f]{40}$/);
    assert.equal(snap.dir, join(cacheDir, 'revisions', first, 'manifests'));
    assert.equal(readFileSync(join(snap.dir, 'web.yaml'), 'utf8'), manifest('web'));
    assert.equal(snap.message, 'first: web service');
    assert.ok(snap.committedAt && !Number.isNaN(Date.parse(snap.committedAt)), `committedAt ${snap.committedAt}`);
    assert.ok(existsSync(join(cacheDir, 'mirror.git', 'HEAD')), 'bare mirror kept in the cache directory');
  });

  it('sees a new commit on the next fetch, with its message, and keeps the revision when nothing changed', async () => {
    const source = gitSource({ url: bare, ref: 'main', path: 'manifests', cacheDir: newCache() });
    const before = await source.fetch();
    const again = await source.fetch();
    assert.deepEqual(again, before);
    const second = commit('second: api service', { 'manifests/api.yaml': manifest('api') });
    const after = await source.fetch();
    assert.equal(after.revision, second);
    assert.equal(after.message, 'second: api service');
    assert.deepEqual(readdirSync(after.dir).sort(), ['api.yaml', 'web.yaml']);
    assert.ok(existsSync(before.dir), 'the previous revision stays on disk');
  });

  it('follows the remote HEAD branch by default, and a file:// URL works like a path', async () => {
    const head = git(work, 'rev-parse', 'HEAD');
    const snap = await gitSource({ url: `file://${bare}`, cacheDir: newCache() }).fetch();
    assert.equal(snap.revision, head);
    assert.ok(existsSync(join(snap.dir, 'manifests', 'web.yaml')));
  });

  it('resolves an annotated tag to its commit, a lightweight tag, a full SHA and an abbreviated SHA', async () => {
    git(work, 'tag', '-a', 'v1.0', '-m', 'release 1.0', first);
    git(work, 'tag', 'light', first);
    git(work, 'push', '-q', 'origin', 'v1.0', 'light');
    for (const ref of ['v1.0', 'light', first, first.slice(0, 10)]) {
      const snap = await gitSource({ url: bare, ref, path: 'manifests', cacheDir: newCache() }).fetch();
      assert.equal(snap.revision, first, `ref ${ref}`);
      assert.deepEqual(readdirSync(snap.dir), ['web.yaml'], `ref ${ref}`);
      assert.equal(snap.message, 'first: web service');
    }
  });

  it('an unknown branch is a SourceError naming it and the branches that exist', async () => {
    const source = gitSource({ url: bare, ref: 'nope', path: 'manifests', cacheDir: newCache() });
    await rejectsWithSourceError(source.fetch(), /ref "nope" not found/, /branches: main/, /tags: .*v1\.0/);
  });

  it('a path missing in that revision is a SourceError naming the path, the ref and the commit', async () => {
    const source = gitSource({ url: bare, ref: 'main', path: 'deploy/prod', cacheDir: newCache() });
    const head = git(work, 'rev-parse', 'HEAD');
    await rejectsWithSourceError(source.fetch(), /path "deploy\/prod" does not exist/, /ref "main"/, new RegExp(head));
    const file = gitSource({ url: bare, path: 'README.md', cacheDir: newCache() });
    await rejectsWithSourceError(
      file.fetch(),
      /path "README.md" is a file or a link, not a directory/,
      /default branch "main"/,
    );
  });

  it('refuses up front a path that escapes the repository, and a ref that could be an option', () => {
    for (const path of ['..', '../etc', 'manifests/../../x', '/etc']) {
      assert.throws(() => gitSource({ url: bare, path, cacheDir: newCache() }), SourceError, path);
    }
    assert.throws(() => gitSource({ url: bare, path: '../x', cacheDir: newCache() }), /escapes the repository/);
    assert.doesNotThrow(() => gitSource({ url: bare, path: 'a/../manifests', cacheDir: newCache() }));
    assert.throws(
      () => gitSource({ url: bare, ref: '--upload-pack=touch /tmp/x', cacheDir: newCache() }),
      /not a valid branch, tag or commit name/,
    );
  });

  it('a path with ".." that stays inside the repository is normalised', async () => {
    const snap = await gitSource({ url: bare, path: 'x/../manifests/', cacheDir: newCache() }).fetch();
    assert.ok(snap.dir.endsWith(join(snap.revision, 'manifests')));
  });

  it('keeps only the 3 most recent materialised revisions, never deleting the current one', async () => {
    const cacheDir = newCache();
    const source = gitSource({ url: bare, ref: 'main', path: 'manifests', cacheDir });
    const seen: Snapshot[] = [await source.fetch()];
    for (let i = 1; i <= 3; i++) {
      commit(`scale ${i}`, { 'manifests/web.yaml': manifest('web', `nginx:1.${27 + i}`) });
      seen.push(await source.fetch());
    }
    assert.equal(new Set(seen.map((s) => s.revision)).size, 4);
    assert.deepEqual(
      revisionNames(cacheDir),
      seen
        .slice(1)
        .map((s) => s.revision)
        .sort(),
    );
    assert.ok(!existsSync(seen[0].dir), 'the oldest revision is deleted');
    // Going back to an older revision keeps it as current and drops the least recently used.
    const back = await gitSource({ url: bare, ref: seen[1].revision, path: 'manifests', cacheDir }).fetch();
    assert.equal(back.revision, seen[1].revision);
    assert.equal(revisionNames(cacheDir).length, 3);
    assert.ok(existsSync(back.dir));
  });

  it('serialises concurrent fetches: parallel calls give the same snapshot and no git lock errors', async () => {
    // A wrapper around git records whether two git processes ever ran at the same time.
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const bin = join(root, 'bin');
    const marks = join(root, 'marks');
    mkdirSync(bin, { recursive: true });
    mkdirSync(marks, { recursive: true });
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh\nif ! mkdir "${marks}/running" 2>/dev/null; then touch "${marks}/overlap"; fi\nsleep 0.02\n"${realGit}" "$@"\nrc=$?\nrmdir "${marks}/running" 2>/dev/null\nexit $rc\n`,
    );
    chmodSync(join(bin, 'git'), 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath ?? ''}`;
    try {
      const cacheDir = newCache();
      const source = gitSource({ url: bare, ref: 'main', path: 'manifests', cacheDir });
      const other = gitSource({ url: bare, ref: 'main', path: 'manifests', cacheDir }); // same cache, other instance
      const snaps = await Promise.all([source.fetch(), source.fetch(), other.fetch(), source.fetch()]);
      for (const s of snaps) assert.deepEqual(s, snaps[0]);
      assert.equal(snaps[0].revision, git(work, 'rev-parse', 'HEAD'));
      assert.ok(!existsSync(join(marks, 'overlap')), 'two git processes ran at once');
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('an unreachable repository is a SourceError, and credentials never appear in describe() or errors', async () => {
    const missing = gitSource({ url: join(root, 'missing.git'), cacheDir: newCache() });
    await rejectsWithSourceError(missing.fetch(), /cannot clone the repository/, /missing\.git/);

    const url = 'https://deploy:s3cr3t-token@127.0.0.1:1/org/repo.git';
    const source = gitSource({ url, ref: 'main', path: 'deploy/prod', cacheDir: newCache(), gitTimeoutMs: 20_000 });
    assert.equal(source.describe(), 'git https://***@127.0.0.1:1/org/repo.git#main:deploy/prod');
    const message = await rejectsWithSourceError(source.fetch(), /cannot clone/);
    assert.doesNotMatch(message, /s3cr3t|deploy:/);
  });

  it('materialises files exactly as committed, ignoring export-ignore attributes', async () => {
    commit('attributes', { '.gitattributes': 'manifests/** export-ignore\n' });
    const snap = await gitSource({ url: bare, path: 'manifests', cacheDir: newCache() }).fetch();
    assert.ok(existsSync(join(snap.dir, 'web.yaml')));
    commit('no attributes', { '.gitattributes': null });
  });
});

describe('directorySource', () => {
  it('revision changes iff a yaml file changes; dir is the absolute path', async () => {
    const dir = join(root, 'dir-source');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'web.yaml'), manifest('web'));
    writeFileSync(join(dir, 'sub', 'api.yml'), manifest('api'));
    const source = directorySource(dir);
    const a = await source.fetch();
    assert.match(a.revision, /^[0-9a-f]{64}$/);
    assert.equal(a.dir, dir);
    assert.equal(a.message, undefined);
    assert.equal((await source.fetch()).revision, a.revision, 'unchanged directory, same revision');

    writeFileSync(join(dir, 'notes.txt'), 'hello');
    writeFileSync(join(dir, '.hidden.yaml'), manifest('hidden'));
    mkdirSync(join(dir, 'empty'));
    assert.equal((await source.fetch()).revision, a.revision, 'non-manifest and hidden files do not count');

    writeFileSync(join(dir, 'sub', 'api.yml'), manifest('api', 'nginx:1.28'));
    const b = await source.fetch();
    assert.notEqual(b.revision, a.revision, 'edited manifest');
    writeFileSync(join(dir, 'sub', 'api.yml'), manifest('api'));
    assert.equal((await source.fetch()).revision, a.revision, 'content back as before, revision back as before');

    renameSync(join(dir, 'sub', 'api.yml'), join(dir, 'sub', 'api2.yml'));
    assert.notEqual((await source.fetch()).revision, a.revision, 'renamed manifest');
    renameSync(join(dir, 'sub', 'api2.yml'), join(dir, 'sub', 'api.yml'));
    writeFileSync(join(dir, 'db.yaml'), manifest('db'));
    assert.notEqual((await source.fetch()).revision, a.revision, 'added manifest');
    rmSync(join(dir, 'db.yaml'));
    symlinkSync(join(dir, 'web.yaml'), join(dir, 'link.yaml'));
    assert.notEqual((await source.fetch()).revision, a.revision, 'a link to a manifest is read like a file');
  });

  it('a missing directory is a SourceError', async () => {
    const source = directorySource(join(root, 'nowhere'));
    assert.equal(source.describe(), `directory ${join(root, 'nowhere')}`);
    await rejectsWithSourceError(source.fetch(), /nowhere/);
  });
});

describe('parseSourceSpec', () => {
  const cache = () => join(root, 'spec-cache');

  it('recognises directories: "dir:<path>" and a plain existing directory', () => {
    const dir = join(root, 'plain');
    mkdirSync(dir, { recursive: true });
    assert.equal(parseSourceSpec('dir:./manifests', cache()).describe(), 'directory ./manifests');
    assert.equal(parseSourceSpec(dir, cache()).describe(), `directory ${dir}`);
    assert.equal(parseSourceSpec(work, cache()).describe(), `directory ${work}`, 'a checkout is a directory');
  });

  it('recognises git URL forms with ref and path', () => {
    const cases: [string, string][] = [
      ['https://host/org/repo.git#main:deploy/prod', 'git https://host/org/repo.git#main:deploy/prod'],
      ['https://host/org/repo.git', 'git https://host/org/repo.git#HEAD'],
      ['file:///srv/repo.git#v1.2:manifests', 'git file:///srv/repo.git#v1.2:manifests'],
      ['ssh://git@host/org/repo.git#main', 'git ssh://git@host/org/repo.git#main'],
      ['git@github.com:org/repo.git#main:deploy', 'git git@github.com:org/repo.git#main:deploy'],
      ['/srv/repo.git#main', 'git /srv/repo.git#main'],
      ['/srv/repo.git', 'git /srv/repo.git#HEAD'],
      ['/srv/repo.git#:deploy', 'git /srv/repo.git#HEAD:deploy'],
      [`${bare}#v1.0:manifests`, `git ${bare}#v1.0:manifests`],
      ['git:/srv/checkout#main', 'git /srv/checkout#main'],
    ];
    for (const [spec, described] of cases) assert.equal(parseSourceSpec(spec, cache()).describe(), described, spec);
  });

  it('recognises a bare repository directory without the .git suffix, and a checkout with a fragment', () => {
    const plainBare = join(root, 'barerepo');
    git(root, 'clone', '-q', '--bare', bare, plainBare);
    assert.equal(parseSourceSpec(plainBare, cache()).describe(), `git ${plainBare}#HEAD`);
    assert.equal(parseSourceSpec(`${plainBare}#main:manifests`, cache()).describe(), `git ${plainBare}#main:manifests`);
    assert.equal(parseSourceSpec(`${work}#main`, cache()).describe(), `git ${work}#main`);
  });

  it('redacts credentials in describe()', () => {
    const source = parseSourceSpec('https://user:hunter2@git.example.com/org/repo.git#main:deploy/prod', cache());
    assert.equal(source.describe(), 'git https://***@git.example.com/org/repo.git#main:deploy/prod');
    assert.equal(
      parseSourceSpec('https://ghp_token123@git.example.com/r.git', cache()).describe(),
      'git https://***@git.example.com/r.git#HEAD',
    );
  });

  it('refuses what it cannot recognise, and a path escaping the repository', () => {
    assert.throws(
      () => parseSourceSpec(join(root, 'does-not-exist'), cache()),
      /neither an existing directory nor a git repository/,
    );
    assert.throws(() => parseSourceSpec('', cache()), SourceError);
    assert.throws(() => parseSourceSpec('https://host/r.git#main:../../etc', cache()), /escapes the repository/);
  });

  it('gives each git source its own cache directory and fetches through it', async () => {
    const a = await parseSourceSpec(`${bare}#main:manifests`, cache()).fetch();
    const b = await parseSourceSpec(`${bare}#v1.0:manifests`, cache()).fetch();
    assert.equal(b.revision, first);
    assert.notEqual(a.revision, b.revision);
    assert.ok(a.dir.startsWith(join(cache(), 'git') + '/'));
    assert.notEqual(a.dir.split('/revisions/')[0], b.dir.split('/revisions/')[0]);
  });
});
