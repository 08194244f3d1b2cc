/**
 * The walk over a SOPS document, as SOPS's sops.go does it (Tree.Decrypt, walkBranch,
 * shouldBeEncrypted): every value in document order; those the file's rule says are encrypted
 * are decrypted with the value's key path as additional data (list indices are not part of
 * it); every value (or only the encrypted ones, with mac_only_encrypted) is hashed into the
 * SHA-512 MAC in SOPS's byte form; null values and comments are skipped. Works on the `yaml`
 * package's nodes, which keep the order of keys as written (JavaScript objects put keys that
 * look like integers first). Returns the decrypted value and the paths that were encrypted.
 */
import type { Hash } from 'node:crypto';
import { isAlias, isMap, isScalar, isSeq, type Document, type Scalar } from 'yaml';
import { decryptValue, ValueError } from './ciphertext.js';
import { formatFloat, formatGoBool, formatRfc3339Nano, parseYamlTimestamp } from './go-format.js';
import type { EncryptionRules } from './metadata.js';
import { fail } from './problem.js';

export type FieldPath = (string | number)[];

/** sha256("sops"): the MAC of a mac_only_encrypted file starts from these bytes (sops.go). */
export const macOnlyEncryptedInitialization = Buffer.from(
  '8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69',
  'hex',
);

/** Whether SOPS encrypts the value under these keys (every key of the path counts, not just the last). */
export function shouldBeEncrypted(keys: string[], rules: EncryptionRules): boolean {
  let encrypted = true;
  if (rules.unencryptedSuffix && keys.some((k) => k.endsWith(rules.unencryptedSuffix!))) encrypted = false;
  if (rules.encryptedSuffix) encrypted = keys.some((k) => k.endsWith(rules.encryptedSuffix!));
  if (rules.unencryptedRegex && keys.some((k) => rules.unencryptedRegex!.test(k))) encrypted = false;
  if (rules.encryptedRegex) encrypted = keys.some((k) => rules.encryptedRegex!.test(k));
  return encrypted;
}

export interface WalkState {
  dataKey: Buffer;
  rules: EncryptionRules;
  mac: Hash;
  doc: Document.Parsed;
  /** Alias expansions left; the loader already refused files with more than its limit. */
  aliases: number;
  encrypted: FieldPath[];
}

function pathText(path: FieldPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** The decrypted JavaScript value of a node (maps, lists, scalars); fails with a SopsProblem. */
export function walkNode(node: unknown, keys: string[], path: FieldPath, w: WalkState): unknown {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    if (--w.aliases < 0)
      fail({ code: 'SC7004', message: 'the file expands too many aliases', fix: 'write the values out' });
    return walkNode(node.resolve(w.doc), keys, path, w);
  }
  if (isMap(node)) {
    const entries: [string, unknown][] = [];
    for (const pair of node.items) {
      const key = keyText(pair.key, path);
      entries.push([key, walkNode(pair.value, [...keys, key], [...path, key], w)]);
    }
    return Object.fromEntries(entries);
  }
  if (isSeq(node)) return node.items.map((item, i) => walkNode(item, keys, [...path, i], w));
  if (isScalar(node)) return leaf(node, keys, path, w);
  return fail({
    code: 'SC7004',
    message: `${pathText(path) || 'the document'} holds a YAML node SOPS does not write`,
    fix: 'encrypt the file again with sops',
  });
}

export function keyText(key: unknown, path: FieldPath): string {
  if (isScalar(key) && typeof key.value === 'string') return key.value;
  return fail({
    code: 'SC7004',
    message: `${pathText(path) || 'the document'} has a key that is not a string; sops refuses those too`,
    fix: 'quote the key',
    offset: isScalar(key) ? key.range?.[0] : undefined,
  });
}

function leaf(node: Scalar, keys: string[], path: FieldPath, w: WalkState): unknown {
  const v = node.value;
  if (v === null || v === undefined) return null;
  const encrypted = shouldBeEncrypted(keys, w.rules);
  let out: unknown;
  let bytes: Buffer;
  if (encrypted) {
    w.encrypted.push(path);
    if (typeof v !== 'string')
      fail({
        code: 'SC7006',
        message: `${pathText(path)} is a plain ${typeof v === 'bigint' ? 'number' : typeof v} where sops writes an encrypted value: it was added or changed after the file was encrypted`,
        fix: 'edit encrypted files with `sops edit FILE`, which encrypts what you add',
        field: pathText(path),
        offset: node.range?.[0],
      });
    if (v === '') {
      out = ''; // sops leaves empty strings as they are
      bytes = Buffer.alloc(0);
    } else {
      try {
        const d = decryptValue(v, w.dataKey, keys.join(':') + ':');
        if (d.type === 'comment') throw new ValueError('it is a comment, not a value', 'type');
        out = d.value;
        bytes = d.macBytes;
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        fail({
          code: 'SC7006',
          message: `${pathText(path)} cannot be decrypted: ${err.message}`,
          fix:
            err.kind === 'authentication'
              ? 'restore the value from git history, or edit the file with `sops edit`; never copy encrypted values between keys or files'
              : 'restore the value from git history, or encrypt the file again with sops',
          field: pathText(path),
          offset: node.range?.[0],
        });
      }
    }
  } else if (typeof v === 'string') {
    const time = node.type === 'PLAIN' ? parseYamlTimestamp(v) : undefined; // yaml.v3 reads these as time.Time
    out = v;
    bytes = Buffer.from(time ? formatRfc3339Nano(time) : v, 'utf8');
  } else if (typeof v === 'bigint') {
    out = Number(v);
    bytes = Buffer.from(v.toString());
  } else if (typeof v === 'number') {
    out = v;
    bytes = Buffer.from(formatFloat(v));
  } else if (typeof v === 'boolean') {
    out = v;
    bytes = Buffer.from(formatGoBool(v));
  } else {
    return fail({
      code: 'SC7004',
      message: `${pathText(path)} has a value of a type SOPS does not hash`,
      fix: 'write it as a string',
      offset: node.range?.[0],
    });
  }
  if (!w.rules.macOnlyEncrypted || encrypted) w.mac.update(bytes);
  return out;
}

export { pathText };
