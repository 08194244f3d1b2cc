/**
 * A SOPS-encrypted YAML file in, its decrypted documents out, in memory, all or nothing: the
 * `sops:` metadata of the first document, the data key from an age stanza, every document
 * walked (tree.ts), and the MAC (SHA-512 over the values, itself encrypted with the data key
 * and `lastmodified` as additional data) checked before anything is returned. Any problem is a
 * SopsProblem, never a partial result. `sopsMarkers` tells cheaply, without keys, whether a
 * text is a SOPS file at all.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isMap, isScalar, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { decryptValue, looksEncrypted, ValueError } from './ciphertext.js';
import { openDataKey, type AgeIdentity } from './age-keys.js';
import { maybeSops, sopsFileName } from './maybe-sops.js';
import { readMetadata } from './metadata.js';
import { fail, SopsFailure, type SopsProblem } from './problem.js';
import { keyText, macOnlyEncryptedInitialization, walkNode, type FieldPath, type WalkState } from './tree.js';

export interface DecryptedDocument {
  /** 0-based index of the document in its file. */
  index: number;
  /** The document without its `sops` key, values decrypted. */
  value: unknown;
  /** Paths of the values that were encrypted (a list item's path includes its index). */
  encrypted: FieldPath[];
}

export interface DecryptedFile {
  documents: DecryptedDocument[];
  /** The sops version that wrote the file. */
  version: string;
}

export type SopsOutcome =
  { ok: true; file: DecryptedFile } | { ok: false; problem: SopsProblem & { line?: number; column?: number } };

/** Up to this many alias expansions per file (the loader allows 100 per document). */
const maxAliases = 1000;

function parse(text: string): Document.Parsed[] {
  return parseAllDocuments(text, { intAsBigInt: true, uniqueKeys: false, prettyErrors: false }) as Document.Parsed[];
}

function topLevelKey(doc: Document.Parsed, key: string): { value: unknown; keyOffset: number } | undefined {
  if (!isMap(doc.contents)) return undefined;
  for (const pair of doc.contents.items)
    if (isScalar(pair.key) && pair.key.value === key) return { value: pair.value, keyOffset: pair.key.range?.[0] ?? 0 };
  return undefined;
}

/** The first string leaf that looks like a SOPS value, with its offset. */
function firstEncryptedLeaf(node: unknown, depth = 0): number | undefined {
  if (depth > 64 || node === null || typeof node !== 'object') return undefined;
  if (isScalar(node))
    return typeof node.value === 'string' && looksEncrypted(node.value) ? (node.range?.[0] ?? 0) : undefined;
  if (isMap(node)) {
    for (const pair of node.items) {
      const at = firstEncryptedLeaf(pair.value, depth + 1);
      if (at !== undefined) return at;
    }
  }
  const items = (node as { items?: unknown[] }).items;
  if (Array.isArray(items))
    for (const item of items) {
      const at = firstEncryptedLeaf(item, depth + 1);
      if (at !== undefined) return at;
    }
  return undefined;
}

/**
 * Without keys: 'encrypted' for a file with SOPS metadata, 'plain' for a file without it and
 * without encrypted values, or a problem: encrypted values without metadata (the `sops:` block
 * was lost), metadata only in a later document, or a file named *.sops.yaml / *.enc.yaml that
 * holds no metadata (a decrypted file committed by mistake?).
 */
export function sopsMarkers(text: string, fileName: string): 'encrypted' | 'plain' | SopsProblem {
  if (!maybeSops(text, fileName)) return 'plain';
  const named = sopsFileName.test(fileName);
  const docs = parse(text);
  const withContent = docs.filter((d) => d.contents !== null);
  const carrying = withContent.findIndex((d) => topLevelKey(d, 'sops') !== undefined);
  if (carrying === 0) return 'encrypted';
  if (carrying > 0)
    return {
      code: 'SC7004',
      message: 'sops metadata is in a later document but not in the first; sops reads it from the first document',
      fix: 'encrypt the whole file with sops; keep plain manifests in other files',
      offset: topLevelKey(withContent[carrying], 'sops')!.keyOffset,
      field: 'sops',
    };
  for (const d of withContent) {
    const at = firstEncryptedLeaf(d.contents);
    if (at !== undefined)
      return {
        code: 'SC7004',
        message: 'the file holds values encrypted with sops (ENC[AES256_GCM,…]) but no sops metadata to decrypt them',
        fix: 'restore the `sops:` block from git history, or encrypt the plain file again with sops',
        offset: at,
      };
  }
  if (named)
    return {
      code: 'SC7004',
      message: 'the file is named like a sops-encrypted file but holds no sops metadata: was it committed decrypted?',
      fix: 'encrypt it with `sops -e -i FILE` (and rotate the secrets it held if it was pushed), or rename it',
      offset: 0,
    };
  return 'plain';
}

/**
 * Decrypts every document of a SOPS YAML file. `identities` is asked only after the metadata
 * was read (so a file encrypted for PGP only is reported as such, whatever keys are at hand);
 * it may throw a SopsFailure (no key, unreadable key file).
 */
export async function decryptSopsYaml(text: string, identities: () => Promise<AgeIdentity[]>): Promise<SopsOutcome> {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, {
    intAsBigInt: true,
    uniqueKeys: false,
    prettyErrors: false,
    lineCounter: lines,
  }) as Document.Parsed[];
  try {
    return { ok: true, file: await decryptDocuments(docs, identities) };
  } catch (err) {
    if (!(err instanceof SopsFailure)) throw err;
    const problem = err.problem;
    if (problem.offset === undefined) return { ok: false, problem };
    const { line, col } = lines.linePos(problem.offset);
    return { ok: false, problem: { ...problem, line, column: col } };
  }
}

async function decryptDocuments(
  docs: Document.Parsed[],
  identities: () => Promise<AgeIdentity[]>,
): Promise<DecryptedFile> {
  for (const d of docs)
    if (d.errors.length)
      fail({
        code: 'SC7004',
        message: 'the file is not YAML SOPS can read',
        fix: 'fix the YAML syntax',
        offset: d.errors[0].pos[0],
      });
  const first = docs.find((d) => d.contents !== null);
  const holder = first && topLevelKey(first, 'sops');
  if (!first || !holder)
    fail({ code: 'SC7004', message: 'the file has no sops metadata', fix: 'encrypt it with sops', offset: 0 });
  const sopsNode = holder.value as Node | null;
  const offsetOf = (field: string): number | undefined => metadataOffset(sopsNode, field) ?? holder.keyOffset;
  const metadata = readMetadata(sopsNode && typeof sopsNode === 'object' ? sopsNode.toJS(first) : sopsNode, offsetOf);
  const ids = await identities();
  if (ids.length === 0)
    fail({
      code: 'SC7001',
      message: 'the file is encrypted with sops, and no age key was given to decrypt it',
      fix: 'give the age key: SOPS_AGE_KEY_FILE=FILE, SOPS_AGE_KEY=AGE-SECRET-KEY-1…, --age-key-file FILE, or ~/.config/sops/age/keys.txt',
      field: 'sops',
      offset: holder.keyOffset,
    });
  const dataKey = await openDataKey(metadata.age, ids, offsetOf);

  const mac = createHash('sha512');
  if (metadata.rules.macOnlyEncrypted) mac.update(macOnlyEncryptedInitialization);
  const out: DecryptedDocument[] = [];
  docs.forEach((doc, index) => {
    const w: WalkState = { dataKey, rules: metadata.rules, mac, doc, aliases: maxAliases, encrypted: [] };
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) return;
    if (!isMap(contents))
      fail({
        code: 'SC7004',
        message: 'a document of the file is not a mapping; sops encrypts mappings only',
        fix: 'write each document as a mapping',
        offset: contents.range?.[0],
      });
    const entries: [string, unknown][] = [];
    for (const pair of contents.items) {
      const key = keyText(pair.key, []);
      if (key === 'sops') continue; // the metadata is not part of the tree (stores/yaml)
      entries.push([key, walkNode(pair.value, [key], [key], w)]);
    }
    out.push({ index, value: Object.fromEntries(entries), encrypted: w.encrypted });
  });
  verifyMac(metadata.mac, metadata.lastModified, dataKey, mac.digest(), offsetOf('mac'));
  return { documents: out, version: metadata.version };
}

function verifyMac(stored: string, lastModified: string, dataKey: Buffer, computed: Buffer, offset?: number): void {
  let expected: string;
  try {
    const d = decryptValue(stored, dataKey, lastModified);
    if (typeof d.value !== 'string') throw new ValueError('not a string', 'type');
    expected = d.value;
  } catch (err) {
    if (!(err instanceof ValueError)) throw err;
    fail({
      code: 'SC7003',
      message: `the MAC (sops.mac) cannot be decrypted (${err.message}); it or sops.lastmodified was changed`,
      fix: 'restore the file from git history; edit encrypted files only with `sops edit`',
      field: 'sops.mac',
      offset,
    });
  }
  const expectedBytes = /^[0-9a-fA-F]{128}$/.test(expected) ? Buffer.from(expected, 'hex') : Buffer.alloc(0);
  if (expectedBytes.length !== computed.length || !timingSafeEqual(expectedBytes, computed))
    fail({
      code: 'SC7003',
      message:
        'the values do not match the MAC: a value was changed, added, removed or reordered after the file was encrypted (the MAC covers unencrypted values too, unless mac_only_encrypted is set)',
      fix: 'restore the file from git history; edit encrypted files only with `sops edit`, which writes a new MAC',
      field: 'sops.mac',
      offset,
    });
}

/** Offset of a field inside the sops block ("mac", "age[0].enc", "key_groups[0].age[1]"). */
function metadataOffset(sopsNode: Node | null, field: string): number | undefined {
  let node: unknown = sopsNode;
  let best: number | undefined = sopsNode?.range?.[0];
  for (const part of field.split(/\.|(?=\[)/).filter(Boolean)) {
    const index = /^\[(\d+)\]$/.exec(part);
    if (index) {
      const items = (node as { items?: unknown[] } | null)?.items;
      node = Array.isArray(items) ? items[Number(index[1])] : undefined;
      const at = (node as Node | undefined)?.range?.[0];
      if (at === undefined) return best;
      best = at;
    } else if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === part);
      if (!pair) return best;
      best = (pair.key as Node).range?.[0] ?? best;
      node = pair.value;
    } else return best;
  }
  return best;
}
