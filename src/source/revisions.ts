/**
 * The materialised revisions of a git source: `<cacheDir>/revisions/<sha>/` holds the tree of
 * one commit, written once (extracted into a temporary directory, then renamed into place, so
 * a directory under its SHA is always complete). Keeps the few most recently used revisions
 * and deletes older ones, never the current one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { archiveInto, type GitContext } from './git-command.js';

/** How many materialised revisions a git source keeps (the current one included). */
export const keptRevisions = 3;

const shaName = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const tempPrefix = '.tmp-';

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Makes sure `<revisionsDir>/<sha>/` holds the commit's tree and returns that directory. */
export async function materialise(
  revisionsDir: string,
  mirrorDir: string,
  sha: string,
  ctx: GitContext,
): Promise<string> {
  const final = join(revisionsDir, sha);
  if (await isDirectory(final)) return final;
  await mkdir(revisionsDir, { recursive: true });
  const temp = join(revisionsDir, `${tempPrefix}${sha.slice(0, 12)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(temp);
  try {
    await archiveInto(mirrorDir, sha, temp, ctx);
    await rename(temp, final);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    // Another process may have put the same revision in place first: that is as good.
    if ((err as NodeJS.ErrnoException).code !== undefined && (await isDirectory(final))) return final;
    throw err;
  }
  return final;
}

/** Marks a revision as just used, so pruning counts it among the newest. */
export async function touch(dir: string): Promise<void> {
  const now = new Date();
  await utimes(dir, now, now);
}

/**
 * Deletes all but the `keep` most recently used revisions, never `current`, and temporary
 * directories left by an interrupted extraction (older than `staleTempMs`).
 */
export async function pruneRevisions(
  revisionsDir: string,
  current: string,
  keep: number,
  staleTempMs: number,
): Promise<void> {
  let names: string[];
  try {
    names = await readdir(revisionsDir);
  } catch {
    return;
  }
  const now = Date.now();
  const revisions: { name: string; usedAt: number }[] = [];
  for (const name of names) {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(join(revisionsDir, name))).mtimeMs;
    } catch {
      continue;
    }
    if (name.startsWith(tempPrefix)) {
      if (now - mtimeMs > staleTempMs) await rm(join(revisionsDir, name), { recursive: true, force: true });
    } else if (shaName.test(name) && name !== current) {
      revisions.push({ name, usedAt: mtimeMs });
    }
  }
  revisions.sort((a, b) => b.usedAt - a.usedAt || (a.name < b.name ? -1 : 1));
  for (const old of revisions.slice(Math.max(keep - 1, 0))) {
    await rm(join(revisionsDir, old.name), { recursive: true, force: true });
  }
}
