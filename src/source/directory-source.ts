/**
 * The directory source: desired state read from a local directory. Its revision is a content
 * hash over exactly what the manifest loader (src/manifest/source-files.ts) reads: the
 * .yaml/.yml files found recursively, skipping names that start with "." and following links
 * that stay inside the directory. An unchanged directory keeps its revision; editing, adding,
 * removing or renaming a manifest changes it; other files do not.
 */
import { createHash, type Hash } from 'node:crypto';
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { SourceError, type DesiredSource, type Snapshot } from './types.js';

export function directorySource(path: string): DesiredSource {
  const absolute = resolve(path);
  const describe = () => `directory ${path}`;
  return {
    describe,
    async fetch(): Promise<Snapshot> {
      let isDirectory: boolean;
      try {
        isDirectory = (await stat(absolute)).isDirectory();
      } catch (err) {
        throw new SourceError(
          `${describe()}: cannot read ${absolute}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          { cause: err },
        );
      }
      if (!isDirectory) throw new SourceError(`${describe()}: ${absolute} is not a directory`);
      try {
        return { revision: await manifestTreeHash(absolute), dir: absolute };
      } catch (err) {
        throw new SourceError(`${describe()}: cannot read the manifests: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

interface Entry {
  /** Relative path with "/" separators. */
  rel: string;
  kind: 'file' | 'broken-link' | 'outside-link' | 'link-cycle';
  /** File contents, or the link target for an outside link. */
  data?: Buffer;
}

const isManifestName = (name: string) => /\.ya?ml$/.test(name);

/** The sha256 (64 hex digits) of the manifests under `root`, in sorted path order. */
export async function manifestTreeHash(root: string): Promise<string> {
  const rootReal = await realpath(root);
  const entries: Entry[] = [];
  await collect(root, '', rootReal, new Set([rootReal]), entries);
  entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const hash = createHash('sha256');
  for (const e of entries) addEntry(hash, e);
  return hash.digest('hex');
}

function addEntry(hash: Hash, e: Entry): void {
  const data = e.data ?? Buffer.alloc(0);
  hash.update(`${e.kind}\0${e.rel}\0${data.length}\0`);
  hash.update(data);
}

async function collect(
  dir: string,
  prefix: string,
  rootReal: string,
  ancestors: Set<string>,
  out: Entry[],
): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    const manifest = isManifestName(entry.name);
    if (entry.isSymbolicLink()) {
      let target: string;
      try {
        target = await realpath(full);
      } catch {
        if (manifest) out.push({ rel, kind: 'broken-link' });
        continue;
      }
      if (target !== rootReal && !target.startsWith(rootReal + sep)) {
        // The loader refuses it; still part of the revision so that fixing it is noticed.
        out.push({ rel, kind: 'outside-link', data: Buffer.from(target) });
        continue;
      }
      const info = await stat(target);
      if (info.isDirectory()) {
        if (ancestors.has(target)) {
          out.push({ rel, kind: 'link-cycle' });
          continue;
        }
        await collect(full, rel, rootReal, new Set([...ancestors, target]), out);
      } else if (info.isFile() && manifest) {
        out.push({ rel, kind: 'file', data: await readFile(target) });
      }
      continue;
    }
    if (entry.isDirectory()) {
      const real = await realpath(full);
      await collect(full, rel, rootReal, new Set([...ancestors, real]), out);
    } else if (entry.isFile() && manifest) {
      out.push({ rel, kind: 'file', data: await readFile(full) });
    }
  }
}
