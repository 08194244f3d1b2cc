/**
 * Small pieces the git tests share: a bare repository with a clone to commit in, files written
 * as Swarm mounts secrets, and a search of a directory tree for a string (a leaked token).
 * Runs git: for integration and e2e tests only.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** git in `cwd` with a committer identity; its stdout, trimmed. */
export function gitIn(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

export interface TestRepository {
  /**
   * Writes the files into the clone (null removes a file or a directory), commits them (even
   * when nothing changed), pushes to the bare repository's main; the commit's SHA.
   */
  commit(files: Record<string, string | null>, message: string): string;
  head(): string;
}

/** A new bare repository at `bare` (branch main) and a clone of it at `clone`. */
export function testRepository(bare: string, clone: string): TestRepository {
  mkdirSync(dirname(bare), { recursive: true });
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  execFileSync('git', ['clone', '-q', bare, clone], { stdio: 'ignore' });
  return {
    commit: (files, message) => {
      for (const [path, text] of Object.entries(files)) {
        if (text === null) {
          rmSync(join(clone, path), { force: true, recursive: true });
          continue;
        }
        mkdirSync(dirname(join(clone, path)), { recursive: true });
        writeFileSync(join(clone, path), text);
      }
      gitIn(clone, 'add', '-A');
      gitIn(clone, 'commit', '-q', '--allow-empty', '-m', message);
      gitIn(clone, 'push', '-q', 'origin', 'HEAD:main');
      return gitIn(clone, 'rev-parse', 'HEAD');
    },
    head: () => gitIn(clone, 'rev-parse', 'HEAD'),
  };
}

/** Writes `<dir>/<name>` as Swarm mounts a secret (owned by root, mode 0444); its path. */
export function secretFile(dir: string, name: string, data: string | Buffer): string {
  const path = join(dir, name);
  rmSync(path, { force: true });
  writeFileSync(path, data);
  chmodSync(path, 0o444);
  return path;
}

/** Every file under `dir` (recursively) whose bytes contain `text`. */
export function filesContaining(dir: string, text: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && readFileSync(p).includes(text)) found.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return found;
}
