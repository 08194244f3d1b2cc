/**
 * Finds and reads manifest files: files and directories (recursively, `.yaml` and `.yml`,
 * in sorted order) or standard input for `-`. Reading only; parsing is yaml-documents.ts.
 * Refuses files that are too large, not UTF-8, not regular files (a FIFO or a device would
 * block or never end), reached through a link that leaves the directory being read, or read
 * twice through a link loop. Reading is bounded: at most maxFileBytes per file and
 * maxTotalBytes in all, whatever the file system claims.
 */
import { constants } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { diagnostic, type Diagnostic } from '../errors.js';

export interface SourceFile {
  /** The path as the user should see it (relative to the working directory where possible). */
  path: string;
  text: string;
  /** The directory file references of its manifests must stay in: the -f directory, or the file's own; absent for stdin. */
  root?: string;
}

export const maxFileBytes = 4 * 1024 * 1024;
/** All files of one load together; beyond it the rest are refused (SC1007). */
export const maxTotalBytes = 64 * 1024 * 1024;

export interface ReadResult {
  files: SourceFile[];
  diagnostics: Diagnostic[];
}

export async function readSources(
  paths: string[],
  readStdin: () => Promise<Buffer> = readAllStdin,
): Promise<ReadResult> {
  const files: SourceFile[] = [];
  const diagnostics: Diagnostic[] = [];
  const state: WalkState = { visited: new Set(), bytes: 0 };
  for (const p of paths) {
    if (p === '-') {
      decodeInto('<stdin>', await readStdin(), files, diagnostics, state);
      continue;
    }
    let info;
    try {
      info = await stat(p);
    } catch (err) {
      diagnostics.push(
        diagnostic('SC1005', `cannot read "${p}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
          position: { file: p, line: 1, column: 1 },
          fix: 'check the path given with -f',
        }),
      );
      continue;
    }
    if (info.isDirectory()) {
      const root = await realpath(p);
      state.visited.add(root);
      await walk(p, root, files, diagnostics, state);
    } else {
      await readOne(p, files, diagnostics, state, await realpath(dirname(p)));
    }
  }
  if (files.length === 0 && diagnostics.length === 0) {
    diagnostics.push(
      diagnostic('SC1006', `no .yaml or .yml files found in ${paths.join(', ')}`, {
        fix: 'point -f at a manifest file or a directory that contains manifests',
      }),
    );
  }
  return { files, diagnostics };
}

interface WalkState {
  /** Real paths of the directories read so far: a link back to one of them is a loop. */
  visited: Set<string>;
  /** Bytes read so far, against maxTotalBytes. */
  bytes: number;
}

async function walk(
  dir: string,
  root: string,
  files: SourceFile[],
  diagnostics: Diagnostic[],
  state: WalkState,
): Promise<void> {
  let listed;
  try {
    listed = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    diagnostics.push(
      diagnostic(
        'SC1005',
        `cannot read the directory "${dir}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        {
          position: { file: dir, line: 1, column: 1 },
          fix: 'check the directory exists and is readable',
        },
      ),
    );
    return;
  }
  const entries = listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    const isManifest = /\.ya?ml$/.test(entry.name);
    if (entry.isSymbolicLink()) {
      let target: string;
      try {
        target = await realpath(full);
      } catch {
        if (isManifest)
          diagnostics.push(
            diagnostic('SC1005', `"${full}" is a broken link`, {
              position: { file: full, line: 1, column: 1 },
              fix: 'remove the link or point it at a file',
            }),
          );
        continue;
      }
      if (target !== root && !target.startsWith(root + sep)) {
        diagnostics.push(
          diagnostic('SC1009', `"${full}" links to "${target}", outside "${relative(process.cwd(), root) || '.'}"`, {
            position: { file: full, line: 1, column: 1 },
            fix: 'keep manifests inside the directory being applied; copy the file instead of linking it',
          }),
        );
        continue;
      }
      const info = await stat(target);
      if (info.isDirectory()) {
        if (state.visited.has(target)) {
          diagnostics.push(
            diagnostic(
              'SC1005',
              `"${full}" links to "${target}", a directory already read (a link loop, or a second path to the same manifests)`,
              {
                position: { file: full, line: 1, column: 1 },
                fix: 'remove the link; every manifest must be read once',
              },
            ),
          );
          continue;
        }
        state.visited.add(target);
        await walk(full, root, files, diagnostics, state);
      } else if (isManifest) await readOne(full, files, diagnostics, state, root);
      continue;
    }
    if (entry.isDirectory()) {
      state.visited.add(await realpath(full).catch(() => full));
      await walk(full, root, files, diagnostics, state);
    } else if (entry.isFile() && isManifest) await readOne(full, files, diagnostics, state, root);
  }
}

async function readOne(
  path: string,
  files: SourceFile[],
  diagnostics: Diagnostic[],
  state: WalkState,
  root: string,
): Promise<void> {
  try {
    // stat first: opening a FIFO without a writer would block, even before fstat could tell.
    const info = await stat(path);
    if (!info.isFile()) {
      diagnostics.push(notRegular(path));
      return;
    }
    if (info.size > maxFileBytes) {
      diagnostics.push(tooLarge(path, info.size));
      return;
    }
    const bytes = await readBounded(path, maxFileBytes + 1);
    if (bytes === undefined) {
      diagnostics.push(notRegular(path));
      return;
    }
    decodeInto(path, bytes, files, diagnostics, state, root);
  } catch (err) {
    diagnostics.push(
      diagnostic('SC1005', `cannot read "${path}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
        position: { file: path, line: 1, column: 1 },
        fix: 'check the file exists and is readable',
      }),
    );
  }
}

/**
 * Reads at most `limit` bytes. Non-blocking open and fstat make sure what was opened is a
 * regular file (undefined if not), even if the path was swapped after the stat above; the
 * limit holds even for files whose size the file system reports as 0 (/proc).
 */
async function readBounded(path: string, limit: number): Promise<Buffer | undefined> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < limit) {
      const chunk = Buffer.alloc(Math.min(1024 * 1024, limit - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks);
  } finally {
    await handle.close();
  }
}

function notRegular(path: string): Diagnostic {
  return diagnostic('SC1005', `"${path}" is not a regular file (a FIFO, device or socket cannot be a manifest)`, {
    position: { file: path, line: 1, column: 1 },
    fix: 'point -f at manifest files or directories; use -f - to read standard input',
  });
}

function tooLarge(path: string, size: number): Diagnostic {
  const what =
    path === '<stdin>'
      ? `standard input holds more than ${maxFileBytes} bytes (read ${size} before stopping)`
      : `file is ${size} bytes`;
  return diagnostic('SC1007', `${what}; the limit is ${maxFileBytes} bytes`, {
    position: { file: path, line: 1, column: 1 },
    fix: 'split it into several files; manifests this large are almost always generated by mistake',
  });
}

function decodeInto(
  path: string,
  bytes: Buffer,
  files: SourceFile[],
  diagnostics: Diagnostic[],
  state: WalkState,
  root?: string,
): void {
  if (bytes.length > maxFileBytes) {
    diagnostics.push(tooLarge(path, bytes.length));
    return;
  }
  if (state.bytes + bytes.length > maxTotalBytes) {
    diagnostics.push(
      diagnostic(
        'SC1007',
        `the manifests read so far and this file total more than ${maxTotalBytes} bytes; this file is not read`,
        {
          position: { file: path, line: 1, column: 1 },
          fix: 'apply fewer files at once (split the directory into several apply sets), or remove generated files',
        },
      ),
    );
    return;
  }
  state.bytes += bytes.length;
  try {
    files.push({ path, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), ...(root ? { root } : {}) });
  } catch {
    const text = bytes.toString('utf8');
    const at = text.indexOf('\uFFFD');
    const before = text.slice(0, Math.max(at, 0));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    diagnostics.push(
      diagnostic('SC1008', 'the file is not valid UTF-8', {
        position: { file: path, line, column },
        fix: 'save the file as UTF-8',
      }),
    );
  }
}

/**
 * Standard input, up to the first chunk that passes maxFileBytes: that chunk is kept, so an
 * oversized input is refused (SC1007) rather than cut to a prefix that may parse (it was).
 */
async function readAllStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > maxFileBytes) break;
  }
  return Buffer.concat(chunks);
}

export function displayPath(p: string): string {
  const rel = relative(process.cwd(), resolve(p));
  return rel.startsWith('..') ? p : rel;
}
